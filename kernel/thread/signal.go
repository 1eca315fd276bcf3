package thread

import (
	"math/bits"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Signal delivery, as Linux does it on amd64, so that the Go runtime's
// handlers run unchanged: SIGURG for asynchronous preemption, SIGSEGV,
// SIGFPE and SIGILL for faults that become Go panics, SIGPROF for the CPU
// profiler. Signals are made pending on a thread (SendSignal) and
// delivered on its next return to ring 3 (package kernel's load calls
// DeliverSignal): the kernel builds an rt_sigframe on the thread's stack
// or alternate stack and enters the handler; rt_sigreturn restores the
// (possibly modified) context.

// sigaction flags.
const (
	saSiginfo   = 0x4
	saOnstack   = 0x08000000
	saRestart   = 0x10000000
	saNodefer   = 0x40000000
	saResethand = 0x80000000
	saRestorer  = 0x04000000
	sigDfl      = 0
	sigIgn      = 1
	ssOnstack   = 1
)

func sigbit(sig int) uint64 { return 1 << uint(sig-1) }

// unblockable signals are never masked.
const unblockable = 1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1)

// SignalPending reports whether t has a pending signal it does not
// block. Context: trap, kernel lock held, or not held on t's own CPU
// (kernel/fastsleep.go's nap: two aligned words, each some value it had;
// a signal sent after the read kicks t's CPU); does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func SignalPending(t sched.TID) bool {
	th := &threadtab.Threads[t]
	return atomic.LoadUint64(&th.Pending)&^atomic.LoadUint64(&th.Sigmask) != 0
}

// SignalPendingFenced is SignalPending after a locked instruction, for
// the two places where t's state has just changed while a lock-free
// sender may look at it (TrySendSignal): t starts running on this CPU
// (package kernel's load), or it starts to wait (package kernel's
// interruptIfSignalled). The sender stores the pending bit, then loads
// t's state; this side has stored the state and loads the bit; each
// with a locked instruction between, so that one of the two sees the
// other's store (a plain store can wait in the store buffer past a
// load after it): the sender sees the new state and acts on it, or t
// sees the signal here. (A switch under a run-queue lock does the same
// for the thread that blocks and the one it switches to:
// kernel/fastswitch.go.)
// Context: trap, kernel lock or the CPU's run-queue lock held; does not
// allocate.
//
// Not inlined: its copies at its eight callers cost the image more than
// the calls (issue 16's budget).
//
//go:noinline
func SignalPendingFenced(t sched.TID) bool {
	th := &threadtab.Threads[t]
	return atomic.OrUint64(&th.Pending, 0)&^atomic.LoadUint64(&th.Sigmask) != 0
}

// markPending makes sig pending on t with the given siginfo fields,
// under the signals lock (a delivery takes a signal off under it, so its
// siginfo is never half written), the bit set with a locked instruction:
// the caller's loads after it (t's mask, t's state) come after the store.
// It reports whether it marked it: a signal that t ignores (ignoredBy)
// when the lock is taken is dropped, as setAction discards the ones
// marked before an rt_sigaction made them ignored; and with fault set, a
// signal without a handler (SIG_DFL, SIG_IGN) is not marked (RaiseFault).
// Context: trap, on CPU c, any lock or none but the signals lock; does
// not allocate.
func markPending(c *percpu.CPU, t sched.TID, sig int, code int32, f0, f1 uint64, fault bool) bool {
	th := &threadtab.Threads[t]
	klock.Signals.Lock(c)
	if h := sigactions[sig].handler; ignoredBy(t, sig) || fault && (h == sigDfl || h == sigIgn) {
		klock.Signals.Unlock(c)
		return false
	}
	th.SigCode[sig-1], th.SigF0[sig-1], th.SigF1[sig-1] = code, f0, f1
	atomic.OrUint64(&th.Pending, sigbit(sig))
	klock.Signals.Unlock(c)
	return true
}

// ignored reports whether sig, sent now, is dropped: its handler is
// SIG_IGN, or SIG_DFL with a default action of ignoring it. The handler
// is one aligned word, stored atomically under the signals lock
// (setAction): a reader without the lock reads some value it had.
// Context: trap, any lock or none; does not allocate.
func ignored(sig int) bool {
	h := atomic.LoadUint64(&sigactions[sig].handler)
	return h == sigIgn || (h == sigDfl && defaultIgnored(sig))
}

