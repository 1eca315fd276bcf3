package klock

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/tlb"
)

// Run-queue locks (issue 18). Each CPU has one, which guards its run
// queue and its running thread (sched.CPU: Cur, RunQ, Armed, SliceStart,
// Resched) against the kernel lock's holders, so that the CPU can switch
// to a thread in its own queue, or queue a woken thread there, without
// the kernel lock (kernel/fastswitch.go, sched/local.go). CPU c takes
// run-queue lock c, and another CPU that holds its own takes lock c too,
// to steal a thread from c's queue (TryLockOtherRunQueue): each take is
// one compare-and-swap, which fails while the other holds it, so neither
// ever waits for the other. The kernel lock's holder holds every run-queue
// lock: Kernel.Lock, once it has the kernel lock, waits until no CPU
// holds its run-queue lock (waitRunQueues), and a CPU takes its own only
// while the kernel lock is free (TryLockRunQueue). So the code under the
// kernel lock is unchanged: it still sees the whole scheduler still. Two
// CPUs under their run-queue locks run at once; each changes only its
// own CPU's state, the threads in its own queue (and, under another
// CPU's lock too, the thread it steals from that CPU's queue, or a
// sleeper whose deadline passed, a FUTEX_WAKE's waiter or its own
// preempted thread that it queues on a napping CPU), its
// running thread, the futex waiter it takes off a chain under the bucket
// lock, the thread it takes from its own hand-off inbox (or pushes into
// another's, lock-free) and its own timer heap's sleepers, and adds to
// the process's CPU time and the running count with locked instructions
// (sched/local.go, sched/handoff.go). The IPIs such a hold decides on
// are sent after its release (thread.Kick, SendKicks).
//
// No CPU waits for a run-queue lock while it holds one: the taker tries
// once and goes to the kernel lock's path if that lock is held (or,
// holding nothing, first waits once for the kernel lock's release, or
// a steal's, and tries again: LockRunQueueWaiting); a steal refused by the other CPU's
// lock lets go of its own and waits for that release holding nothing
// (WaitRunQueue) before it tries again; and the kernel lock's
// holder waits only for holds that began before it took the kernel
// lock (and for the flag of a take that finds the lock held, for the
// few instructions before it clears it; and for a steal's hold of
// another CPU's lock, which begins and ends inside the stealer's hold
// of its own, itself begun before: TryLockOtherRunQueue), each a few
// hundred instructions with no wait inside but for a futex bucket
// lock, the slices lock or the signals lock (a timer interrupt's
// slice check, kernel/fasttimer.go), none of which a kernel-lock
// holder holds while it waits here (it waits before it takes anything
// else), and whose holders wait for nothing; or, for an epoll_wait that
// blocks (kernel/fastepoll.go), the files lock taken shared in one try
// and, under it, a look at the interest list: the epoll lists' word
// lock and the leaf word locks of the descriptors' readiness, whose
// holders wait for nothing but, rarely, the memory lock (a page of
// their buffer given back beside and faulted in again), as the look may
// itself, and no memory lock holder waits for a run-queue lock or the
// kernel lock (the lock order); or, for an epoll_wait's timeout ended
// under the run-queue lock (kernel/fasttimer.go's expireSleepers), the
// epoll lists' word lock alone (thread.LeaveEpollSlot,
// ReturnEpollSlot); or, for the wake of an epoll_wait's waiter queued on
// its busy CPU (kernel/fastepoll.go's wakeOntoBusy), the files lock in
// one try and, under it, the epoll lists' word lock and its collect, as
// for the epoll_wait's block. The flag and the kernel
// lock are a pair of stores and loads in opposite order (the taker
// sets its flag, then reads the kernel lock; the kernel lock's taker
// sets the lock, then reads the flags), each store a locked
// instruction, so at least one of them sees the other.

// runQueueHeld has a word per CPU: 1 while its run-queue lock is held,
// by that CPU or by another's steal. Atomic.
var runQueueHeld [percpu.MaxCPUs]atomic.Uint32

// runQueueSince is when each CPU took its run-queue lock (TSC), for the
// hold's length.
var runQueueSince [percpu.MaxCPUs]uint64

