package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
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
		countEvent(c, evKickIPI)
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

// wake ends t's wait with result as its system call's return value.
// Context: trap.
func wake(t sched.TID, result int64) {
	th := &threadtab.Threads[t]
	if tstate(t) != threadBlocked {
		kpanic.Panic("wake of a thread that is not blocked", nil)
	}
	switch th.Wait {
	case threadtab.WaitEpoll:
		epollForgetWaiter(t)
	case threadtab.WaitRead:
		forgetReader(t)
	case threadtab.WaitStack:
		forgetSockWaiter(t)
	}
	th.Wait = threadtab.WaitNone
	th.Regs.AX = uint64(result)
	kick, _ := threadtab.Sched.Wake(t, clock.Nanotime()) // drops its deadline and futex entry
	kickCPU(kick)
}

// expireTimers wakes every thread whose deadline has passed.
// Context: trap (the timer interrupt), kernel lock held; does not
// allocate.
func expireTimers() {
	now := clock.Nanotime()
	for t := threadtab.Sched.Expired(now); t != noThread; t = threadtab.Sched.Expired(now) {
		expire(t)
	}
}

// expire wakes t, whose deadline passed, with its wait's timeout result.
// Context: trap (the timer interrupt, the idle loop), kernel lock held;
// does not allocate.
func expire(t sched.TID) {
	var result int64
	if threadtab.Threads[t].Wait == threadtab.WaitExit {
		shutdown(exitDrainStatus) // the sockets did not drain in time
	}
	if threadtab.Threads[t].Wait == threadtab.WaitStack {
		result = -abi.ETIMEDOUT
		stackTimedOut()
	}
	if threadtab.Threads[t].Wait == threadtab.WaitFutex {
		result = -abi.ETIMEDOUT
	}
	wake(t, result)
}

// setTimer arms t's deadline. If it is now the earliest, this CPU becomes
// the one whose LAPIC timer fires for it. Context: trap, kernel lock held.
func setTimer(t sched.TID, when int64) {
	threadtab.Sched.SetTimer(t, when, percpu.This().ID)
}

// exitThread frees t, the thread running on this CPU (exit(2)). It does
// not touch the running count: reschedule, which runs next, counts t off
// the CPU as it does for a thread that blocked. Context: trap, kernel
// lock held; does not allocate.
func exitThread(t sched.TID) {
	th := &threadtab.Threads[t]
	if th.ClearTID != 0 && vm.UserWrite32(th.ClearTID, 0) {
		futexWake(th.ClearTID, 1)
	}
	if threadtab.Sched.Exit(t) {
		shutdown(0)
	}
}

// reschedule charges the CPU time of c's thread, then carries out the
// scheduler's decisions (sched.Schedule) until one lets it return: go on
// with the same thread or load another's registers into f, kicking the
// CPU it names; wake a thread whose deadline passed; halt until an
// interrupt; or report a deadlock. The simulator in sched/sim_test.go
// runs the same loop. Context: trap, kernel lock held; does not allocate.
func reschedule(c *percpu.CPU, f *x86.TrapFrame) {
	chargeCPU(c, clock.Nanotime())
	for {
		d := threadtab.Sched.Schedule(c.ID, clock.Nanotime())
		kickCPU(d.Kick)
		switch d.Action {
		case sched.Run:
			load(c, f)
			return
		case sched.Expire:
			expire(d.Next)
		case sched.Halt:
			halt(c)
		case sched.Deadlock:
			deadlock()
		}
	}
}

// load puts the running thread's saved context into the frame the trap
// exit restores, delivering a pending signal first, or executing again
// a restartable call that a signal interrupted if no handler ran. Context: trap
// (reschedule), kernel lock held; does not allocate.
func load(c *percpu.CPU, f *x86.TrapFrame) {
	cur := threadtab.Sched.CPUs[c.ID].Cur
	if threadtab.Threads[cur].Pending&^threadtab.Threads[cur].Sigmask != 0 {
		deliverSignal(cur)
	}
	t := &threadtab.Threads[cur]
	if t.Restart { // a signal ended its wait, and no handler ran for it
		t.Restart = false
		callAgain(t)
	}
	*f = t.Regs
	c.CurFX = t.FX
	c.CurFSBase = t.FSBase
	armTimer(c)
}

// halt arms c's timer as the scheduler asks and halts the CPU until an
// interrupt, with the kernel lock released.
// Context: trap, kernel lock held on entry and on return.
func halt(c *percpu.CPU) {
	armTimer(c)
	c.Halts++
	c.Idle.Store(true)
	kernelLock.unlock(c)
	c.HaltStart = clock.Nanotime()
	cpu.Halt()
	c.IdleNs += clock.Nanotime() - c.HaltStart
	c.Idle.Store(false)
	kernelLock.lock(c)
	threadtab.Sched.Woke(c.ID)
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