// ignoredBy reports whether sig, sent to t now, is dropped: it is
// ignored and t does not block it. As on Linux (sig_ignored), a blocked
// signal is never dropped when it is sent: its action may change before
// t unblocks it (an ignored one is dropped when it is taken, or when an
// rt_sigaction makes it ignored: setAction). Context: trap, any lock or
// none; does not allocate.
func ignoredBy(t sched.TID, sig int) bool {
	return ignored(sig) && atomic.LoadUint64(&threadtab.Threads[t].Sigmask)&sigbit(sig) == 0
}

// SendSignal makes sig pending on t with the given siginfo fields. A
// thread blocked in an interruptible wait wakes with EINTR so the signal
// is delivered promptly. Context: trap, on CPU c, kernel lock held.
func SendSignal(c *percpu.CPU, t sched.TID, sig int, code int32, f0, f1 uint64) {
	if State(t) == threadFree || !markPending(c, t, sig, code, f0, f1, false) {
		return
	}
	NoticeSignal(t, sig)
}

// SignalRunning makes sig pending on t, the thread that CPU c runs
// (stopped in c's trap), with the given siginfo fields, and reports
// whether it is pending (false: t ignores it). Nothing else is needed:
// c's way back to ring 3 delivers it (package kernel's load), as it does
// for SendSignal, whose kick to t's own CPU is none. A timer
// interrupt's slice check sends its SIGURG so (kernel/timeslice).
// Context: trap, on CPU c running t, kernel lock or c's run-queue lock
// held; does not allocate.
func SignalRunning(c *percpu.CPU, t sched.TID, sig int, code int32, f0, f1 uint64) bool {
	return markPending(c, t, sig, code, f0, f1, false)
}

// NoticeSignal makes t act on sig, pending on it: a thread blocked in an
// interruptible wait wakes with EINTR (InterruptWait), a running one's
// CPU gets a kick IPI, whose entry delivers it. Nothing is done if t
// blocks sig, or no longer has it pending (it was delivered meanwhile:
// the locked path's half of a lock-free tgkill, TrySendSignal).
// Context: trap, kernel lock held; does not allocate.
func NoticeSignal(t sched.TID, sig int) {
	th := &threadtab.Threads[t]
	if atomic.LoadUint64(&th.Pending)&^atomic.LoadUint64(&th.Sigmask)&sigbit(sig) == 0 {
		return
	}
	switch State(t) {
	case threadBlocked:
		// An exiting thread never returns to the program, and a bind or
		// listen waiting for the network stack is not interruptible (on
		// Linux they do not block): the signal waits for the call's end.
		if Interruptible(th.Wait) {
			InterruptWait(t)
		}
	case threadRunning:
		Kick(&percpu.CPUs[threadtab.Sched.Threads[t].CPU]) // delivered when that CPU re-enters its scheduler
	}
}

// What TrySendSignal did.
const (
	SentNot     = iota // nothing: the locked path sends the signal (SendSignal)
	Sent               // the signal is pending, and t will act on it
	SentBlocked        // the signal is pending, but t blocked meanwhile: the locked path must end its wait (NoticeSignal)
)

// TrySendSignal makes sig pending on t without the kernel lock, as
// SendSignal does, for a tgkill or tkill (package kernel's fastKill),
// and reports what it did. It does nothing (SentNot), and the locked
// path's SendSignal decides, when t is neither running nor runnable: a
// free slot (ESRCH), a thread being created, a blocked thread (whose
// wait the signal may have to end: InterruptWait). A signal t blocks
// waits for t's own call that unblocks it, which looks at its pending
// signals after the store of its new mask (SysRtSigprocmask,
// RtSigreturn, and the lock-free forms of both). For one it does not
// block, a running t gets a kick IPI to its CPU (its own, if t is the
// caller), whose entry delivers it; a runnable t looks when it starts
// running (SignalPendingFenced: if that was after this call looked, it
// sees the bit there); a t that blocked after the first look
// (SentBlocked) is the locked path's to wake (NoticeSignal), which must
// not mark the signal again: t may have taken it already.
// Context: trap, on CPU c, kernel lock not held; does not allocate.
func TrySendSignal(c *percpu.CPU, t sched.TID, sig int, code int32, f0, f1 uint64) int {
	if st := State(t); st != threadRunning && st != threadRunnable {
		return SentNot
	}
	if !markPending(c, t, sig, code, f0, f1, false) {
		return Sent // t ignores it
	}
	if atomic.LoadUint64(&threadtab.Threads[t].Sigmask)&sigbit(sig) != 0 {
		return Sent
	}
	switch State(t) {
	case threadRunning:
		if o := threadtab.Sched.RunningOn(t); o >= 0 {
			sendKick(c, &percpu.CPUs[o])
		}
	case threadRunnable:
	default: // it began to wait (or to exit) meanwhile
		return SentBlocked
	}
	return Sent
}

