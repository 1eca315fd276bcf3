package kernel

import (
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/sched"
)

// Thread states.
const (
	threadFree uint8 = iota
	threadRunnable
	threadRunning
	threadBlocked
)

// What a blocked thread waits for.
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

// thread is one of the program's threads (one of the Go runtime's Ms).
// Threads are named by their index in threads (a sched.TID); the Linux TID
// is index+1, so the first thread is both TID and PID 1.
type thread struct {
	regs   TrapFrame // user registers while not on a CPU
	fsBase uintptr
	fx     uintptr // 16-byte aligned FXSAVE area in fxAreas
	state  uint8
	wait   uint8

	sigmask     uint64
	altStack    [3]uint64 // sigaltstack: sp, flags, size
	cpu         int       // the CPU it last ran on (its run queue)
	restartNr   uint64    // the system call to re-execute after a waitRead
	connectWait bool      // blocked in connect on a blocking socket (socket.go)
	clearTID    uintptr   // CLONE_CHILD_CLEARTID address

	// A pending epoll_pwait: where its results go.
	epoll   int
	evAddr  uintptr
	evMax   int
	cpuTime int64 // ns spent running, for CLOCK_THREAD_CPUTIME_ID
	lastRun int64
	queued  int64 // when it last joined a run queue

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
	threads    [sched.MaxThreads]thread
	fxAreas    [sched.MaxThreads][512 + 16]byte
	timers     sched.Timers
	futexes    sched.Futexes
	nlive      int
	nrunning   int // threads on a CPU right now
	timerOwner int // the CPU whose LAPIC timer is armed for timers.Next
)

// fxDefault is the FXSAVE image of a fresh thread: x87 control word 0x37f
// and MXCSR 0x1f80 (all exceptions masked), as Linux starts a process.
var fxDefault = [32]byte{0: 0x7f, 1: 0x03, 24: 0x80, 25: 0x1f}

// newThread takes a free slot and returns it, or noThread.
// Context: trap; does not allocate.
func newThread() sched.TID {
	for i := range threads {
		t := &threads[i]
		if t.state != threadFree {
			continue
		}
		*t = thread{}
		t.fx = (uintptr(ptrOf(&fxAreas[i][0])) + 15) &^ 15
		fx := unsafeSlice(t.fx, 512)
		clear(fx)
		copy(fx, fxDefault[:])
		nlive++
		return sched.TID(i)
	}
	return noThread
}

// linuxTID returns the Linux thread id of t.
func linuxTID(t sched.TID) int64 { return int64(t) + 1 }

// makeRunnable queues t on the run queue of the CPU it last ran on, and
// makes sure some CPU will pick it up soon: that CPU, if it is idle, or
// else an idle CPU that will steal it, or else (every CPU busy) the home
// CPU's time-slice timer, which a tickless CPU running one thread has
// turned off. Context: trap, kernel lock held.
func makeRunnable(t sched.TID) {
	th := &threads[t]
	th.state = threadRunnable
	th.wait = waitNone
	th.queued = nanotime()
	home := &cpus[th.cpu]
	if !home.runq.Push(t) {
		kernelPanic("run queue overflow", nil)
	}
	if home.idle.Load() {
		kick(home)
		return
	}
	for i := 0; i < onlineCPUs; i++ {
		if cpus[i].idle.Load() {
			kick(&cpus[i])
			return
		}
	}
	if end := home.sliceStart + timeSliceNs; home.cur != noThread && (home.armed == 0 || home.armed > end) {
		kick(home) // it re-arms its timer on the way back to its thread
	}
}

// placeThread picks the run queue for a new thread whose parent runs on
// CPU parent: an idle CPU if there is one, else the least loaded (queued
// threads plus the running one), the parent's CPU losing ties. New threads
// used to all start on CPU 0's queue (a fresh slot's cpu is 0), which left
// the other CPUs to steal them one at a time.
// Context: trap, kernel lock held; does not allocate.
func placeThread(parent int) int {
	best, bestLoad := parent, cpuLoad(parent)
	for i := 0; i < onlineCPUs; i++ {
		if cpus[i].idle.Load() && cpus[i].runq.Len() == 0 {
			return i
		}
		if l := cpuLoad(i); l < bestLoad {
			best, bestLoad = i, l
		}
	}
	return best
}

