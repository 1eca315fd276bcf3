package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
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

// What a blocked thread waits for: the kernel's reason, which says which
// of its waiter lists to leave on wake (the scheduler only knows
// whether the wait needs a device interrupt, deviceWait).
const (
	waitNone uint8 = iota
	waitFutex
	waitSleep
	waitEpoll
	waitRead  // a read that waits for console input
	waitExit  // exit_group waiting for the sockets to drain (exitdrain.go)
	waitStack // bind or listen waiting for the network stack (socket.go)
	waitOpen  // a FIFO open waiting for the other end (fifo.go)
)

// deviceWait reports whether a wait ends with a device interrupt (console
// input, epoll, which device descriptors make ready, the network stack):
// the deadlock detector counts such a thread as able to go on.
// Context: trap; does not allocate.
func deviceWait(why uint8) bool {
	return why == waitRead || why == waitEpoll || why == waitStack
}

// thread is one of the program's threads (one of the Go runtime's Ms):
// what the kernel keeps of it besides its scheduling state, which is
// sch.Threads[t] (state, CPU, CPU time). Threads are named by their index
// in threads (a sched.TID); the Linux TID is index+1, so the first thread
// is both TID and PID 1.
type thread struct {
	regs   TrapFrame // user registers while not on a CPU
	fsBase uintptr
	fx     uintptr // 16-byte aligned FXSAVE area in fxAreas
	wait   uint8   // what it waits for while blocked

	sigmask     uint64
	altStack    [3]uint64 // sigaltstack: sp, flags, size
	restartNr   uint64    // the system call to re-execute after a waitRead
	connectWait bool      // blocked in connect on a blocking socket (socket.go)
	clearTID    uintptr   // CLONE_CHILD_CLEARTID address

	// A pending epoll_pwait: where its results go.
	epoll  int
	evAddr uintptr
	evMax  int

	// Signals waiting for delivery, and the siginfo fields of each.
	pending uint64
	sigCode [nsig + 1]int32
	sigF0   [nsig + 1]uint64
	sigF1   [nsig + 1]uint64
	// The trap behind a pending fault signal (for sigcontext).
	faultErr, faultTrap, faultCR2 uint64
}

const noThread = sched.None

var (
	threads [sched.MaxThreads]thread
	fxAreas [sched.MaxThreads][512 + 16]byte
	// sch is the scheduler: thread and CPU states, run queues, timers,
	// futexes, CPU time (package sched). The kernel lock guards it.
	sch sched.Scheduler
)

// futexTable is the kernel's handle on sch.Futexes, the keyed wait table
// (futex words, and kernel-only keys for pipes, locks and FIFOs).
type futexTable struct{}

// futexes is the wait table the kernel's waiters queue on.
var futexes futexTable

// Wait queues t on key. Context: trap, kernel lock held; does not allocate.
func (futexTable) Wait(t sched.TID, key uintptr) { sch.Futexes.Wait(t, key) }

// WakeOne dequeues the oldest waiter on key, or returns noThread.
// Context: trap, kernel lock held; does not allocate.
func (futexTable) WakeOne(key uintptr) sched.TID { return sch.Futexes.WakeOne(key) }

// fxDefault is the FXSAVE image of a fresh thread: x87 control word 0x37f
// and MXCSR 0x1f80 (all exceptions masked), as Linux starts a process.
var fxDefault = [32]byte{0: 0x7f, 1: 0x03, 24: 0x80, 25: 0x1f}

// newThread takes a free slot (blocked until makeRunnable) and returns
// it, or noThread. Context: trap; does not allocate.
func newThread() sched.TID {
	i := sch.Alloc()
	if i == noThread {
		return noThread
	}
	t := &threads[i]
	*t = thread{}
	t.fx = (uintptr(ptrOf(&fxAreas[i][0])) + 15) &^ 15
	fx := unsafeSlice(t.fx, 512)
	clear(fx)
	copy(fx, fxDefault[:])
	return i
}

// linuxTID returns the Linux thread id of t.
func linuxTID(t sched.TID) int64 { return int64(t) + 1 }

// tstate returns t's scheduling state. Context: any; does not allocate.
func tstate(t sched.TID) sched.State { return sch.Threads[t].State }

// makeRunnable queues t where the scheduler says (sched.MakeRunnable) and
// sends the wake IPI it asks for. Context: trap, kernel lock held.
func makeRunnable(t sched.TID) {
	threads[t].wait = waitNone
	kickCPU(sch.MakeRunnable(t, nanotime()))
}

// placeThread picks the run queue for a new thread whose parent runs on
// CPU parent (sched.Place). Context: trap, kernel lock held; does not
// allocate.
func placeThread(parent int) int { return sch.Place(parent) }