// InterruptWait ends blocked t's wait because a signal is pending: the
// call returns EINTR, unless it is one Linux restarts for a handler
// installed with SA_RESTART (restartable) and has no timeout, whose
// return then depends on the handler DeliverSignal runs: with SA_RESTART
// the call is executed again after the handler returns, as it is if no
// handler runs at all (package kernel's load). Context: trap, kernel
// lock held; does not allocate.
//
// A relative sleep (SleepRem set) reports the time it had left at rem,
// as Linux does; EFAULT instead of EINTR if rem cannot be written.
func InterruptWait(t sched.TID) {
	th := &threadtab.Threads[t]
	restart := restartable(th.RestartNr, &th.Regs) && !threadtab.Sched.Timers.Pending(t)
	deadline, timed := threadtab.Sched.Timers.When(t)
	rem := th.SleepRem
	left := deadline - clock.Nanotime()
	result := -abi.EINTR
	switch {
	case th.Wait == threadtab.WaitSleep && timed && left <= 0:
		result = 0 // the sleep is over (its timer not yet served): 0, as Linux's do_nanosleep
	case rem != 0 && timed && !WriteTimespec(rem, left): // only a sleep has a rem
		result = -abi.EFAULT
	}
	if Wake(t, result) { // not if a FUTEX_WAKE handed it off: it returns 0, the signal on its way out
		th.SignalRestart = restart
	}
}

// restartable reports whether Linux restarts system call nr (with the
// arguments in r), interrupted by a signal whose handler has SA_RESTART
// (signal(7)): reads and writes, accept, sends and receives, wait4 and
// waitid, flock, fcntl's lock waits, futex waits without a timeout.
// Never restarted: epoll_wait, poll, select, the sleeps, connect (which
// POSIX lets go on in the background), and any call with a timeout.
// Context: trap; does not allocate.
func restartable(nr uint64, r *x86.TrapFrame) bool {
	switch nr {
	case unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_WRITEV,
		unix.SYS_PREAD64, unix.SYS_PWRITE64, unix.SYS_PREADV, unix.SYS_PWRITEV,
		unix.SYS_PREADV2, unix.SYS_PWRITEV2, unix.SYS_SENDFILE, unix.SYS_SPLICE, unix.SYS_TEE,
		unix.SYS_ACCEPT, unix.SYS_ACCEPT4, unix.SYS_SENDTO, unix.SYS_RECVFROM,
		unix.SYS_SENDMSG, unix.SYS_RECVMSG, unix.SYS_SENDMMSG,
		unix.SYS_WAIT4, unix.SYS_WAITID, unix.SYS_FLOCK, unix.SYS_FCNTL,
		unix.SYS_OPEN, unix.SYS_OPENAT, unix.SYS_IOCTL, unix.SYS_GETRANDOM:
		return true
	case unix.SYS_FUTEX:
		op := r.SI & FutexCmdMask
		return (op == FutexOpWait || op == FutexOpWaitBitset) && r.R10 == 0
	}
	return false
}

// CallAgain points t's registers back at the system call instruction
// with the call's number in RAX (SYSCALL is two bytes long), so that the
// call is executed again when t returns to ring 3.
// Context: trap; does not allocate.
func CallAgain(th *threadtab.Thread) {
	th.Regs.AX = th.RestartNr
	th.Regs.RIP -= 2
}

// defaultIgnored reports whether sig's default action is to ignore it.
// The stop signals of job control (SIGTSTP from Ctrl-Z in a terminal,
// SIGTTIN, SIGTTOU) count as ignored: the program has no parent that
// could continue it, and Linux discards them for such an orphaned process
// group too. A program that handles them gets them. Context: trap.
func defaultIgnored(sig int) bool {
	switch sig {
	case int(unix.SIGCHLD), int(unix.SIGURG), int(unix.SIGWINCH), int(unix.SIGCONT),
		int(unix.SIGTSTP), int(unix.SIGTTIN), int(unix.SIGTTOU):
		return true
	}
	return false
}

