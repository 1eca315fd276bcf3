// Package thread is the code that acts on the program's threads (the Go
// runtime's Ms) and their signals: creating, blocking and waking threads,
// futexes, sleeps and kick IPIs; sending signals, delivering them on a
// signal frame and returning from it; the CPU-time timers; and the
// system calls of all these (clone, futex, nanosleep, kill, tgkill,
// rt_sigaction, sigaltstack, timer_create, setitimer, ...). The threads'
// data is kernel/threadtab's, the scheduling policy package sched's.
//
// It sits below package kernel and calls nothing above it (trap context
// has no callbacks): what a thread's wait, exit or signal means to the
// layers above, it records or reports, and they act. A thread blocked on
// a file or socket is stored in that object's waiter field through
// BlockIn, which keeps the field's address, so Wake clears it without
// knowing the file code; Exit reports the last thread, and package kernel
// ends the program; DeliverSignal returns a Delivery (a signal that
// kills, a SIGURG's interrupted stack) and RaiseFault and RtSigreturn
// report a fault the program cannot survive, for package kernel to end
// it; the scheduler's loop, whose timer deadline includes the goroutine
// time slice, and the kernel lock's spin stay in package kernel
// (kernel/resched.go, docs/kernel-layout.md).
package thread

import (
	"math/bits"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
)

// Thread states (sched.State).
const (
	threadFree     = sched.Free
	threadRunnable = sched.Runnable
	threadRunning  = sched.Running
	threadBlocked  = sched.Blocked
)

// deviceWait reports whether a wait ends with a device interrupt (console
// input, epoll, which device descriptors make ready, the network stack):
// the deadlock detector counts such a thread as able to go on.
// Context: trap; does not allocate.
func deviceWait(why uint8) bool {
	return why == threadtab.WaitRead || why == threadtab.WaitEpoll || why == threadtab.WaitStack
}

const noThread = sched.None

// Blocked is returned by a system call whose thread now waits; its
// result is set when it wakes (Wake).
const Blocked = int64(1) << 62

// FutexTable is the kernel's handle on threadtab.Sched.Futexes, the keyed wait table
// (futex words, and kernel-only keys for pipes, locks and FIFOs).
type FutexTable struct{}

// Futexes is the wait table the kernel's waiters queue on.
var Futexes FutexTable

// Wait queues t on key. Context: trap, kernel lock held; does not allocate.
func (FutexTable) Wait(t sched.TID, key uintptr) { threadtab.Sched.Futexes.Wait(t, key) }

// WakeOne dequeues the oldest waiter on key, or returns noThread. A
// napping FUTEX_WAIT (kernel/fastfutex.go) is woken here, its CPU kicked,
// and the next waiter taken: only a futex word, never a kernel key, has
// napping waiters, and only futexWake counts them.
// Context: trap, kernel lock held; does not allocate.
func (FutexTable) WakeOne(key uintptr) sched.TID {
	for {
		t, w := threadtab.Sched.Futexes.WakeOne(key)
		if w == sched.WokeBlocked {
			return t
		}
		wokeNapper(t, w)
	}
}

// wokeNapper finishes the wake of t, a napping FUTEX_WAIT that
// sched.Futexes.WakeOne just ended (w says how): a napper that halted
// gets a wake IPI once the kernel lock is released; one that polls sees
// the wake by itself. Its call returns 0. Context: trap, kernel lock
// held; does not allocate.
func wokeNapper(t sched.TID, w sched.Woken) {
	c := percpu.This()
	percpu.Count(c, percpu.EvFutexNapWake)
	if w == sched.WokeNapper {
		Kick(&percpu.CPUs[threadtab.Sched.Threads[t].CPU])
	}
}

// fxDefault is the FXSAVE image of a fresh thread: x87 control word 0x37f
// and MXCSR 0x1f80 (all exceptions masked), as Linux starts a process.
var fxDefault = [32]byte{0: 0x7f, 1: 0x03, 24: 0x80, 25: 0x1f}

// New takes a free slot (blocked until MakeRunnable) and returns
// it, or noThread. Context: trap; does not allocate.
func New() sched.TID {
	i := threadtab.Sched.Alloc()
	if i == noThread {
		return noThread
	}
	t := &threadtab.Threads[i]
	*t = threadtab.Thread{}
	t.FX = (uintptr(ptrOf(&threadtab.FXAreas[0]))+15)&^15 + uintptr(i)*threadtab.FXSize
	fx := unsafeSlice(t.FX, threadtab.FXSize)
	clear(fx)
	copy(fx, fxDefault[:])
	return i
}

