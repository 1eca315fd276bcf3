package thread

import (
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// slots stand in for the waiter fields of files and sockets (static, as
// BlockIn requires).
var slots [2]sched.TID

// freshThreads gives the test an empty thread table and scheduler on one
// CPU (which is not idle and runs nothing, so a wake sends no IPI), and
// restores the real ones after it.
func freshThreads(t *testing.T) {
	savedThreads, savedSch, savedActs := threadtab.Threads, threadtab.Sched, sigactions
	t.Cleanup(func() { threadtab.Threads, threadtab.Sched, sigactions = savedThreads, savedSch, savedActs })
	threadtab.Threads = [sched.MaxThreads]threadtab.Thread{}
	threadtab.Sched.Init(1)
	slots = [2]sched.TID{sched.None, sched.None}
}

// TestWakeLeavesWaitSlot: a wake clears the waiter field its thread
// blocked in, and only that one, and only while it still names the
// thread (a file that took its waiter out and let another thread in
// keeps that one). Before package thread, wake swept the file, socket
// and epoll tables for the thread instead.
func TestWakeLeavesWaitSlot(t *testing.T) {
	freshThreads(t)
	a, b := New(), New()
	BlockIn(a, threadtab.WaitRead, &slots[0])
	BlockIn(b, threadtab.WaitEpoll, &slots[1])
	require.Equal(t, [2]sched.TID{a, b}, slots)

	Wake(a, 5)
	assert.Equal(t, [2]sched.TID{sched.None, b}, slots, "a's slot is cleared, b's kept")
	assert.Zero(t, threadtab.Threads[a].WaitSlot)
	assert.Equal(t, uint64(5), threadtab.Threads[a].Regs.AX)
	assert.Equal(t, sched.Runnable, State(a))

	slots[1] = a // the epoll instance's waiter is another thread now
	Wake(b, 0)
	assert.Equal(t, a, slots[1], "a slot that no longer names the thread is left alone")
}

// TestSignalLeavesWaitSlot: a signal that interrupts a wait (EINTR)
// takes the thread out of the file's waiter field too; otherwise the
// file's next wake-up would wake a thread that no longer waits (a kernel
// panic) or one that waits on something else.
func TestSignalLeavesWaitSlot(t *testing.T) {
	freshThreads(t)
	a := New()
	sigactions[unix.SIGUSR1] = sigaction{handler: 0x1000, flags: saRestorer | saSiginfo, restorer: 0x2000}
	threadtab.Threads[a].ConnectWait = true
	BlockIn(a, threadtab.WaitRead, &slots[0])

	SendSignal(a, int(unix.SIGUSR1), abi.SIUser, 1, 0)
	assert.Equal(t, sched.None, slots[0])
	assert.False(t, threadtab.Threads[a].ConnectWait)
	assert.Equal(t, -abi.EINTR, int64(threadtab.Threads[a].Regs.AX))
	assert.NotZero(t, threadtab.Threads[a].Pending&sigbit(int(unix.SIGUSR1)))
}

// TestSignalKeepsStackWait: a bind or listen waiting for the network
// stack is not interrupted, so its socket keeps it as the waiter.
func TestSignalKeepsStackWait(t *testing.T) {
	freshThreads(t)
	a := New()
	sigactions[unix.SIGUSR1] = sigaction{handler: 0x1000, flags: saRestorer, restorer: 0x2000}
	BlockIn(a, threadtab.WaitStack, &slots[0])

	SendSignal(a, int(unix.SIGUSR1), abi.SIUser, 1, 0)
	assert.Equal(t, a, slots[0])
	assert.Equal(t, sched.Blocked, State(a))
}
