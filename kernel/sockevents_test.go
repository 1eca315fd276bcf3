package kernel

import (
	"testing"

	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/stretchr/testify/assert"
)

// TestSocketEventsDrains: socketEvents' work (actOnSocketRecords) acts on every recorded descriptor
// once and clears the records, so the next system call starts with none
// (a record left behind would wake epoll waiters for nothing at every
// later call, and a lost one would leave a waiter asleep).
func TestSocketEventsDrains(t *testing.T) {
	t.Cleanup(func() {
		fdtab.NotifyFDs.Clear()
		fdtab.NotifyPending.Store(false)
		socket.StackProgress.Store(false)
	})
	for _, fd := range []int{3, 64, 130, fdtab.MaxFDs - 1} {
		fdtab.Notify(fd)
	}
	socket.StackProgress.Store(true)
	actOnSocketRecords(true) // no epoll instance and no exit waits: nothing to wake
	assert.False(t, fdtab.NotifyPending.Load())
	assert.True(t, fdtab.NotifyFDs.Empty())
	assert.False(t, socket.StackProgress.Load())
}