// State returns t's scheduling state. Context: any; does not allocate.
func State(t sched.TID) sched.State { return threadtab.Sched.Threads[t].State }

// MakeRunnable queues t where the scheduler says (sched.MakeRunnable) and
// sends the wake IPI it asks for. Context: trap, kernel lock held.
func MakeRunnable(t sched.TID) {
	threadtab.Threads[t].Wait = threadtab.WaitNone
	KickCPU(threadtab.Sched.MakeRunnable(t, clock.Nanotime()))
}

// place picks the run queue for a new thread whose parent runs on
// CPU parent (sched.Place). Context: trap, kernel lock held; does not
// allocate.
func place(parent int) int { return threadtab.Sched.Place(parent) }

// Kick interrupts CPU o so that it re-runs its scheduler: an idle CPU
// leaves HLT, a busy one enters the kernel (where a pending signal is
// delivered or a queued thread gets its turn). The IPI goes out once this
// CPU has released the kernel lock (SendKicks): o needs that lock to act
// on it anyway. Context: trap, kernel lock held, or this CPU's run-queue
// lock (HandOffExpired: its releaser sends them); does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func Kick(o *percpu.CPU) {
	if c := percpu.This(); o != c {
		c.KickMask |= 1 << uint(o.ID)
	}
}

// SendKicks sends the wake IPIs that Kick left in c.KickMask.
// Context: trap or boot, kernel lock (or c's run-queue lock: the
// kernel's fastInterrupt; or the files lock, after an epoll_wait's
// hand-off: fileTrap, deviceTrap) just released by c, interrupts off;
// does not allocate.
func SendKicks(c *percpu.CPU) {
	for m := c.KickMask; m != 0; m &= m - 1 {
		sendKick(c, &percpu.CPUs[bits.TrailingZeros64(m)])
	}
	c.KickMask = 0
}

// sendKick sends a wake IPI from c to o now, counted with its time.
// Context: trap or boot, kernel lock not held by c, interrupts off; does
// not allocate.
func sendKick(c, o *percpu.CPU) {
	percpu.Count(c, percpu.EvKickIPI)
	t0 := cpu.Rdtsc()
	ok := clock.LAPIC.SendIPI(o.APICID, x86.VecKick)
	percpu.Events[c.ID][percpu.EvKickCycles] += cpu.Rdtsc() - t0
	if !ok {
		tlb.NotAnswering(o, "kick IPI", 0, "")
	}
}

// KickCPU acts on a scheduler decision's Kick: a wake IPI to CPU n, or
// nothing for sched.NoKick. Context: trap, kernel lock held.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func KickCPU(n int) {
	if n != sched.NoKick {
		Kick(&percpu.CPUs[n])
	}
}

// Block takes t off the CPU until Wake. Not inlined: it is called from
// a dozen places, half of them through BlockIn (the image's size, issue
// 16). Context: trap.
//
//go:noinline
func Block(t sched.TID, why uint8) {
	threadtab.Threads[t].Wait = why
	threadtab.Sched.Block(t, deviceWait(why))
}

// BlockIn takes t off the CPU until Wake, as Block does, with t stored
// in slot, the waiter field of what it waits on (a socket, an epoll
// instance, an interrupt descriptor, console input), which must be a
// static variable: t records the slot's address (threadtab.Thread's
// WaitSlot), and the wake that ends the wait, for whatever reason (the
// file's own wake-up, a signal, a timeout), clears the slot if it still
// names t. Context: trap, kernel lock held; does not allocate.
//
// Not inlined: the image is smaller with one copy (issue 16's budget).
//
//go:noinline
func BlockIn(t sched.TID, why uint8, slot *sched.TID) {
	*slot = t
	threadtab.Threads[t].WaitSlot = addrOf(slot)
	Block(t, why)
}