// RaiseFault makes a fault signal pending on t for delivery on its way
// back to ring 3 (package kernel's load), with the trap in f for its
// sigcontext, and reports true; or reports false, with sig not pending,
// when the program blocks or ignores sig or has no handler for it: then
// the program must die with a report, as Linux's force_sig would kill
// it, and the caller ends it (package kernel's forceSignal). The handler
// is looked at again under the signals lock as the signal is marked: an
// rt_sigaction on another CPU may change it without the kernel lock.
// Context: trap, kernel lock held; does not allocate.
func RaiseFault(c *percpu.CPU, t sched.TID, f *x86.TrapFrame, sig int, code int32, addr uint64) bool {
	th := &threadtab.Threads[t]
	if atomic.LoadUint64(&th.Sigmask)&sigbit(sig) != 0 {
		return false
	}
	th.FaultErr, th.FaultTrap, th.FaultCR2 = f.Err, f.Vector, addr
	return markPending(c, t, sig, code, addr, 0, true)
}

// A Delivery is what DeliverSignal did, for its caller to act on: the
// parts that are not the signal code's (ending the program, the
// goroutine time slices' look at a SIGURG) are done by the caller.
type Delivery struct {
	// Exit is nonzero when the program must end with this status: the
	// signal's default action kills it, it has a handler without
	// SA_RESTORER, or its frame could not be written (the reason is
	// logged).
	Exit int
	// Sig is the signal whose frame was built, 0 for none (the signal
	// was ignored, or Exit is set).
	Sig int
	// SP is the stack pointer the handler's frame interrupted (the
	// context saved in the frame), when Sig is set.
	SP uint64
}

// DeliverSignal delivers the lowest pending, unblocked signal of t by
// building a signal frame and pointing t's registers at the handler, and
// reports what it did (Delivery): the caller ends the program when
// Delivery.Exit says so. Context: trap, kernel lock held; does not
// allocate.
func DeliverSignal(c *percpu.CPU, t sched.TID) Delivery {
	th := &threadtab.Threads[t]
	var info abi.Siginfo
	var act sigaction
	sig := takePending(c, t, false, &info, &act)
	if sig == 0 {
		return Delivery{}
	}
	switch {
	case act.handler == sigIgn:
		return Delivery{}
	case act.handler == sigDfl:
		if defaultIgnored(sig) {
			return Delivery{}
		}
		var l klog.Line
		l.S("program killed by ").S(SignalName(sig)).Print()
		return Delivery{Exit: 128 + sig}
	case act.flags&saRestorer == 0:
		var l klog.Line
		l.S("program has a handler for ").S(SignalName(sig)).S(" without SA_RESTORER: killing it").Print()
		return Delivery{Exit: 128 + sig}
	}
	if th.SignalRestart { // the call the signal interrupted
		th.SignalRestart = false
		if act.flags&saRestart != 0 {
			CallAgain(th)
		}
	}
	d, frameAddr, ok := buildFrame(c, t, sig, &info, &act, false)
	if !ok {
		var l klog.Line
		l.S("cannot write the signal frame for ").S(SignalName(sig)).S(" at ").X(frameAddr).S(": stack overflow?").Print()
		return Delivery{Exit: 128 + int(unix.SIGSEGV)}
	}
	return d
}

// TryDeliverSignal delivers the lowest pending, unblocked signal of t,
// the thread c runs (stopped in c's trap, its registers saved in Regs),
// as DeliverSignal does, but without the kernel lock, and reports
// whether it did: only a signal whose action is a handler installed with
// SA_RESTORER and without SA_RESETHAND (the Go runtime's, for every
// signal it handles), for a thread owed no restart decision
// (SignalRestart), onto a stack whose pages are mapped writable already
// (nothing is faulted in). Otherwise ok is false and nothing changed (a
// signal it took and could not write is pending again, as it was): the
// kernel lock's path delivers it, or ends the program. A timer
// interrupt's SIGURG for a goroutine time slice is delivered so
// (package kernel's fastInterrupt), and so is one that a kick IPI came for.
// Context: trap, on CPU c running t, c's run-queue lock held (t's
// registers and x87 state are c's alone); does not allocate.
func TryDeliverSignal(c *percpu.CPU, t sched.TID) (d Delivery, ok bool) {
	if threadtab.Threads[t].SignalRestart {
		return Delivery{}, false
	}
	var info abi.Siginfo
	var act sigaction
	sig := takePending(c, t, true, &info, &act)
	if sig == 0 {
		return Delivery{}, false
	}
	if d, _, ok = buildFrame(c, t, sig, &info, &act, true); !ok {
		markPending(c, t, sig, info.Code, info.F0, info.F1, false)
	}
	return d, ok
}

