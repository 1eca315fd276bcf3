package kernel

import (
	"testing"

	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// TestLockClasses: the lock classes agree with what they dispatch to.
// tools/trapcheck's TestGometalFileLockDomain reads kernelOnlyCalls out
// of the image by value (two bytes a call); every kernel-only call has a
// handler, once; the calls served under the files lock
// alone are exactly those fdcalls.FileCall, fdcalls.StreamCall or fileCalls serves, none of
// them also marked kernel-only; an unlisted or out-of-range number takes
// both locks.
func TestLockClasses(t *testing.T) {
	assert.Equal(t, lockClass(0), lockBoth)
	assert.Equal(t, lockClass(1), lockKernelOnly)
	assert.Equal(t, lockClass(2), lockFilesFirst)
	seen := map[uint16]bool{}
	for _, nr := range kernelOnlyCalls {
		assert.False(t, seen[nr], "call %d listed twice", nr)
		seen[nr] = true
		assert.Less(t, int(nr), len(syscallTable), "call %d", nr)
		if int(nr) < len(syscallTable) {
			assert.NotNil(t, syscallTable[nr], "call %d is kernel-only but has no handler", nr)
		}
		assert.Equal(t, lockKernelOnly, callLocks(uint64(nr)), "call %d", nr)
	}
	for nr := range uint64(len(syscallTable) + 10) {
		desc, path := fdcalls.FileCallNr(nr) || fdcalls.StreamCallNr(nr), fileCallOf(nr) != nil
		assert.False(t, desc && path, "call %d is in both", nr)
		assert.Equal(t, desc || path, callLocks(nr) == lockFilesFirst, "call %d", nr)
		if desc || path {
			assert.False(t, kernelOnly(nr), "call %d is served under the files lock and marked kernel-only", nr)
		}
	}
	assert.Equal(t, lockBoth, callLocks(1<<40))
	assert.Equal(t, lockBoth, callLocks(unix.SYS_MMAP), "the mmap family unmaps memory the files lock's path may use (kernel.memCall serves the calls that unmap no page first)")
	assert.Equal(t, lockBoth, callLocks(unix.SYS_MUNMAP))
	assert.Equal(t, lockBoth, callLocks(unix.SYS_MADVISE))
	assert.Equal(t, lockBoth, callLocks(unix.SYS_MPROTECT))
	assert.Equal(t, lockKernelOnly, callLocks(unix.SYS_FUTEX))
}
