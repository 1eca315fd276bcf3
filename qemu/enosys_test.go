package qemu_test

import (
	"regexp"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
)

// examples/badcalls makes unknown system calls (340 twice, 1000 twice,
// 2000 once): besides answering ENOSYS as the host does, the kernel must
// log each number below 512 once, and of the larger ones only the first.

// This init runs after abi_test.go's, which registers the badcalls case
// (a package's files are initialised in file-name order);
// TestBadcallsChecksENOSYSLog catches a case registered without the check.
func init() {
	c := bootCases["badcalls"]
	c.check = enosysLoggedOnce
	bootCases["badcalls"] = c
}

var unimplementedLine = regexp.MustCompile(`unimplemented system call (\d+): returning ENOSYS`)

// enosysLoggedOnce checks the kernel's log lines for unknown calls.
func enosysLoggedOnce(t *testing.T, res *qemu.Result) {
	count := map[string]int{}
	for _, m := range unimplementedLine.FindAllStringSubmatch(string(res.KernelLog), -1) {
		count[m[1]]++
	}
	for nr, n := range count {
		assert.Equal(t, 1, n, "system call %s logged %d times", nr, n)
	}
	assert.Equal(t, 1, count["340"], "unknown call 340 (below 512)")
	assert.Equal(t, 1, count["1000"], "unknown call 1000, the first above 511")
	assert.Zero(t, count["2000"], "unknown call 2000 came after 1000: not logged")
}

func TestBadcallsChecksENOSYSLog(t *testing.T) {
	assert.NotNil(t, bootCases["badcalls"].check, "the badcalls boot case lost enosysLoggedOnce")
}