// buildFrame writes the frame of signal sig, with its siginfo and
// action, on t's stack (its alternate stack if the action says so and
// t is not on it already) and points t's registers at the handler, its
// x87 state reset and its mask widened, and returns the Delivery and
// the frame's address; ok false, with t unchanged, when the frame's
// pages may not be written: without faulting them in if lockFree
// (vm.WriteLockFree), else faulting them in (vm.UserRange). The frame
// is built on the kernel stack and copied with the fault-tolerant copy,
// which fails rather than faults if another CPU unmapped a page
// meanwhile (possible only without the kernel lock).
// Context: trap, on CPU c running t, kernel lock held or (lockFree)
// c's run-queue lock; does not allocate.
func buildFrame(c *percpu.CPU, t sched.TID, sig int, info *abi.Siginfo, act *sigaction, lockFree bool) (d Delivery, frameAddr uint64, ok bool) {
	th := &threadtab.Threads[t]
	r := &th.Regs
	alt := th.AltStack // sp, flags, size
	onAlt := alt[2] != 0 && r.RSP > alt[0] && r.RSP <= alt[0]+alt[2]
	sp := r.RSP - abi.RedZone
	if act.flags&saOnstack != 0 && alt[2] != 0 && !onAlt {
		sp = alt[0] + alt[2]
	}
	fpAddr := (sp - abi.FXSize) &^ 63
	frameAddr = ((fpAddr - uint64(abi.SigframeSize)) &^ 15) - 8
	if !lockFree && !vm.UserRange(uintptr(frameAddr), uintptr(sp-frameAddr), true) {
		return Delivery{}, frameAddr, false
	}
	SyncFPU(c) // t runs on this CPU: its x87 state may be live
	var fr abi.Sigframe
	fr.Pretcode = act.restorer
	uc := &fr.UC
	uc.Stack = abi.StackT{SP: alt[0], Size: alt[2]}
	switch {
	case alt[2] == 0:
		uc.Stack.Flags = ssDisable
	case onAlt:
		uc.Stack.Flags = ssOnstack
	}
	m := &uc.Mctx
	m.R8, m.R9, m.R10, m.R11, m.R12, m.R13, m.R14, m.R15 = r.R8, r.R9, r.R10, r.R11, r.R12, r.R13, r.R14, r.R15
	m.RDI, m.RSI, m.RBP, m.RBX, m.RDX, m.RAX, m.RCX = r.DI, r.SI, r.BP, r.BX, r.DX, r.AX, r.CX
	m.RSP, m.RIP, m.EFlags = r.RSP, r.RIP, r.RFLAGS
	m.CS, m.SS = x86.SelUserCode, x86.SelUserData
	if sig == int(unix.SIGSEGV) || sig == int(unix.SIGBUS) || sig == int(unix.SIGFPE) || sig == int(unix.SIGILL) || sig == int(unix.SIGTRAP) {
		m.Err, m.Trapno, m.CR2 = th.FaultErr, th.FaultTrap, th.FaultCR2
	}
	m.Oldmask = th.Sigmask
	m.Fpstate = fpAddr
	uc.Sigmask = th.Sigmask
	fr.Info = *info
	fx := unsafeSlice(th.FX, abi.FXSize)
	if !putFrame(uintptr(fpAddr), fx, lockFree) || !putFrame(uintptr(frameAddr), sigframeBytes(&fr), lockFree) {
		return Delivery{}, frameAddr, false
	}

	d = Delivery{Sig: sig, SP: r.RSP}
	r.RIP = act.handler
	r.RSP = frameAddr
	r.DI = uint64(sig)
	r.SI = frameAddr + uint64(unsafeOffsetInfo)
	r.DX = frameAddr + uint64(unsafeOffsetUC)
	r.AX = 0
	r.RFLAGS &^= x86.FlagTF | x86.FlagDF | x86.FlagRF
	clear(fx)
	copy(fx, fxDefault[:])
	mask := th.Sigmask | act.mask
	if act.flags&saNodefer == 0 {
		mask |= sigbit(sig)
	}
	atomic.StoreUint64(&th.Sigmask, mask&^unblockable) // more blocked, never fewer: no pending signal to look at
	return d, frameAddr, true
}