// WaitIn records, for t, the running thread on this CPU that is about
// to block under its run-queue lock without the kernel lock (an
// epoll_wait: package kernel's epollBlock), what it waits for and slot,
// the waiter field that already names it (a static variable, as for
// BlockIn), which the wake that ends the wait clears (leaveSlot). The
// scheduler's side of the block is the caller's
// (sched.Scheduler.DeviceWaitHere).
// Context: trap, this CPU's run-queue lock held; does not allocate.
func WaitIn(t sched.TID, why uint8, slot *sched.TID) {
	th := &threadtab.Threads[t]
	th.Wait = why
	th.WaitSlot = addrOf(slot)
}

// leaveSlot clears the waiter slot t blocked in (BlockIn, WaitIn) if it
// still names t, and the connect wait that used it. Context: trap,
// kernel lock held, or the run-queue lock of the CPU that ends t's futex
// wait or sleep (EndWait: neither has a slot) or whose heap holds the
// deadline of t's epoll_wait, which has passed; an epoll_wait's slot
// under the interest lists' lock too (LeaveEpollSlot, first: a file
// call's hand-off clears it under that lock, and another thread names
// itself there only while it names nobody, fdcalls.nameWaiter); does
// not allocate.
func leaveSlot(t sched.TID) {
	th := &threadtab.Threads[t]
	if th.WaitSlot != 0 {
		if slot := (*sched.TID)(ptr(th.WaitSlot)); *slot == t {
			atomic.StoreInt32((*int32)(slot), int32(noThread)) // a socket's tellProgram loads it beside
		}
		th.WaitSlot = 0
	}
	th.ConnectWait = false
}

// Wake ends t's wait with result as its system call's return value, and
// reports whether it did: a thread that a lock-free FUTEX_WAKE took off
// its futex chain, or a file call handed off from an epoll_wait, whose
// slot is cleared first (LeaveEpollSlot), is left alone (its wait is
// over, and WakeHandedOff wakes it with 0, or an epoll_wait's count:
// sched/handoff.go). Context: trap.
func Wake(t sched.TID, result int64) bool {
	if State(t) != threadBlocked {
		kpanic.Panic("wake of a thread that is not blocked", nil)
	}
	if threadtab.Threads[t].Wait == threadtab.WaitEpoll {
		LeaveEpollSlot(t) // before the scheduler's look at the hand-off mark
	}
	kick, woke := threadtab.Sched.Wake(t, clock.Nanotime()) // drops its deadline and futex entry
	if !woke {
		return false
	}
	EndWait(t, result)
	KickCPU(kick)
	return true
}

// EndWait ends, on the thread table's side, the wait of t, which the
// scheduler has made runnable (Wake), or which a lock-free path took
// off what it waited on (a FUTEX_WAKE's waiter, a sleep or an
// epoll_wait whose deadline passed): its call returns result, and its
// waiter slot (leaveSlot), wait kind and a sleep's rem are forgotten.
// Context: trap, kernel lock held, or the run-queue lock under which t
// was taken off its futex chain, inbox or timer heap, or from its epoll
// waiter slot (package kernel's wakeOntoBusy, under the run-queue lock
// of t's CPU too) (no other CPU touches it then; leaveSlot says why its
// epoll waiter slot may be cleared there); does not allocate.
func EndWait(t sched.TID, result int64) {
	leaveSlot(t)
	th := &threadtab.Threads[t]
	th.Wait = threadtab.WaitNone
	th.SleepRem = 0
	th.Regs.AX = uint64(result)
}

// EndHandedOffWait ends the wait of t, taken from a CPU's hand-off
// inbox: a FUTEX_WAKE's waiter returns 0 (EndWait), an epoll_wait's
// waiter that a file call handed there the count of events it collected
// (threadtab.Thread.EvResult: package fdcalls' handOffWaiter), but a
// thread whose deadline passed was handed there with its wait ended
// already, its result set (HandOffExpired,
// sched.Scheduler.HandOffExpired: a nanosleep's or an epoll_wait's 0, a
// FUTEX_WAIT's ETIMEDOUT), and keeps it.
// Context: trap, kernel lock held, or the run-queue lock of the inbox's
// CPU (runInbox); does not allocate.
func EndHandedOffWait(t sched.TID) {
	switch th := &threadtab.Threads[t]; th.Wait {
	case threadtab.WaitNone:
	case threadtab.WaitEpoll:
		EndWait(t, th.EvResult) // a file call's hand-off collected its events (package fdcalls' handOffWaiter)
	default:
		EndWait(t, 0)
	}
}