// cpuLoad is how many threads CPU i has: queued, and the one it runs.
// Context: trap, kernel lock held; does not allocate.
func cpuLoad(i int) int {
	n := cpus[i].runq.Len()
	if cpus[i].cur != noThread {
		n++
	}
	return n
}

// kick interrupts CPU o so that it re-runs its scheduler: an idle CPU
// leaves HLT, a busy one enters the kernel (where a pending signal is
// delivered or a queued thread gets its turn). Context: trap.
func kick(o *percpu) {
	if o != thisCPU() {
		if !localAPIC.SendIPI(o.apicID, vecKick) {
			cpuNotAnswering(o, "kick IPI", 0)
		}
	}
}

// popRunnable takes the next thread for c: from its own queue, else stolen
// from the longest queue of another CPU. Context: trap, kernel lock held.
func popRunnable(c *percpu) sched.TID {
	if t := c.runq.Pop(); t != noThread {
		return t
	}
	var victim *percpu
	for i := 0; i < onlineCPUs; i++ {
		o := &cpus[i]
		if o != c && o.runq.Len() > 0 && (victim == nil || o.runq.Len() > victim.runq.Len()) {
			victim = o
		}
	}
	if victim == nil {
		return noThread
	}
	return victim.runq.Pop()
}

// block takes t off the CPU until wake. Context: trap.
func block(t sched.TID, why uint8) {
	threads[t].state = threadBlocked
	threads[t].wait = why
}

// wake ends t's wait with result as its system call's return value.
// Context: trap.
func wake(t sched.TID, result int64) {
	th := &threads[t]
	if th.state != threadBlocked {
		kernelPanic("wake of a thread that is not blocked", nil)
	}
	timers.Cancel(t)
	if th.wait == waitFutex || th.wait == waitOpen {
		futexes.Remove(t)
	}
	if th.wait == waitEpoll {
		epollForgetWaiter(t)
	}
	if th.wait == waitRead {
		forgetReader(t)
	}
	if th.wait == waitStack {
		forgetSockWaiter(t)
	}
	th.regs.AX = uint64(result)
	makeRunnable(t)
}

// expireTimers wakes every thread whose deadline has passed.
// Context: trap (the timer interrupt, the idle loop), kernel lock held;
// does not allocate.
func expireTimers() {
	now := nanotime()
	for t := timers.PopExpired(now); t != noThread; t = timers.PopExpired(now) {
		var result int64
		if threads[t].wait == waitExit {
			shutdown(exitDrainStatus) // the sockets did not drain in time
		}
		if threads[t].wait == waitStack {
			result = -_ETIMEDOUT
			stackTimedOut()
		}
		if threads[t].wait == waitFutex {
			result = -_ETIMEDOUT
		}
		wake(t, result)
	}
}

// setTimer arms t's deadline. If it is now the earliest, this CPU becomes
// the one whose LAPIC timer fires for it. Context: trap, kernel lock held.
func setTimer(t sched.TID, when int64) {
	if _, first := timers.Next(); first == 0 || when < first {
		timerOwner = thisCPU().id
	}
	timers.Set(t, when)
}

// exitThread frees t, the thread running on this CPU (exit(2)). It does
// not touch nrunning: reschedule, which runs next, counts t off the CPU
// as it does for a thread that blocked. Context: trap, kernel lock held;
// does not allocate.
func exitThread(t sched.TID) {
	th := &threads[t]
	if th.clearTID != 0 && userWrite32(th.clearTID, 0) {
		futexWake(th.clearTID, 1)
	}
	timers.Cancel(t)
	futexes.Remove(t)
	deleteThreadTimers(t)
	cpus[th.cpu].runq.Remove(t)
	th.state = threadFree
	nlive--
	if nlive == 0 {
		shutdown(0)
	}
}

