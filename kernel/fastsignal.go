package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/kfiles"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// The signal calls the Go runtime makes while it runs, without the
// kernel lock (issue 18): rt_sigreturn (the end of every handler: each
// asynchronous preemption, each of the goroutine time slices' SIGURGs),
// tgkill (sysmon and the garbage collector preempting a goroutine on
// another thread), the mask and alternate-stack calls of every new
// M (rt_sigprocmask, sigaltstack), and rt_sigaction (the runtime's
// start, which reads and sets every signal's action, and os/signal's
// Notify). The thread's own signal state is its
// own to change (its mask, its alternate stack, its registers and FPU
// area); the pending signals of any thread and the process's actions
// are the signals lock's (klock.Signals, kernel/thread/signal.go). Each call that cannot be
// answered here (a failure, whose errno the locked path returns; memory
// that is not mapped, which the locked path faults in; a signal for a
// thread that is blocked, whose wait it may end) goes to the locked
// path having changed nothing the locked path would not do again.
// Counted for /proc/gometal/sched (writeSignalCalls).

// fastSignalCall answers the signal call nr of the thread running on c,
// with its registers in f, without the kernel lock if it can
// (thread.TrySigreturn, TrySigprocmask, TrySigaltstack, TrySigaction,
// fastKill), and
// reports whether it did. Context: trap, kernel lock not held,
// interrupts off; does not allocate.
func fastSignalCall(c *percpu.CPU, f *x86.TrapFrame, nr uint64) bool {
	t := threadtab.Sched.CPUs[c.ID].Cur
	c.KickTaken = false // a kick that ends a halt waiting for the signals lock is sent again
	ok := false
	switch nr {
	case unix.SYS_RT_SIGRETURN:
		ok = thread.TrySigreturn(c, t, f) // f holds the restored registers: RAX is the interrupted code's
	case unix.SYS_RT_SIGPROCMASK:
		if ok = thread.TrySigprocmask(c, t, int(int32(f.DI)), uintptr(f.SI), uintptr(f.DX), uintptr(f.R10)); ok {
			f.AX = 0
		}
	case unix.SYS_SIGALTSTACK:
		if ok = thread.TrySigaltstack(t, uintptr(f.DI), uintptr(f.SI)); ok {
			f.AX = 0
		}
	case unix.SYS_RT_SIGACTION:
		if ok = thread.TrySigaction(c, int(int32(f.DI)), uintptr(f.SI), uintptr(f.DX), uintptr(f.R10)); ok {
			f.AX = 0
		}
	case unix.SYS_TGKILL:
		ok = int32(f.DI) == 1 && fastKill(c, f, int32(f.SI), int32(f.DX))
	case unix.SYS_TKILL:
		ok = fastKill(c, f, int32(f.DI), int32(f.SI))
	}
	countSignalCall(c, nr, ok)
	if ok {
		kickSelfIfTaken(c)
	}
	return ok
}

// fastKill sends sig to the thread with Linux TID tid, for a tgkill of
// this process or a tkill, without the kernel lock
// (thread.TrySendSignal), and reports whether it did, with 0 in f. It
// leaves to the locked path (SysKill) a signal number out of range, a
// null signal (the existence check), SIGKILL and SIGSTOP, a TID that is
// out of range, and a thread that is not running or runnable; and it
// leaves a thread that blocked while the signal was marked to the
// locked path's doTgkill (tkill's too), told by c.KillMarked that only the
// wait is left to end.
// Context: trap, kernel lock not held, interrupts off; does not
// allocate.
func fastKill(c *percpu.CPU, f *x86.TrapFrame, tid, sig int32) bool {
	if sig < 1 || sig > abi.NSig || sig == int32(unix.SIGKILL) || sig == int32(unix.SIGSTOP) ||
		tid < 1 || tid > sched.MaxThreads {
		return false
	}
	// si_pid 1 and si_uid 0, as SysKill writes them for a tkill.
	switch thread.TrySendSignal(c, sched.TID(tid-1), int(sig), abi.SITkill, 1, 0) {
	case thread.SentNot:
		return false
	case thread.SentBlocked:
		c.KillMarked = true
		return false
	}
	f.AX = 0
	return true
}

// The signal calls' lines in /proc/gometal/sched's fast-path table: the
// call's name, its event (the calls answered without the kernel lock)
// and its numbers (whose lockedCalls count the calls the kernel lock
// served).
// tgkill's line counts tkill too.
var signalCalls = [...]struct {
	name  string
	event percpu.Event
	nrs   [2]uint64 // its system call numbers (twice the same for one)
}{
	{"rt_sigreturn", percpu.EvSigreturnFast, [2]uint64{unix.SYS_RT_SIGRETURN, unix.SYS_RT_SIGRETURN}},
	{"rt_sigprocmask", percpu.EvSigmaskFast, [2]uint64{unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGPROCMASK}},
	{"sigaltstack", percpu.EvAltstackFast, [2]uint64{unix.SYS_SIGALTSTACK, unix.SYS_SIGALTSTACK}},
	{"tgkill", percpu.EvKillFast, [2]uint64{unix.SYS_TGKILL, unix.SYS_TKILL}},
	{"rt_sigaction", percpu.EvSigactionFast, [2]uint64{unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGACTION}},
}

// countSignalCall counts signal call nr on c if it was answered without
// the kernel lock; the locked path counts the others (countLockedCall).
// Context: trap, interrupts off; does not allocate.
func countSignalCall(c *percpu.CPU, nr uint64, lockFree bool) {
	if !lockFree {
		return
	}
	for i := range signalCalls {
		if signalCalls[i].nrs[0] == nr || signalCalls[i].nrs[1] == nr {
			percpu.Count(c, signalCalls[i].event)
		}
	}
}

// writeSignalCalls prints the signal calls' lines of the fast-path
// table: answered without the kernel lock, and served by it.
// Context: trap, kernel lock held; does not allocate.
func writeSignalCalls(w kfiles.Writer, sum *percpu.EventCounts) {
	for i := range signalCalls {
		sc := &signalCalls[i]
		locked := lockedCalls[sc.nrs[0]]
		if sc.nrs[1] != sc.nrs[0] {
			locked += lockedCalls[sc.nrs[1]]
		}
		w.Pair(sc.name, sum[sc.event], locked)
	}
}
