package kernel

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/smp"
	"github.com/gometal/gometal/kernel/threadtab"
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

// futexTable is the kernel's handle on threadtab.Sched.Futexes, the keyed wait table
// (futex words, and kernel-only keys for pipes, locks and FIFOs).
type futexTable struct{}

// futexes is the wait table the kernel's waiters queue on.
var futexes futexTable

// Wait queues t on key. Context: trap, kernel lock held; does not allocate.
func (futexTable) Wait(t sched.TID, key uintptr) { threadtab.Sched.Futexes.Wait(t, key) }

// WakeOne dequeues the oldest waiter on key, or returns noThread.
// Context: trap, kernel lock held; does not allocate.
func (futexTable) WakeOne(key uintptr) sched.TID { return threadtab.Sched.Futexes.WakeOne(key) }

// fxDefault is the FXSAVE image of a fresh thread: x87 control word 0x37f
// and MXCSR 0x1f80 (all exceptions masked), as Linux starts a process.
var fxDefault = [32]byte{0: 0x7f, 1: 0x03, 24: 0x80, 25: 0x1f}

// newThread takes a free slot (blocked until makeRunnable) and returns
// it, or noThread. Context: trap; does not allocate.
func newThread() sched.TID {
	i := threadtab.Sched.Alloc()
	if i == noThread {
		return noThread
	}
	t := &threadtab.Threads[i]
	*t = threadtab.Thread{}
	t.FX = (uintptr(ptrOf(&threadtab.FXAreas[i][0])) + 15) &^ 15
	fx := unsafeSlice(t.FX, 512)
	clear(fx)
	copy(fx, fxDefault[:])
	return i
}

// tstate returns t's scheduling state. Context: any; does not allocate.
func tstate(t sched.TID) sched.State { return threadtab.Sched.Threads[t].State }

// makeRunnable queues t where the scheduler says (sched.MakeRunnable) and
// sends the wake IPI it asks for. Context: trap, kernel lock held.
func makeRunnable(t sched.TID) {
	threadtab.Threads[t].Wait = threadtab.WaitNone
	kickCPU(threadtab.Sched.MakeRunnable(t, clock.Nanotime()))
}

// placeThread picks the run queue for a new thread whose parent runs on
// CPU parent (sched.Place). Context: trap, kernel lock held; does not
// allocate.
func placeThread(parent int) int { return threadtab.Sched.Place(parent) }

// kick interrupts CPU o so that it re-runs its scheduler: an idle CPU
// leaves HLT, a busy one enters the kernel (where a pending signal is
// delivered or a queued thread gets its turn). Context: trap.
func kick(o *percpu.CPU) {
	if c := percpu.This(); o != c {
		percpu.Count(c, percpu.EvKickIPI)
		if !clock.LAPIC.SendIPI(o.APICID, x86.VecKick) {
			smp.NotAnswering(o, "kick IPI", 0)
		}
	}
}

// kickCPU acts on a scheduler decision's Kick: a wake IPI to CPU n, or
// nothing for sched.NoKick. Context: trap, kernel lock held.
func kickCPU(n int) {
	if n != sched.NoKick {
		kick(&percpu.CPUs[n])
	}
}

// block takes t off the CPU until wake. Context: trap.
func block(t sched.TID, why uint8) {
	threadtab.Threads[t].Wait = why
	threadtab.Sched.Block(t, deviceWait(why))
}

// blockIn takes t off the CPU until wake, as block does, with t stored
// in slot, the waiter field of what it waits on (a socket, an epoll
// instance, an interrupt descriptor, console input), which must be a
// static variable: t records the slot's address (threadtab.Thread's
// WaitSlot), and the wake that ends the wait, for whatever reason (the
// file's own wake-up, a signal, a timeout), clears the slot if it still
// names t. Context: trap, kernel lock held; does not allocate.
func blockIn(t sched.TID, why uint8, slot *sched.TID) {
	*slot = t
	threadtab.Threads[t].WaitSlot = uintptr(unsafe.Pointer(slot))
	block(t, why)
}

// leaveSlot clears the waiter slot t blocked in (blockIn) if it still
// names t, and the connect wait that used it. Context: trap, kernel lock
// held; does not allocate.
func leaveSlot(t sched.TID) {
	th := &threadtab.Threads[t]
	if th.WaitSlot != 0 {
		if slot := (*sched.TID)(ptr(th.WaitSlot)); *slot == t {
			*slot = noThread
		}
		th.WaitSlot = 0
	}
	th.ConnectWait = false
}

// wake ends t's wait with result as its system call's return value.
// Context: trap.
func wake(t sched.TID, result int64) {
	th := &threadtab.Threads[t]
	if tstate(t) != threadBlocked {
		kpanic.Panic("wake of a thread that is not blocked", nil)
	}
	leaveSlot(t)
	th.Wait = threadtab.WaitNone
	th.Regs.AX = uint64(result)
	kick, _ := threadtab.Sched.Wake(t, clock.Nanotime()) // drops its deadline and futex entry
	kickCPU(kick)
}

// setTimer arms t's deadline. If it is now the earliest, this CPU becomes
// the one whose LAPIC timer fires for it. Context: trap, kernel lock held.
func setTimer(t sched.TID, when int64) {
	threadtab.Sched.SetTimer(t, when, percpu.This().ID)
}

// exitThread frees t, the thread running on this CPU (exit(2)), and
// reports whether it was the program's last (the caller then ends the
// program). It does not touch the running count: reschedule, which runs
// next, counts t off the CPU as it does for a thread that blocked.
// Context: trap, kernel lock held; does not allocate.
func exitThread(t sched.TID) (last bool) {
	th := &threadtab.Threads[t]
	if th.ClearTID != 0 && vm.UserWrite32(th.ClearTID, 0) {
		futexWake(th.ClearTID, 1)
	}
	return threadtab.Sched.Exit(t)
}

// deadlock reports that every thread is blocked with no timer pending.
// Context: trap (the idle loop), kernel lock held; does not allocate;
// never returns (it ends in a kernel panic).
func deadlock() {
	var l klog.Line
	l.S("deadlock: all ").I(int64(threadtab.Sched.Live)).S(" threads are blocked and no timer is pending").Print()
	for i := range threadtab.Threads {
		if tstate(sched.TID(i)) == threadFree {
			continue
		}
		t := &threadtab.Threads[i]
		l = klog.Line{}
		l.S("  thread ").I(threadtab.LinuxTID(sched.TID(i))).S(" state ").U(uint64(tstate(sched.TID(i)))).S(" wait ").U(uint64(t.Wait)).S(" rip ").X(t.Regs.RIP).Print()
	}
	kpanic.Panic("deadlock", nil)
}