// kick interrupts CPU o so that it re-runs its scheduler: an idle CPU
// leaves HLT, a busy one enters the kernel (where a pending signal is
// delivered or a queued thread gets its turn). Context: trap.
func kick(o *percpu.CPU) {
	if o != percpu.This() {
		if !localAPIC.SendIPI(o.APICID, x86.VecKick) {
			cpuNotAnswering(o, "kick IPI", 0)
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
	threads[t].wait = why
	sch.Block(t, deviceWait(why))
}

// wake ends t's wait with result as its system call's return value.
// Context: trap.
func wake(t sched.TID, result int64) {
	th := &threads[t]
	if tstate(t) != threadBlocked {
		kernelPanic("wake of a thread that is not blocked", nil)
	}
	switch th.wait {
	case waitEpoll:
		epollForgetWaiter(t)
	case waitRead:
		forgetReader(t)
	case waitStack:
		forgetSockWaiter(t)
	}
	th.wait = waitNone
	th.regs.AX = uint64(result)
	kick, _ := sch.Wake(t, nanotime()) // drops its deadline and futex entry
	kickCPU(kick)
}

// expireTimers wakes every thread whose deadline has passed.
// Context: trap (the timer interrupt), kernel lock held; does not
// allocate.
func expireTimers() {
	now := nanotime()
	for t := sch.Expired(now); t != noThread; t = sch.Expired(now) {
		expire(t)
	}
}

// expire wakes t, whose deadline passed, with its wait's timeout result.
// Context: trap (the timer interrupt, the idle loop), kernel lock held;
// does not allocate.
func expire(t sched.TID) {
	var result int64
	if threads[t].wait == waitExit {
		shutdown(exitDrainStatus) // the sockets did not drain in time
	}
	if threads[t].wait == waitStack {
		result = -abi.ETIMEDOUT
		stackTimedOut()
	}
	if threads[t].wait == waitFutex {
		result = -abi.ETIMEDOUT
	}
	wake(t, result)
}

// setTimer arms t's deadline. If it is now the earliest, this CPU becomes
// the one whose LAPIC timer fires for it. Context: trap, kernel lock held.
func setTimer(t sched.TID, when int64) {
	sch.SetTimer(t, when, percpu.This().ID)
}

// exitThread frees t, the thread running on this CPU (exit(2)). It does
// not touch the running count: reschedule, which runs next, counts t off
// the CPU as it does for a thread that blocked. Context: trap, kernel
// lock held; does not allocate.
func exitThread(t sched.TID) {
	th := &threads[t]
	if th.clearTID != 0 && userWrite32(th.clearTID, 0) {
		futexWake(th.clearTID, 1)
	}
	if sch.Exit(t) {
		shutdown(0)
	}
}

// reschedule charges the CPU time of c's thread, then carries out the
// scheduler's decisions (sched.Schedule) until one lets it return: go on
// with the same thread or load another's registers into f, kicking the
// CPU it names; wake a thread whose deadline passed; halt until an
// interrupt; or report a deadlock. The simulator in sched/sim_test.go
// runs the same loop. Context: trap, kernel lock held; does not allocate.
func reschedule(c *percpu.CPU, f *TrapFrame) {
	chargeCPU(c, nanotime())
	for {
		d := sch.Schedule(c.ID, nanotime())
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
// exit restores, delivering a pending signal first. Context: trap
// (reschedule), kernel lock held; does not allocate.
func load(c *percpu.CPU, f *TrapFrame) {
	cur := sch.CPUs[c.ID].Cur
	if threads[cur].pending&^threads[cur].sigmask != 0 {
		deliverSignal(cur)
	}
	t := &threads[cur]
	*f = t.regs
	c.CurFX = t.fx
	c.CurFSBase = t.fsBase
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
	c.HaltStart = nanotime()
	cpu.Halt()
	c.IdleNs += nanotime() - c.HaltStart
	c.Idle.Store(false)
	kernelLock.lock(c)
	sch.Woke(c.ID)
}

// deadlock reports that every thread is blocked with no timer pending.
// Context: trap (the idle loop), kernel lock held; does not allocate;
// never returns (it ends in a kernel panic).
func deadlock() {
	var l klog.Line
	l.S("deadlock: all ").I(int64(sch.Live)).S(" threads are blocked and no timer is pending").Print()
	for i := range threads {
		if tstate(sched.TID(i)) == threadFree {
			continue
		}
		t := &threads[i]
		l = klog.Line{}
		l.S("  thread ").I(linuxTID(sched.TID(i))).S(" state ").U(uint64(tstate(sched.TID(i)))).S(" wait ").U(uint64(t.wait)).S(" rip ").X(t.regs.RIP).Print()
	}
	kernelPanic("deadlock", nil)
}
