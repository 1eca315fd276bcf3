package qemu_test

import (
	"regexp"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
)

// examples/badcalls makes unknown system calls (340 twice, tuxcall (184)
// twice, 1000 twice, 2000 once): besides answering ENOSYS as the host
// does, the kernel must log each number below 512 once, by its Linux name
// where it has one, and of the larger ones only the first.

// This init runs after abi_test.go's, which registers the badcalls case
// (a package's files are initialised in file-name order);
// TestBadcallsChecksENOSYSLog catches a case registered without the check.
func init() {
	c := bootCases["badcalls"]
	c.check = enosysLoggedOnce
	bootCases["badcalls"] = c
}

// unimplementedLine matches "unimplemented system call statx (332):
// returning ENOSYS" (a named call) and "... call 340: ..." (a number
// Linux has no call for); the submatches are the name and the number.
var unimplementedLine = regexp.MustCompile(`unimplemented system call (?:([a-z0-9_]+) \((\d+)\)|(\d+)): returning ENOSYS`)

// enosysLoggedOnce checks the kernel's log lines for unknown calls.
func enosysLoggedOnce(t *testing.T, res *qemu.Result) {
	count := map[string]int{}
	names := map[string]string{}
	for _, m := range unimplementedLine.FindAllStringSubmatch(string(res.KernelLog), -1) {
		nr := m[2] + m[3]
		count[nr]++
		names[nr] = m[1]
	}
	for nr, n := range count {
		assert.Equal(t, 1, n, "system call %s logged %d times", nr, n)
	}
	assert.Equal(t, 1, count["340"], "unknown call 340 (below 512)")
	assert.Empty(t, names["340"], "340 has no Linux name")
	assert.Equal(t, 1, count["184"], "tuxcall (184), named but not implemented")
	assert.Equal(t, "tuxcall", names["184"], "the log line names call 184")
	assert.Equal(t, 1, count["1000"], "unknown call 1000, the first above 511")
	assert.Zero(t, count["2000"], "unknown call 2000 came after 1000: not logged")
}

func TestBadcallsChecksENOSYSLog(t *testing.T) {
	assert.NotNil(t, bootCases["badcalls"].check, "the badcalls boot case lost enosysLoggedOnce")
}