// reschedule picks the thread to run next on c (the current one if it may
// go on) and loads its registers into f. Context: trap, kernel lock held;
// does not allocate.
func reschedule(c *percpu, f *TrapFrame) {
	now := nanotime()
	if c.cur != noThread {
		chargeCPU(c, now)
		if threads[c.cur].state == threadRunning {
			if !c.resched || c.runq.Len() == 0 {
				c.resched = false
				load(c, f)
				return
			}
			nrunning--
			makeRunnable(c.cur)
		} else {
			nrunning-- // it blocked or exited
		}
	}
	c.resched = false
	next := popRunnable(c)
	for next == noThread {
		c.cur = noThread
		idle(c)
		next = popRunnable(c)
	}
	nt := &threads[next]
	nt.state = threadRunning
	nt.cpu = c.id
	nt.lastRun = nanotime()
	c.maxWaitNs = max(c.maxWaitNs, nt.lastRun-nt.queued)
	nrunning++
	c.cur = next
	c.sliceStart = nt.lastRun
	load(c, f)
}

// load puts c.cur's saved context into the frame the trap exit restores,
// delivering a pending signal first. Context: trap (reschedule), kernel
// lock held; does not allocate.
func load(c *percpu, f *TrapFrame) {
	if threads[c.cur].pending&^threads[c.cur].sigmask != 0 {
		deliverSignal(c.cur)
	}
	t := &threads[c.cur]
	*f = t.regs
	c.curFX = t.fx
	c.curFSBase = t.fsBase
	armTimer(c)
}

// idle halts the CPU until a timer or an interrupt makes a thread
// runnable. It releases the kernel lock while halted. With no thread
// running anywhere, none queued and no timer pending, nothing can ever wake
// a thread: it reports the deadlock instead of hanging silently.
// Context: trap, kernel lock held on entry and on return.
func idle(c *percpu) {
	for c.runq.Len() == 0 {
		expireTimers()
		if next := popRunnable(c); next != noThread {
			c.runq.Push(next) // stolen: run it
			break
		}
		if timers.Len() == 0 && nrunning == 0 && nArmed == 0 && !waitingForDevice() {
			deadlock()
		}
		if timers.Len() > 0 && !cpus[timerOwner].idle.Load() {
			timerOwner = c.id // spare the busy owner the interrupts
		}
		armTimer(c)
		c.halts++
		c.idle.Store(true)
		kernelLock.unlock(c)
		c.haltStart = nanotime()
		cpu.Halt()
		c.idleNs += nanotime() - c.haltStart
		c.idle.Store(false)
		kernelLock.lock(c)
		c.armed = 0 // the one-shot timer has fired or will be re-armed
	}
}

// waitingForDevice reports whether some thread waits for an interrupt
// (console input, or epoll, which device descriptors make ready, or a
// console port's transmit slots). Context: trap (the idle loop), kernel
// lock held; does not allocate.
func waitingForDevice() bool {
	for i := range threads {
		if threads[i].state == threadBlocked && (threads[i].wait == waitRead || threads[i].wait == waitEpoll || threads[i].wait == waitStack) {
			return true
		}
		if threads[i].state == threadBlocked && threads[i].wait == waitFutex && vconTxPending() {
			return true
		}
	}
	return false
}

// deadlock reports that every thread is blocked with no timer pending.
// Context: trap (the idle loop), kernel lock held; does not allocate;
// never returns (it ends in a kernel panic).
func deadlock() {
	var l logLine
	l.s("deadlock: all ").i(int64(nlive)).s(" threads are blocked and no timer is pending").print()
	for i := range threads {
		t := &threads[i]
		if t.state == threadFree {
			continue
		}
		l = logLine{}
		l.s("  thread ").i(linuxTID(sched.TID(i))).s(" state ").u(uint64(t.state)).s(" wait ").u(uint64(t.wait)).s(" rip ").x(t.regs.RIP).print()
	}
	kernelPanic("deadlock", nil)
}