// runQueueStats are the run-queue locks' statistics, all CPUs together.
// No take spins on the lock word: a take that is refused is no
// acquisition (a call that goes on to the kernel lock's path counts
// there), and the kernel lock's holders' waits for the run-queue locks'
// holders count in the kernel lock's own line, as contended
// acquisitions. The waits outside the lock before a second try count
// here as contentions with their cycles (Stats.Waited): a take's wait
// for the kernel lock's release or for a steal that holds its CPU's
// lock (LockRunQueueWaiting), and a refused steal's wait for the other
// CPU's release (WaitRunQueue). Until 2026-12-05 they were counted
// nowhere, and the line showed no contention at all.
// The wait loop ends when the lock is seen free or the kernel lock is
// held; steals one after another could in principle keep it spinning,
// each a few hundred instructions, where the kernel lock holder's wait
// (waitRunQueues) is bounded: no new hold begins once it holds that lock.
var runQueueStats Stats

// TryLockRunQueue takes CPU c's run-queue lock and reports true, unless
// the kernel lock is held, or another CPU's steal holds c's lock (then
// it reports false, holding nothing: the caller goes on to the kernel
// lock's path; a CPU that holds the kernel lock holds every run-queue
// lock already). The kernel lock may not be taken inside it (the lock order ranks the run-queue locks after the
// kernel lock, so checkLockOrder ends that in a kernel panic): its taker
// would wait for this very hold to end.
// Context: trap, on CPU c, interrupts off; does not allocate.
func TryLockRunQueue(c *percpu.CPU) bool {
	checkLockOrder(c, RankRunQueue)
	start := cpu.Rdtsc()
	// A LOCK CMPXCHG: ordered before the load below. It fails while
	// another CPU's steal holds the lock (TryLockOtherRunQueue).
	if !runQueueHeld[c.ID].CompareAndSwap(0, 1) {
		heldLocks[c.ID].release(RankRunQueue)
		return false
	}
	if spin.KernelLock.Held() {
		runQueueHeld[c.ID].Store(0)
		heldLocks[c.ID].release(RankRunQueue)
		return false
	}
	runQueueSince[c.ID] = start
	runQueueStats.Acquired(false, 0)
	return true
}

// LockRunQueueWaiting is TryLockRunQueue for a CPU that holds no lock,
// which, when the kernel lock's holder refuses it c's run-queue lock,
// waits for that lock's release once, halting as a waiter for it does
// (Kernel.waitUnheld), and tries again; when another CPU's steal holds
// c's lock, it waits for the steal's release (WaitRunQueue: a few
// hundred instructions, which wait for nothing c holds) and tries
// again. It reports false, holding nothing, when the lock is refused
// again by then: the caller goes on to the kernel lock's path, as
// before.
// Before, every refusal sent its call to that path at once, where it
// waited for the same release and then held the kernel lock itself,
// and so every run-queue lock, for its whole call: a futex call or
// interrupt made to wait by an unrelated call's hold (a clone, say)
// made the next ones wait too. In a futex-heavy boot at 4 vCPUs, by
// temporary counters, 20-40 of 90-120 acquisitions of the kernel lock
// were such refusals (docs/performance.md, "Issue 18, idle CPUs run
// queued threads without the kernel lock, and refusals wait for its
// release"); a refusal by a steal, whose release the kernel lock's
// taker then waited for too (waitRunQueues), was 1-8 of the 31-43 left
// after later changes, counting those refused for a pending signal
// (docs/performance.md, "Issue 18, a take refused by a steal waits for
// it").
// A caller that holds a lock does not wait (the holder may be waiting
// for that lock, or be c itself): it reports false.
// Context: trap, on CPU c, no lock held, interrupts off; does not
// allocate.
func LockRunQueueWaiting(c *percpu.CPU) bool {
	if TryLockRunQueue(c) {
		return true
	}
	if heldLocks[c.ID] != 0 {
		return false // c holds a lock
	}
	if spin.KernelLock.Held() {
		start := cpu.Rdtsc()
		Kernel.waitUnheld(c)
		runQueueStats.Waited(cpu.Rdtsc() - start)
	} else {
		WaitRunQueue(c, c.ID) // a steal holds c's lock
	}
	return TryLockRunQueue(c)
}

