package symbolize

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const sampleLog = "booting\r\n" +
	"partial line\r\n" +
	"[gometal] === KERNEL PANIC ===\r\n" +
	"[gometal] reason: page fault in kernel\r\n" +
	"[gometal] cpu: 3 vector: 14 (#PF) error: 0x0000000000000002\r\n" +
	"[gometal] rip: 0x0000000000212345 cs: 0x0008 rflags: 0x0000000000010046\r\n" +
	"[gometal] rsp: 0x0000000000c000f000 ss: 0x0010\r\n" +
	"[gometal] rax: 0x1 rbx: 0x2 rcx: 0x3 rdx: 0x4\r\n" +
	"[gometal] rsi: 0x5 rdi: 0x6 rbp: 0x7 r8: 0x8\r\n" +
	"[gometal] r9: 0x9 r10: 0xa r11: 0xb r12: 0xc\r\n" +
	"[gometal] r13: 0xd r14: 0xe r15: 0xf\r\n" +
	"[gometal] cr2: 0x0000000000000010 cr3: 0x0000000000100000\r\n" +
	"[gometal] code: 0f 0b 48 8b ?? ??    (16 bytes at rip)\r\n" +
	"[gometal] stack: 0x0000000000212000 0x0000000000000042\r\n" +
	"[gometal] === END KERNEL PANIC ===\r\n" +
	"after\r\n"

func TestParseReports(t *testing.T) {
	rs, err := ParseReports(strings.NewReader(sampleLog))
	require.NoError(t, err)
	require.Len(t, rs, 1)
	r := rs[0]
	assert.True(t, r.Complete)
	assert.Equal(t, "page fault in kernel", r.Reason)
	rip, ok := r.RIP()
	assert.True(t, ok)
	assert.EqualValues(t, 0x212345, rip)
	assert.EqualValues(t, 3, r.Regs["cpu"])
	assert.EqualValues(t, 14, r.Regs["vector"])
	assert.Equal(t, "#PF", r.Notes["vector"])
	assert.EqualValues(t, 2, r.Regs["error"])
	assert.EqualValues(t, 0x10, r.Regs["cr2"])
	assert.EqualValues(t, 0xf, r.Regs["r15"])
	assert.EqualValues(t, 0x8, r.Regs["cs"])
	assert.Equal(t, []byte{0x0f, 0x0b, 0x48, 0x8b, 0, 0}, r.Code)
	assert.Equal(t, []bool{true, true, true, true, false, false}, r.Known)
	assert.Equal(t, []uint64{0x212000, 0x42}, r.Stack)
}

func TestParseReportsVariants(t *testing.T) {
	noPrefix := strings.ReplaceAll(sampleLog, "[gometal] ", "")
	rs, err := ParseReports(strings.NewReader(noPrefix))
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.EqualValues(t, 0x212345, rs[0].Regs["rip"])

	// Two reports, the second cut off, with timestamps before the prefix.
	stamped := strings.ReplaceAll(sampleLog, "[gometal]", "12:00:01 [gometal]")
	rs, err = ParseReports(strings.NewReader(stamped + "[gometal] === KERNEL PANIC ===\nrip: 0x5\n"))
	require.NoError(t, err)
	require.Len(t, rs, 2)
	assert.True(t, rs[0].Complete)
	assert.Equal(t, "page fault in kernel", rs[0].Reason)
	assert.False(t, rs[1].Complete)
	assert.EqualValues(t, 5, rs[1].Regs["rip"])

	// A bare body, as qemu.Result.PanicReport holds it.
	body := "reason: bad trap\nrip: 0x0000000000212345 cs: 0x0008\n"
	rs, err = ParseReports(strings.NewReader(body))
	require.NoError(t, err)
	require.Len(t, rs, 1)
	assert.True(t, rs[0].Bare)
	assert.Equal(t, "bad trap", rs[0].Reason)

	rs, err = ParseReports(strings.NewReader("nothing here\nfoo: 0x1\n"))
	require.NoError(t, err)
	assert.Empty(t, rs)

	// Garbage values are skipped, not fatal.
	rs, err = ParseReports(strings.NewReader("=== KERNEL PANIC ===\nrip: 0x... cs: zz\nstack: 0x... 0x10\ncode: 0f zz\n"))
	require.NoError(t, err)
	require.Len(t, rs, 1)
	_, ok := rs[0].RIP()
	assert.False(t, ok)
	assert.Equal(t, []uint64{0x10}, rs[0].Stack)
	assert.Equal(t, []byte{0x0f}, rs[0].Code)
}

func FuzzParseReports(f *testing.F) {
	f.Add(sampleLog)
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = ParseReports(strings.NewReader(s))
	})
}

// TestParseReportState: the machine-state lines of a report (other CPUs,
// the lock holder, threads) are kept in order with their rips, and their
// numbers do not leak into the trap's registers (a thread's rip is not
// the report's rip).
func TestParseReportState(t *testing.T) {
	log := strings.Replace(sampleLog, "[gometal] === END KERNEL PANIC ===\r\n",
		"[gometal] stopped: cpu 1 rip 0x00000000002d2302 ring 0 stack 0x10 0x0000000000212000\r\n"+
			"[gometal] sched: cpu 0 cur 1 idle 0 queued 0 timer off\r\n"+
			"[gometal] lock: held by cpu 1\r\n"+
			"[gometal] thread: tid 1 running - cpu 0 rip 0x0000000000335315 signals pending 0x0 blocked 0x0\r\n"+
			"[gometal] === END KERNEL PANIC ===\r\n", 1)
	rs, err := ParseReports(strings.NewReader(log))
	require.NoError(t, err)
	require.Len(t, rs, 1)
	r := rs[0]
	rip, _ := r.RIP()
	assert.EqualValues(t, 0x212345, rip, "the trap's rip")
	assert.EqualValues(t, 3, r.Regs["cpu"])
	assert.Equal(t, []StateLine{
		{Key: "stopped", Text: "cpu 1 rip 0x00000000002d2302 ring 0", RIP: 0x2d2302, Stack: []uint64{0x10, 0x212000}},
		{Key: "sched", Text: "cpu 0 cur 1 idle 0 queued 0 timer off"},
		{Key: "lock", Text: "held by cpu 1"},
		{Key: "thread", Text: "tid 1 running - cpu 0 rip 0x0000000000335315 signals pending 0x0 blocked 0x0", RIP: 0x335315},
	}, r.State)
}