// LeaveEpollSlot clears the waiter slot of t, blocked in an epoll_wait,
// if it still names t, under the interest lists' lock (fdtab.EpollHeld),
// before a wake that ends the wait another way (Wake: a signal's, the
// timeout's on the kernel lock's path; package kernel's expireSleepers)
// looks at whether a file call beside handed t off (package fdcalls'
// handOffWaiter, which marks t and clears the slot in one hold of that
// lock): after it, no such call finds t; before it, the mark is set
// (sched.Futexes.HandedOff) and the wake leaves t to its inbox.
// It returns the slot's address if it cleared it, else 0
// (ReturnEpollSlot).
// Context: trap, kernel lock held, or the run-queue lock of the CPU whose
// heap holds t's timeout; does not allocate.
func LeaveEpollSlot(t sched.TID) (slot uintptr) {
	spin.LockWord(&fdtab.EpollHeld)
	th := &threadtab.Threads[t]
	if th.WaitSlot != 0 && *(*sched.TID)(ptr(th.WaitSlot)) == t {
		slot = th.WaitSlot
	}
	leaveSlot(t)
	spin.UnlockWord(&fdtab.EpollHeld)
	return slot
}

// ReturnEpollSlot names t, still blocked in an epoll_wait, the waiter of
// slot (LeaveEpollSlot's answer) again, if no other thread named itself
// there meanwhile: a timeout that its CPU's run-queue lock could not end
// after all (package kernel's expireSleepers: the kernel lock's expiry
// ends it soon) leaves the events that come before that to wake it, as
// they did, rather than to wait for the next call. Nothing for slot 0.
// Context: trap, the run-queue lock of the CPU whose heap holds t's
// timeout, which keeps t blocked; does not allocate.
func ReturnEpollSlot(t sched.TID, slot uintptr) {
	if slot == 0 {
		return
	}
	spin.LockWord(&fdtab.EpollHeld)
	if atomic.CompareAndSwapInt32((*int32)(ptr(slot)), int32(noThread), int32(t)) {
		threadtab.Threads[t].WaitSlot = slot
	}
	spin.UnlockWord(&fdtab.EpollHeld)
}

// SetTimer arms t's deadline in this CPU's timer heap, for whose
// earliest this CPU's LAPIC timer fires (sched.Timers).
// Context: trap, kernel lock held.
func SetTimer(t sched.TID, when int64) {
	threadtab.Sched.SetTimer(t, when, percpu.This().ID)
}

// Exit frees t, the thread running on this CPU (exit(2)), and
// reports whether it was the program's last (the caller then ends the
// program). It does not touch the running count: reschedule, which runs
// next, counts t off the CPU as it does for a thread that blocked.
// Context: trap, kernel lock held; does not allocate.
func Exit(t sched.TID) (last bool) {
	th := &threadtab.Threads[t]
	if th.ClearTID != 0 && vm.UserWrite32(th.ClearTID, 0) {
		futexWake(th.ClearTID, 1)
	}
	return threadtab.Sched.Exit(t)
}

// Deadlock reports that every thread is blocked with no timer pending.
// Context: trap (the idle loop), kernel lock held; does not allocate;
// never returns (it ends in a kernel panic).
func Deadlock() {
	var l klog.Line
	l.S("deadlock: all ").I(int64(threadtab.Sched.Live)).S(" threads are blocked and no timer is pending").Print()
	for i := range threadtab.Threads {
		if State(sched.TID(i)) == threadFree {
			continue
		}
		t := &threadtab.Threads[i]
		l.Reset()
		l.S("  thread ").I(threadtab.LinuxTID(sched.TID(i))).S(" state ").U(uint64(State(sched.TID(i)))).S(" wait ").U(uint64(t.Wait)).S(" rip ").X(t.Regs.RIP).Print()
	}
	kpanic.Panic("deadlock", nil)
}

// Restart wakes t so that it executes its system call again (CallAgain):
// used for reads that had to wait for data.
// Context: trap, kernel lock held; does not allocate.
func Restart(t sched.TID) {
	th := &threadtab.Threads[t]
	if Wake(t, int64(th.RestartNr)) { // not a handed-off FUTEX_WAIT, which returns 0
		CallAgain(th)
	}
}
