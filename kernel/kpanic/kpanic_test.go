package kpanic

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/mm"
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