// putFrame copies part of a signal frame to the program's stack at
// addr with the fault-tolerant copy: without the kernel lock only where
// vm.WriteLockFree allows (no page is faulted in: one not mapped fails
// the copy, and the kernel lock's path faults it in), else after
// vm.UserRange faulted the range in (vm.UserCopyTo, which faults in again
// a page a madvise beside gave back).
// Context: trap, on the CPU running the thread; does not allocate.
func putFrame(addr uintptr, b []byte, lockFree bool) bool {
	if lockFree {
		return vm.WriteLockFree(addr, b)
	}
	return vm.UserCopyTo(addr, b)
}

// takePending takes t's lowest pending signal that t does not block off
// its pending set, under the signals lock, and returns it, its siginfo
// and its action written to info and act; 0 if there is none. A handler
// installed with SA_RESETHAND is reset to SIG_DFL as it is taken, under
// the same hold, as Linux resets it when it dequeues the signal: a second
// one sent meanwhile gets the default action. With handlerOnly, a signal
// whose action is not a handler with SA_RESTORER and without
// SA_RESETHAND is left pending, and 0 returned (TryDeliverSignal). The
// siginfo and action come back through pointers, and with one return,
// rather than as results copied at each return (issue 16's budget);
// what they hold is unspecified when 0 is returned.
// Context: trap, on t's CPU c (t's mask is its own to change); does not
// allocate.
func takePending(c *percpu.CPU, t sched.TID, handlerOnly bool, info *abi.Siginfo, act *sigaction) int {
	th := &threadtab.Threads[t]
	klock.Signals.Lock(c)
	sig := 0
	if ready := th.Pending &^ th.Sigmask; ready != 0 {
		sig = bits.TrailingZeros64(ready) + 1
		*act = sigactions[sig]
		if handlerOnly && (act.handler == sigDfl || act.handler == sigIgn || act.flags&saRestorer == 0 || act.flags&saResethand != 0) {
			sig = 0
		}
	}
	if sig != 0 {
		atomic.AndUint64(&th.Pending, ^sigbit(sig))
		*info = abi.Siginfo{Signo: int32(sig), Code: th.SigCode[sig-1], F0: th.SigF0[sig-1], F1: th.SigF1[sig-1]}
		if act.handler != sigDfl && act.handler != sigIgn && act.flags&saResethand != 0 {
			atomic.StoreUint64(&sigactions[sig].handler, sigDfl)
		}
	}
	klock.Signals.Unlock(c)
	return sig
}

// flagsUser are the flags rt_sigreturn may change.
const flagsUser = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | x86.FlagTF | x86.FlagDF | 0x800 | x86.FlagAC | x86.FlagRF

// RtSigreturn restores the context saved by DeliverSignal from the
// ucontext at the thread's stack pointer (the handler's return popped
// pretcode). A frame the program cannot have meant ends it: RtSigreturn
// then stops where it found the fault, with what and the address for the
// report (what is "" when all went well), and the caller ends the program
// (package kernel's programFault). Context: trap, kernel lock held;
// does not allocate.
func RtSigreturn(t sched.TID) (what string, addr uintptr) {
	th := &threadtab.Threads[t]
	r := &th.Regs
	ucAddr := uintptr(r.RSP)
	if !vm.UserRange(ucAddr, unsafeSizeofUC, false) {
		return "SIGSEGV: bad rt_sigreturn frame", ucAddr
	}
	uc := (*abi.Ucontext)(ptr(ucAddr))
	m := &uc.Mctx
	restoreRegs(r, m)
	atomic.StoreUint64(&th.Sigmask, uc.Sigmask&^unblockable) // the way back (load) looks at the pending signals
	if m.Fpstate != 0 {
		if !vm.UserRange(uintptr(m.Fpstate), abi.FXSize, false) {
			return "SIGSEGV: bad fpstate in rt_sigreturn", uintptr(m.Fpstate)
		}
		SyncFPU(percpu.This()) // the exit must restore the whole area written here
		fx := unsafeSlice(th.FX, abi.FXSize)
		copy(fx, unsafeSlice(uintptr(m.Fpstate), abi.FXSize))
		clampMXCSR(fx)
	}
	if m.RIP >= vm.UserTop || m.RSP >= vm.UserTop {
		return "SIGSEGV: rt_sigreturn to a kernel address", uintptr(m.RIP)
	}
	return "", 0
}

