package kernel

import (
	"testing"

	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// TestLockClasses: the lock-class table agrees with what it dispatches
// to. tools/trapcheck's TestGometalFileLockDomain reads syscallLocks out
// of the image by value, so the classes' numbers are pinned here; every
// call with a class has a handler; the calls served under the files lock
// alone are exactly those fdcalls.FileCall, fdcalls.StreamCall or fileCalls serves, none of
// them also marked kernel-only; an unlisted or out-of-range number takes
// both locks.
func TestLockClasses(t *testing.T) {
	assert.Equal(t, lockClass(0), lockBoth)
	assert.Equal(t, lockClass(1), lockKernelOnly)
	assert.Equal(t, lockClass(2), lockFilesFirst)
	for nr, class := range syscallLocks {
		if class == lockBoth {
			continue
		}
		assert.Less(t, nr, len(syscallTable), "call %d", nr)
		if nr < len(syscallTable) {
			assert.NotNil(t, syscallTable[nr], "call %d has a lock class but no handler", nr)
		}
	}
	for nr := range uint64(len(syscallTable) + 10) {
		desc, path := fdcalls.FileCallNr(nr) || fdcalls.StreamCallNr(nr), fileCallOf(nr) != nil
		assert.False(t, desc && path, "call %d is in both", nr)
		assert.Equal(t, desc || path, callLocks(nr) == lockFilesFirst, "call %d", nr)
		if (desc || path) && nr < uint64(len(syscallLocks)) {
			assert.NotEqual(t, lockKernelOnly, syscallLocks[nr], "call %d is served under the files lock and marked kernel-only", nr)
		}
	}
	assert.Equal(t, lockBoth, callLocks(1<<40))
	assert.Equal(t, lockBoth, callLocks(unix.SYS_MMAP), "the mmap family unmaps memory the files lock's path may use")
	assert.Equal(t, lockBoth, callLocks(unix.SYS_MUNMAP))
	assert.Equal(t, lockBoth, callLocks(unix.SYS_MADVISE))
	assert.Equal(t, lockBoth, callLocks(unix.SYS_MPROTECT))
	assert.Equal(t, lockKernelOnly, callLocks(unix.SYS_FUTEX))
}
