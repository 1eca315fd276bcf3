package thread

import (
	"encoding/binary"
	"sync/atomic"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// TestTrySendSignal: the lock-free tgkill's sender (TrySendSignal) marks
// a signal only for a thread that is running or runnable, leaving a free
// slot and a blocked thread to the locked path unmarked; an ignored
// signal is dropped; a blocked signal is marked and left for the
// thread's own unblocking call. (A running thread's kick needs a local
// APIC: the boot test TestLockFreeSignalsBoot covers it.)
func TestTrySendSignal(t *testing.T) {
	freshThreads(t)
	c := &percpu.CPUs[0]
	sigactions[unix.SIGUSR1] = sigaction{handler: 0x1000, flags: saRestorer, restorer: 0x2000}
	usr1 := sigbit(int(unix.SIGUSR1))

	assert.Equal(t, SentNot, TrySendSignal(c, 5, int(unix.SIGUSR1), abi.SITkill, 1, 0), "a free slot: ESRCH is the locked path's")
	assert.Zero(t, threadtab.Threads[5].Pending)

	blocked := New()
	BlockIn(blocked, threadtab.WaitRead, &slots[0])
	assert.Equal(t, SentNot, TrySendSignal(c, blocked, int(unix.SIGUSR1), abi.SITkill, 1, 0), "a blocked thread: the locked path ends its wait")
	assert.Zero(t, threadtab.Threads[blocked].Pending, "and marks the signal itself")

	runnable := New()
	MakeRunnable(runnable)
	assert.Equal(t, Sent, TrySendSignal(c, runnable, int(unix.SIGUSR1), abi.SITkill, 1, 0))
	assert.Equal(t, usr1, threadtab.Threads[runnable].Pending, "a runnable thread takes it when it runs")
	assert.Equal(t, int32(abi.SITkill), threadtab.Threads[runnable].SigCode[unix.SIGUSR1-1])
	assert.True(t, SignalPendingFenced(runnable))

	assert.Equal(t, Sent, TrySendSignal(c, runnable, int(unix.SIGCHLD), abi.SITkill, 1, 0), "SIGCHLD's default is to ignore it")
	assert.Equal(t, usr1, threadtab.Threads[runnable].Pending, "an ignored signal is not marked")

	masked := New()
	MakeRunnable(masked)
	threadtab.Threads[masked].Sigmask = usr1
	assert.Equal(t, Sent, TrySendSignal(c, masked, int(unix.SIGUSR1), abi.SITkill, 1, 0))
	assert.Equal(t, usr1, threadtab.Threads[masked].Pending, "a blocked signal waits, marked")
	assert.False(t, SignalPending(masked))
}

// TestNoticeSignal: the locked path's half of a lock-free tgkill whose
// target blocked after the signal was marked ends the wait only while
// the signal is still pending: a target that took it meanwhile (it was
// woken, ran and delivered it) is not interrupted again, which marking
// the signal again would have done.
func TestNoticeSignal(t *testing.T) {
	freshThreads(t)
	sigactions[unix.SIGUSR1] = sigaction{handler: 0x1000, flags: saRestorer, restorer: 0x2000}
	a := New()
	BlockIn(a, threadtab.WaitRead, &slots[0])
	NoticeSignal(a, int(unix.SIGUSR1))
	assert.Equal(t, sched.Blocked, State(a), "nothing pending: the wait goes on")
	assert.Equal(t, a, slots[0])

	markPending(&percpu.CPUs[0], a, int(unix.SIGUSR1), abi.SITkill, 1, 0, false)
	NoticeSignal(a, int(unix.SIGUSR1))
	assert.Equal(t, sched.Runnable, State(a), "pending: the wait ends")
	assert.Equal(t, -abi.EINTR, int64(threadtab.Threads[a].Regs.AX))
}

// TestSignalMaskAndStackCalls: the parts rt_sigprocmask and sigaltstack
// share between their locked and lock-free paths: the new mask for each
// how, the alternate stack a stack_t asks for (and the errnos Linux
// gives a bad one), the stack_t reported back, and the one-page rule for
// the lock-free writes.
func TestSignalMaskAndStackCalls(t *testing.T) {
	for _, tt := range []struct {
		how       int
		old, set  uint64
		want      uint64
		wantValid bool
	}{
		{unix.SIG_BLOCK, 0b0101, 0b0011, 0b0111, true},
		{unix.SIG_UNBLOCK, 0b0101, 0b0011, 0b0100, true},
		{unix.SIG_SETMASK, 0b0101, 0b0011, 0b0011, true},
		{7, 0b0101, 0b0011, 0b0101, false},
	} {
		got, ok := maskAfter(tt.old, tt.how, tt.set)
		assert.Equal(t, tt.wantValid, ok, "how %d", tt.how)
		assert.Equal(t, tt.want, got, "how %d", tt.how)
	}

	var b [24]byte
	put64 := binary.LittleEndian.PutUint64
	put64(b[0:], 0x7000)
	put64(b[16:], minSigStackSize)
	alt, errno := altStackAfter(b[:])
	assert.Equal(t, [3]uint64{0x7000, 0, minSigStackSize}, alt)
	assert.Zero(t, errno)
	put64(b[16:], minSigStackSize-1)
	_, errno = altStackAfter(b[:])
	assert.Equal(t, int64(abi.ENOMEM), errno, "a stack below MINSIGSTKSZ")
	put64(b[16:], minSigStackSize)
	put64(b[8:], ssOnstack)
	alt, errno = altStackAfter(b[:])
	assert.Equal(t, [3]uint64{0x7000, 0, minSigStackSize}, alt, "SS_ONSTACK means 0, as on Linux")
	assert.Zero(t, errno)
	put64(b[8:], 4)
	_, errno = altStackAfter(b[:])
	assert.Equal(t, int64(abi.EINVAL), errno, "unknown flags")
	put64(b[8:], ssDisable)
	alt, errno = altStackAfter(b[:])
	assert.Equal(t, [3]uint64{}, alt, "SS_DISABLE")
	assert.Zero(t, errno)

	putAltStack(&b, [3]uint64{})
	assert.Equal(t, uint64(ssDisable), le64(b[8:]), "no stack reads back as SS_DISABLE")
	putAltStack(&b, [3]uint64{0x7000, 0, 8192})
	assert.Equal(t, []uint64{0x7000, 0, 8192}, []uint64{le64(b[0:]), le64(b[8:]), le64(b[16:])})

	assert.True(t, onePage(0x7ff8, 8))
	assert.False(t, onePage(0x7ffc, 8), "an 8-byte mask across a page boundary")
	assert.False(t, onePage(0x7ff0, 24))
}

// TestTgkillErrnos: tgkill and tkill check their arguments in Linux's
// order (kernel/signal.c): a TID or thread-group ID that is not positive
// is EINVAL before anything else, a thread that is not the process's
// ESRCH, and only then a bad signal number EINVAL; the null signal
// checks that the thread exists.
func TestTgkillErrnos(t *testing.T) {
	freshThreads(t)
	c := &percpu.CPUs[0]
	a := New()
	MakeRunnable(a)
	tid := int(threadtab.LinuxTID(a))
	for _, tt := range []struct {
		group          bool
		tgid, tid, sig int
		want           int64
	}{
		{true, 0, tid, 0, -abi.EINVAL},
		{true, -1, tid, 0, -abi.EINVAL},
		{true, 1, 0, 0, -abi.EINVAL},
		{false, 0, -5, 0, -abi.EINVAL},
		{true, 2, tid, 0, -abi.ESRCH},
		{true, 1, tid + 1, 99, -abi.ESRCH},
		{false, 0, sched.MaxThreads + 1, 99, -abi.ESRCH},
		{true, 1, tid, 99, -abi.EINVAL},
		{false, 0, tid, -1, -abi.EINVAL},
		{true, 1, tid, 0, 0},
		{false, 0, tid, 0, 0},
	} {
		assert.Equal(t, tt.want, SysTgkill(c, tt.group, tt.tgid, tt.tid, tt.sig), "%+v", tt)
	}
	assert.Zero(t, threadtab.Threads[a].Pending, "the null signal sends nothing")
}

// TestInterruptedSleep: a signal ends a sleep with EINTR while it has
// time left, and with 0 once its deadline has passed (its timer not yet
// served), as Linux's do_nanosleep answers; a sleep without a rem
// address writes nothing.
func TestInterruptedSleep(t *testing.T) {
	freshThreads(t)
	for _, tt := range []struct {
		deadline int64
		want     int64
	}{
		{-1 << 62, 0},         // long past
		{1 << 62, -abi.EINTR}, // far ahead
	} {
		a := New()
		Block(a, threadtab.WaitSleep)
		threadtab.Sched.SetTimer(a, tt.deadline, 0)
		InterruptWait(a)
		assert.Equal(t, tt.want, int64(threadtab.Threads[a].Regs.AX), "deadline %d", tt.deadline)
		assert.Equal(t, sched.Runnable, State(a))
		assert.False(t, threadtab.Sched.Timers.Pending(a), "the wake drops the deadline")
	}
}

// TestSigactionCalls: the parts rt_sigaction shares between its locked
// and lock-free paths, as Linux's do_sigaction behaves: the errnos of bad
// signal numbers, and whether the old and new structs overlap (the
// lock-free path leaves such a call to the locked path); a new action's mask loses SIGKILL and
// SIGSTOP, so the old action reported later lacks them; an action that
// ignores a signal discards it from every thread's pending set, blocked
// or not, and a signal sent while it is ignored is not marked unless the
// thread blocks it; a fault signal without a handler is not marked (the
// program dies with a report); a handler installed with SA_RESETHAND is
// reset to SIG_DFL as its signal is taken for delivery, so that a second
// one gets the default action. (The calls' user-memory copies need the
// kernel's page tables: examples/sigrestart covers them, against Linux.)
func TestSigactionCalls(t *testing.T) {
	freshThreads(t)
	c := &percpu.CPUs[0]
	usr1, usr2 := int(unix.SIGUSR1), int(unix.SIGUSR2)

	assert.False(t, sigactionSigOK(0, 0), "signal 0")
	assert.False(t, sigactionSigOK(abi.NSig+1, 0), "past the last signal")
	assert.False(t, sigactionSigOK(int(unix.SIGKILL), 0x1000), "a new action for SIGKILL")
	assert.False(t, sigactionSigOK(int(unix.SIGSTOP), 0x1000), "a new action for SIGSTOP")
	assert.True(t, sigactionSigOK(int(unix.SIGKILL), 0), "reading SIGKILL's action")
	assert.True(t, sigactionSigOK(abi.NSig, 0x1000))
	assert.True(t, overlap32(0x1000, 0x1000), "one buffer for both")
	assert.True(t, overlap32(0x1000, 0x101f))
	assert.True(t, overlap32(0x101f, 0x1000))
	assert.False(t, overlap32(0x1000, 0x1020), "back to back")
	assert.False(t, overlap32(0x1020, 0x1000))

	var b [32]byte
	encodeSigaction(&b, sigaction{handler: 0x1000, flags: saRestorer | saSiginfo, restorer: 0x2000, mask: ^uint64(0)})
	got := decodeSigaction(b[:])
	assert.Equal(t, sigaction{handler: 0x1000, flags: saRestorer | saSiginfo, restorer: 0x2000, mask: ^uint64(0) &^ unblockable}, got,
		"the Go runtime's all-ones sa_mask comes back without SIGKILL and SIGSTOP")

	handler := sigaction{handler: 0x1000, flags: saRestorer, restorer: 0x2000}
	setAction(usr1, handler)
	setAction(usr2, handler)
	a, m := New(), New()
	threadtab.Threads[m].Sigmask = sigbit(usr2)
	for _, th := range []sched.TID{a, m} {
		markPending(c, th, usr1, abi.SITkill, 1, 0, false)
		markPending(c, th, usr2, abi.SITkill, 1, 0, false)
	}
	setAction(usr2, sigaction{handler: sigIgn})
	for _, th := range []sched.TID{a, m} {
		assert.Equal(t, sigbit(usr1), threadtab.Threads[th].Pending, "SIG_IGN discards SIGUSR2 only, blocked or not (thread %d)", th)
	}
	assert.False(t, markPending(c, a, usr2, abi.SITkill, 1, 0, false))
	assert.Equal(t, sigbit(usr1), threadtab.Threads[a].Pending, "an ignored signal is not marked")
	assert.True(t, markPending(c, m, usr2, abi.SITkill, 1, 0, false))
	assert.Equal(t, sigbit(usr1)|sigbit(usr2), threadtab.Threads[m].Pending,
		"an ignored signal that the thread blocks is marked, as Linux's sig_ignored: its action may change before it is unblocked")
	threadtab.Threads[m].Pending = sigbit(usr1)

	setAction(usr2, handler)
	markPending(c, a, usr2, abi.SITkill, 1, 0, false)
	setAction(usr2, sigaction{handler: sigDfl})
	assert.NotZero(t, threadtab.Threads[a].Pending&sigbit(usr2), "SIG_DFL for SIGUSR2 (default: end the program) keeps it pending")
	chld := int(unix.SIGCHLD)
	setAction(chld, handler)
	markPending(c, a, chld, abi.SITkill, 1, 0, false)
	setAction(chld, sigaction{handler: sigDfl})
	assert.Zero(t, threadtab.Threads[a].Pending&sigbit(chld), "SIG_DFL for SIGCHLD (default: ignore it) discards it")

	threadtab.Threads[a].Pending = 0
	assert.False(t, markPending(c, a, usr2, abi.SITkill, 0x40, 0, true), "a fault signal without a handler: the program dies with a report")
	assert.Zero(t, threadtab.Threads[a].Pending)
	setAction(usr1, sigaction{handler: 0x1000, flags: saRestorer | saResethand, restorer: 0x2000})
	markPending(c, a, usr1, abi.SITkill, 1, 0, false)
	var info abi.Siginfo
	var act sigaction
	sig := takePending(c, a, false, &info, &act)
	assert.Equal(t, usr1, sig)
	assert.Equal(t, int32(usr1), info.Signo)
	assert.Equal(t, uint64(0x1000), act.handler, "the handler runs once")
	assert.Equal(t, uint64(sigDfl), sigactions[usr1].handler, "and is reset as the signal is taken")
	assert.Equal(t, uint64(saRestorer|saResethand), sigactions[usr1].flags, "the rest of the action stays")
}

// TestTryDeliverSignalRefuses: what the lock-free delivery
// (TryDeliverSignal) leaves to the kernel lock's path, each time with the
// signal still pending as it was: an action that is not a handler with
// SA_RESTORER and without SA_RESETHAND (taken, a SA_RESETHAND handler
// would be reset), a call owed a restart decision, and a frame whose
// pages are not mapped (taken, then put back with its siginfo).
func TestTryDeliverSignalRefuses(t *testing.T) {
	freshThreads(t)
	c := &percpu.CPUs[0]
	usr1 := int(unix.SIGUSR1)
	a := New()
	threadtab.Threads[a].Regs.RSP = 0x1100 // the frame and its x87 area would reach below the first page, never the program's
	for _, tc := range []struct {
		name  string
		act   sigaction
		setup func()
	}{
		{"SIG_DFL", sigaction{handler: sigDfl}, nil},
		{"a handler without SA_RESTORER", sigaction{handler: 0x1000}, nil},
		{"a handler with SA_RESETHAND", sigaction{handler: 0x1000, flags: saRestorer | saResethand, restorer: 0x2000}, nil},
		{"a restart owed", sigaction{handler: 0x1000, flags: saRestorer, restorer: 0x2000}, func() { threadtab.Threads[a].SignalRestart = true }},
		{"a frame on a page it may not write", sigaction{handler: 0x1000, flags: saRestorer, restorer: 0x2000}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			threadtab.Threads[a].Pending, threadtab.Threads[a].SignalRestart = 0, false
			sigactions[usr1] = tc.act
			threadtab.Threads[a].SigCode[usr1-1], threadtab.Threads[a].SigF0[usr1-1] = abi.SITkill, 77
			atomic.OrUint64(&threadtab.Threads[a].Pending, sigbit(usr1))
			if tc.setup != nil {
				tc.setup()
			}
			regs := threadtab.Threads[a].Regs
			_, ok := TryDeliverSignal(c, a)
			assert.False(t, ok)
			assert.Equal(t, sigbit(usr1), threadtab.Threads[a].Pending, "still pending")
			assert.Equal(t, int32(abi.SITkill), threadtab.Threads[a].SigCode[usr1-1], "its siginfo kept")
			assert.EqualValues(t, 77, threadtab.Threads[a].SigF0[usr1-1])
			assert.Equal(t, tc.act, sigactions[usr1], "its action unchanged (a SA_RESETHAND handler not reset)")
			assert.Equal(t, regs, threadtab.Threads[a].Regs, "the thread's registers unchanged")
		})
	}
	sigactions[usr1] = sigaction{handler: 0x1000, flags: saRestorer, restorer: 0x2000}
	threadtab.Threads[a].Pending = 0
	_, ok := TryDeliverSignal(c, a)
	assert.False(t, ok, "nothing pending: nothing delivered")
}

// TestSignalName checks the kernel messages' signal names by number,
// and the word for one without a name.
func TestSignalName(t *testing.T) {
	for sig, want := range map[int]string{1: "SIGHUP", 6: "SIGABRT", 9: "SIGKILL", 11: "SIGSEGV", 15: "SIGTERM",
		23: "SIGURG", 27: "SIGPROF", 0: "a signal", 16: "a signal", 26: "a signal", 28: "a signal", -1: "a signal", 64: "a signal"} {
		assert.Equal(t, want, SignalName(sig), "signal %d", sig)
	}
}