// TrySigreturn is rt_sigreturn for t, running on CPU c with its
// registers in f, without the kernel lock (package kernel's fast path):
// it reads the ucontext and the FPU state it names with the
// fault-tolerant copy, which faults nothing in (vm.ReadLockFree), and
// restores them into f, t's FX area and t's mask. It reports false when
// a page of either is not mapped (or not the program's) or the frame
// returns to a kernel address: nothing has changed then, and the locked
// path (RtSigreturn) serves the call, faulting pages in or ending the
// program. A pending signal
// that the restored mask unblocks is delivered by the kick IPI this CPU
// sends itself, taken as soon as t is back in ring 3 (a sender that saw
// the old mask sent no kick).
// Context: trap, on c, kernel lock not held, interrupts off; does not
// allocate.
func TrySigreturn(c *percpu.CPU, t sched.TID, f *x86.TrapFrame) bool {
	var uc abi.Ucontext
	m := &uc.Mctx
	if !vm.ReadLockFree(ucontextBytes(&uc), uintptr(f.RSP)) || m.RIP >= vm.UserTop || m.RSP >= vm.UserTop {
		return false
	}
	th := &threadtab.Threads[t]
	if m.Fpstate != 0 {
		var fp [abi.FXSize]byte // read whole before t's area changes
		if !vm.ReadLockFree(fp[:], uintptr(m.Fpstate)) {
			return false
		}
		SyncFPU(c) // the exit must restore the whole area written here
		fx := unsafeSlice(th.FX, abi.FXSize)
		copy(fx, fp[:])
		clampMXCSR(fx)
	}
	restoreRegs(f, m)
	setOwnMask(c, t, uc.Sigmask)
	return true
}

// restoreRegs loads the registers an rt_sigreturn restores from the
// sigcontext m into r: the general registers, RIP, RSP and the flags the
// program may change, with interrupts on and the user segments.
// Context: trap; does not allocate.
func restoreRegs(r *x86.TrapFrame, m *abi.Sigcontext) {
	r.R8, r.R9, r.R10, r.R11, r.R12, r.R13, r.R14, r.R15 = m.R8, m.R9, m.R10, m.R11, m.R12, m.R13, m.R14, m.R15
	r.DI, r.SI, r.BP, r.BX, r.DX, r.AX, r.CX = m.RDI, m.RSI, m.RBP, m.RBX, m.RDX, m.RAX, m.RCX
	r.RSP, r.RIP = m.RSP, m.RIP
	r.RFLAGS = r.RFLAGS&^flagsUser | m.EFlags&flagsUser | x86.FlagIF
	r.CS, r.SS = x86.SelUserCode, x86.SelUserData
}

// clampMXCSR clears the reserved bits of the MXCSR image (bytes 24-27)
// in the FXSAVE area fx, which the program wrote: FXRSTOR faults on them.
// Context: trap; does not allocate.
func clampMXCSR(fx []byte) {
	mx := uint32(fx[24]) | uint32(fx[25])<<8 | uint32(fx[26])<<16 | uint32(fx[27])<<24
	mx &= mxcsrMask
	fx[24], fx[25], fx[26], fx[27] = byte(mx), byte(mx>>8), byte(mx>>16), byte(mx>>24)
}

// setOwnMask makes mask (less SIGKILL and SIGSTOP) the signal mask of t,
// the thread running on CPU c, on a path without the kernel lock, and
// sends c a kick IPI if that leaves a pending signal unblocked: the
// entry it makes as soon as t is back in ring 3 delivers it. The mask is
// stored with a locked instruction before the pending signals are read,
// as a sender marks a signal before it reads the mask
// (TrySendSignal, SendSignal): one of the two sees the other's store.
// Context: trap, on c, kernel lock not held, interrupts off; does not
// allocate.
func setOwnMask(c *percpu.CPU, t sched.TID, mask uint64) {
	atomic.StoreUint64(&threadtab.Threads[t].Sigmask, mask&^unblockable)
	if SignalPending(t) {
		sendKick(c, c)
	}
}

// mxcsrMask is the MXCSR bits FXRSTOR accepts on every x86-64 CPU.
const mxcsrMask = 0xffbf

// SysKill implements kill(2): sig for the process (pid 1, 0 or -1:
// there is one), taken by the thread processSignalTarget picks.
// Context: trap (a system call, or a console signal character through
// sendProcessSignal), kernel lock held; does not allocate.
func SysKill(c *percpu.CPU, caller sched.TID, a abi.SysArgs) int64 {
	pid, sig := int(int32(a[0])), int(int32(a[1]))
	if sig < 0 || sig > nsig {
		return -abi.EINVAL
	}
	if pid != -1 && pid != 0 && pid != 1 {
		return -abi.ESRCH
	}
	return sendTo(c, processSignalTarget(caller, sig), sig, abi.SIUser) // SI_USER for kill(2), as on Linux
}

