package qemu_test

import (
	"regexp"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
)

// Boot cases for the trap path's FPU handling and its cost. fpstate
// checks, against the same program on the host, that every thread's XMM
// registers, MXCSR, x87 control word and x87 stack survive system calls
// (lock-free, locked, and sched_yield switching threads), timer
// interrupts and thread switches: the trap entry saves only MXCSR and the
// XMM registers while a thread's x87 state stays live
// (docs/architecture.md, "FPU state"). syscost is the measuring tool of
// docs/performance.md; its timings differ from run to run, so the case
// checks only that every row ran and that the kernel's LAPIC timer
// writes (timer_arm in /proc/gometal/sched) were read.
func init() {
	bootCases["fpstate"] = bootCase{}
	bootCases["syscost"] = bootCase{guestOnly: true, progArgs: []string{"-n", "2000"}, check: checkSyscost}
}

// syscostRow is one line of examples/syscost's table: row, n, ns/op,
// LAPIC timer writes and timer interrupts per call.
var syscostRow = regexp.MustCompile(`(?m)^(\S+) +\d+ +\d+\.\d +(\d+\.\d+|-) +(\d+\.\d+|-)$`)

// checkSyscost checks examples/syscost's table: every row, with counts.
func checkSyscost(t *testing.T, res *qemu.Result) {
	assert.Equal(t, 0, res.ExitCode)
	var rows []string
	for _, m := range syscostRow.FindAllStringSubmatch(string(res.Output), -1) {
		rows = append(rows, m[1])
		assert.NotEqual(t, "-", m[2], "row %s: no timer_arm count from /proc/gometal/sched", m[1])
	}
	assert.Equal(t, []string{"getpid", "getppid", "sched_yield", "futex_wake_nowaiter", "futex_wait_eagain",
		"pipe_read_eagain", "pipe_write_read_64", "pipe_pingpong_2threads", "page_fault_first_touch"}, rows, "output:\n%s", res.Output)
}
