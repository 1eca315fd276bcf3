package kpanic

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/x86"
)

func TestRelTime(t *testing.T) {
	for _, c := range []struct {
		at, now int64
		want    string
	}{
		{0, 5e6, "off"},
		{6_500_000, 5e6, "+1.500 ms"},
		{4_750_000, 5e6, "-0.250 ms"},
	} {
		var l klog.Line
		relTime(&l, c.at, c.now)
		assert.Equal(t, c.want, string(l.Bytes()), "at %d now %d", c.at, c.now)
	}
}

// TestMappedEarly checks the report's check before the kernel's page
// table exists: only the boot stub's identity map of the first 1 GiB
// (page 0 excluded) counts as mapped.
func TestMappedEarly(t *testing.T) {
	saved := mm.KPT
	t.Cleanup(func() { mm.KPT = saved })
	mm.KPT = mm.PageTable{}
	assert.False(t, Mapped(0), "page 0 is never mapped")
	assert.False(t, Mapped(0xfff))
	assert.True(t, Mapped(0x1000))
	assert.True(t, Mapped(1<<30-1))
	assert.False(t, Mapped(1<<30))
}

func TestReg(t *testing.T) {
	var l klog.Line
	reg(&l, "rip", 0x401000)
	assert.Equal(t, "rip: 0x0000000000401000 ", string(l.Bytes()), "the report's register format (qemu.ParsePanic reads it)")
}

// TestFrameWords checks the layout PrintFrame reads through frameWords:
// every one of the frame's 22 words, AX first, RIP at word 17 and SS at
// word 21, the frame's last (a swap of two fields in x86.TrapFrame would
// mislabel the report's registers).
func TestFrameWords(t *testing.T) {
	f := x86.TrapFrame{AX: 1, BX: 2, CX: 3, DX: 4, SI: 5, DI: 6, BP: 7,
		R8: 8, R9: 9, R10: 10, R11: 11, R12: 12, R13: 13, R14: 14, R15: 15,
		Vector: 16, Err: 17, RIP: 18, CS: 19, RFLAGS: 20, RSP: 21, SS: 22}
	want := [22]uint64{}
	for i := range want {
		want[i] = uint64(i + 1)
	}
	assert.Equal(t, want, *frameWords(&f))
}