// WaitRunQueue waits, on CPU c, which holds no lock, until CPU v's
// run-queue lock is free or the kernel lock is held, answering TLB
// shootdowns meanwhile: a FUTEX_WAIT or a sleep whose steal found v's
// lock held (kernel/fastswitch.go's waitSwitch), or the wake of an
// epoll_wait's waiter on v that found it held (kernel/fastepoll.go's
// lockPair), tries once more after it. v's holder waits for nothing that a CPU holding no lock holds
// (the run-queue locks are only ever tried), so the wait ends; the
// kernel lock's path, which those steals took before, waited for the
// same release (waitRunQueues) and then held every run-queue lock for
// its whole call. In a futex-heavy boot at 4 vCPUs, by temporary
// counters, 13-25 of 63-85 kernel lock acquisitions were such refused
// steals (docs/performance.md, "Issue 18, a steal waits for the
// victim's run-queue lock"). A wait counts in the run-queue locks'
// statistics (runQueueStats).
// Context: trap, on CPU c, no lock held, interrupts off; does not
// allocate.
func WaitRunQueue(c *percpu.CPU, v int) {
	start, waited := cpu.Rdtsc(), false
	for runQueueHeld[v].Load() != 0 && !spin.KernelLock.Held() {
		tlb.ServiceTLB(c)
		cpu.Pause()
		waited = true
	}
	if waited {
		runQueueStats.Waited(cpu.Rdtsc() - start)
	}
}

// UnlockRunQueue releases CPU c's run-queue lock, which c holds.
// Context: trap, on CPU c, interrupts off; does not allocate.
func UnlockRunQueue(c *percpu.CPU) {
	runQueueStats.Released(cpu.Rdtsc()-runQueueSince[c.ID], 0)
	heldLocks[c.ID].release(RankRunQueue)
	runQueueHeld[c.ID].Store(0)
}

// TryLockOtherRunQueue takes CPU v's run-queue lock for the caller,
// which holds its own, to steal from v's queue, and reports true; false,
// with nothing taken, when v holds it (or another steal does). It never
// waits, so it has no rank: the caller's own lock keeps the kernel
// lock's holders out, and a CPU that finds its own lock taken by a steal
// waits for its release holding nothing (LockRunQueueWaiting), or, if
// it holds a lock or is in a kick's service, goes to the kernel lock's
// path. The caller must
// release it (UnlockOtherRunQueue) before its own: a kernel lock holder
// that looked at v's flag before this take waits for the caller's, and
// so for the steal's end. The statistics count the steal within the
// caller's own hold (the kernel counts steals as futex_wait_steal).
// Context: trap, the caller's run-queue lock held, interrupts off; does
// not allocate.
func TryLockOtherRunQueue(v int) bool { return runQueueHeld[v].CompareAndSwap(0, 1) }

// UnlockOtherRunQueue releases CPU v's run-queue lock, which the caller
// took with TryLockOtherRunQueue, before its own. Context: trap, the
// caller's run-queue lock held, interrupts off; does not allocate.
func UnlockOtherRunQueue(v int) { runQueueHeld[v].Store(0) }

// RunQueueStats returns the run-queue locks' statistics, for
// /proc/gometal/sched. Context: any; does not allocate.
func RunQueueStats() *Stats { return &runQueueStats }

// waitRunQueues waits, after c took the kernel lock, until no other CPU
// holds its run-queue lock, answering TLB shootdowns meanwhile as the
// kernel lock's spin does. It returns the cycles spent waiting, 0 for
// none.
// Context: trap or boot, kernel lock just taken by c, interrupts off;
// does not allocate.
func waitRunQueues(c *percpu.CPU) uint64 {
	var start uint64
	for i := 0; i < percpu.NOnline; i++ {
		for runQueueHeld[i].Load() != 0 {
			if start == 0 {
				start = cpu.Rdtsc()
			}
			tlb.ServiceTLB(c)
			cpu.Pause()
		}
	}
	if start == 0 {
		return 0
	}
	return cpu.Rdtsc() - start
}