// SysTgkill implements tgkill(2) (group set: tgid is the process's ID)
// and tkill(2) (group unset: no tgid), in Linux's order: a TID, or a
// tgkill's thread-group ID, that is not positive is EINVAL; a thread
// that is not the process's is ESRCH; then a bad signal number is
// EINVAL.
// Context: trap, kernel lock held; does not allocate.
func SysTgkill(c *percpu.CPU, group bool, tgid, tid, sig int) int64 {
	if tid <= 0 || group && tgid <= 0 {
		return -abi.EINVAL
	}
	if group && tgid != 1 || !liveTID(tid) {
		return -abi.ESRCH
	}
	if sig < 0 || sig > nsig {
		return -abi.EINVAL
	}
	return sendTo(c, tid, sig, abi.SITkill)
}

// sendTo sends sig (0: none, the existence check) to the thread with
// Linux TID tid with si_code code, si_pid 1 and si_uid 0; ESRCH if there
// is no such thread. Context: trap, kernel lock held; does not allocate.
func sendTo(c *percpu.CPU, tid, sig int, code int32) int64 {
	if !liveTID(tid) {
		return -abi.ESRCH
	}
	if sig != 0 {
		SendSignal(c, sched.TID(tid-1), sig, code, 1, 0)
	}
	return 0
}

// liveTID reports whether Linux TID tid names a thread of the program.
// Context: trap; does not allocate.
func liveTID(tid int) bool {
	return tid >= 1 && tid <= sched.MaxThreads && State(sched.TID(tid-1)) != threadFree
}

// signalNames names the signals the kernel reports, by number, each
// ended by a NUL (klog.Nth); "" for the others.
const signalNames = "\x00SIGHUP\x00SIGINT\x00SIGQUIT\x00SIGILL\x00SIGTRAP\x00SIGABRT\x00" +
	"SIGBUS\x00SIGFPE\x00SIGKILL\x00SIGUSR1\x00SIGSEGV\x00" +
	"SIGUSR2\x00SIGPIPE\x00SIGALRM\x00SIGTERM\x00" +
	"\x00\x00\x00\x00\x00\x00\x00" +
	"SIGURG\x00\x00\x00\x00SIGPROF\x00"

// SignalName returns the name of signal sig for the kernel's messages.
// Context: any; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func SignalName(sig int) string {
	if name := klog.Nth(signalNames, sig); name != "" {
		return name
	}
	return "a signal"
}

// processSignalTarget picks the thread (its Linux TID) that takes a
// process-directed signal, as Linux's complete_signal prefers: the calling
// thread (caller, noThread from an interrupt) if it does not block sig,
// else the first thread that does not block it and can take it now (not
// in a wait a signal cannot interrupt), else the first that does not
// block it, else the first thread. Context: trap, kernel lock held; does
// not allocate.
func processSignalTarget(caller sched.TID, sig int) int {
	if caller != noThread && takesSignal(caller, sig) {
		return int(threadtab.LinuxTID(caller))
	}
	first := 1
	found := false
	for i := range threadtab.Threads {
		t := sched.TID(i)
		if !takesSignal(t, sig) {
			continue
		}
		if State(t) != threadBlocked || Interruptible(threadtab.Threads[t].Wait) {
			return int(threadtab.LinuxTID(t))
		}
		if !found {
			first, found = int(threadtab.LinuxTID(t)), true
		}
	}
	return first
}

// takesSignal reports whether thread t exists and does not block sig (0:
// any thread exists). Context: trap; does not allocate.
func takesSignal(t sched.TID, sig int) bool {
	return State(t) != threadFree && (sig == 0 || atomic.LoadUint64(&threadtab.Threads[t].Sigmask)&sigbit(sig) == 0)
}

// Interruptible reports whether a signal ends a wait for why with EINTR.
// An exiting thread never returns to the program, and a bind or listen
// waiting for the network stack or a FIFO open is not interrupted (on
// Linux the first do not block; the signal waits for the call's end).
// Context: trap; does not allocate.
func Interruptible(why uint8) bool {
	return why != threadtab.WaitExit && why != threadtab.WaitStack && why != threadtab.WaitOpen
}
