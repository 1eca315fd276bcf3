package thread

import (
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/x86"
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

	SendSignal(&percpu.CPUs[0], a, int(unix.SIGUSR1), abi.SIUser, 1, 0)
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

	SendSignal(&percpu.CPUs[0], a, int(unix.SIGUSR1), abi.SIUser, 1, 0)
	assert.Equal(t, a, slots[0])
	assert.Equal(t, sched.Blocked, State(a))
}

// TestRestartable: the calls SA_RESTART restarts on Linux (signal(7)),
// and those it never does, whatever the handler's flags.
func TestRestartable(t *testing.T) {
	var r x86.TrapFrame
	for _, nr := range []uint64{unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_ACCEPT4,
		unix.SYS_RECVFROM, unix.SYS_SENDMSG, unix.SYS_WAIT4, unix.SYS_FLOCK, unix.SYS_FCNTL} {
		assert.True(t, restartable(nr, &r), "nr %d", nr)
	}
	for _, nr := range []uint64{unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_WAIT, unix.SYS_PPOLL,
		unix.SYS_NANOSLEEP, unix.SYS_CLOCK_NANOSLEEP, unix.SYS_CONNECT, unix.SYS_RT_SIGTIMEDWAIT} {
		assert.False(t, restartable(nr, &r), "nr %d", nr)
	}
	const private = 128
	for _, tt := range []struct {
		op, timeout uint64
		want        bool
	}{
		{FutexOpWait, 0, true},
		{FutexOpWait | private, 0, true},
		{FutexOpWaitBitset | private, 0, true},
		{FutexOpWait | private, 0x7000, false}, // a timeout: EINTR
		{FutexOpWake | private, 0, false},
	} {
		r.SI, r.R10 = tt.op, tt.timeout
		assert.Equal(t, tt.want, restartable(unix.SYS_FUTEX, &r), "futex op %#x timeout %#x", tt.op, tt.timeout)
	}
}

// TestSignalMarksRestart: a signal that ends a restartable wait marks it
// for a restart (DeliverSignal then executes the call again for an
// SA_RESTART handler); a sleep, or a read with a deadline, only gets
// EINTR. Either way the call's result is EINTR until then.
func TestSignalMarksRestart(t *testing.T) {
	freshThreads(t)
	sigactions[unix.SIGUSR1] = sigaction{handler: 0x1000, flags: saRestorer | saRestart, restorer: 0x2000}
	read, sleep, timed := New(), New(), New()
	threadtab.Threads[read].RestartNr = unix.SYS_READ
	threadtab.Threads[sleep].RestartNr = unix.SYS_NANOSLEEP
	threadtab.Threads[timed].RestartNr = unix.SYS_READ
	BlockIn(read, threadtab.WaitRead, &slots[0])
	Block(sleep, threadtab.WaitSleep)
	BlockIn(timed, threadtab.WaitRead, &slots[1])
	threadtab.Sched.SetTimer(timed, 1e12, 0) // SetTimer itself asks percpu.This(), which needs the kernel

	for _, th := range []sched.TID{read, sleep, timed} {
		SendSignal(&percpu.CPUs[0], th, int(unix.SIGUSR1), abi.SIUser, 1, 0)
		assert.Equal(t, -abi.EINTR, int64(threadtab.Threads[th].Regs.AX))
	}
	assert.True(t, threadtab.Threads[read].SignalRestart, "a blocking read is restarted")
	assert.False(t, threadtab.Threads[sleep].SignalRestart, "nanosleep is not")
	assert.False(t, threadtab.Threads[timed].SignalRestart, "a wait with a deadline is not")

	th := &threadtab.Threads[read]
	th.Regs.RIP = 0x4002
	CallAgain(th)
	assert.Equal(t, uint64(unix.SYS_READ), th.Regs.AX)
	assert.Equal(t, uint64(0x4000), th.Regs.RIP, "back at the SYSCALL instruction")
}
