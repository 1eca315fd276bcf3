package sched

import "sync/atomic"

// Futex naps: a FUTEX_WAIT that blocks, without the kernel lock (issue
// 18; the kernel's side is kernel/fastfutex.go). On the locked path a
// FUTEX_WAIT that blocks is a Block, a Schedule, a halt in the idle loop
// and, once woken, a wake-up under the kernel lock again (or a hand-off
// and its drain). When no thread waits in any run queue, blocking would
// only halt the CPU, so the waiter naps instead, as a short nanosleep
// does (nap.go): it queues itself on the word's futex chain marked as a
// napper (NapWaitLocked, under the bucket lock, after reading the word
// there), and its CPU halts with the thread still Running for the
// scheduler. It polls for its wake for a few microseconds first, and
// then halts. A wake that takes it off the chain (WakeOne, Claim) marks
// it woken under the bucket lock, and sends its CPU a wake IPI if it has
// begun to halt (NapHalting); the napper sees the mark and its
// FUTEX_WAIT returns 0, with no kernel lock taken by either side. A
// quick partner (a ping-pong between two threads, a mutex handed over)
// wakes it while it polls: no IPI, no halt, which under emulation are
// each far slower than the partner's turn.
//
// Why no wake-up is lost and none is doubled:
//
//   - The napper reads the word and queues itself under the bucket lock,
//     as a locked FUTEX_WAIT does, and counts itself in the bucket before
//     the read (Reserve): a waker finds it queued or it sees the new word.
//   - Whoever takes a napper off its chain wakes it (napWoken, set before
//     the bucket lock is released), and only the napper takes itself off
//     otherwise (EndNapWait, under the same lock): when its nap ends
//     without the mark (the nap's time limit, a kick for a signal or a
//     queued thread, a device interrupt) it takes itself off, and the
//     locked path serves the call again from the start, reading the word
//     again. If a waker took it off first, EndNapWait says so and the
//     call returns 0.
//   - A napper is Running for the scheduler, so the locked paths' Wake
//     (a timeout, a signal) never touches it; a signal kicks its CPU, as
//     for any running thread, and the kick ends the nap.
//   - The nap has a time limit (the kernel's futexNapMaxNs): a wait that
//     outlasts it blocks (under its CPU's run-queue lock, ReserveIdle,
//     unless it is the last running thread with no deadline pending, or
//     on the locked path), so
//     the scheduler's deadlock check, which counts running threads as
//     progress, still sees every thread that waits for good.

// WakerRuns reports whether a CPU other than c runs a thread that is
// not napping: one that could wake a FUTEX_WAIT on c soon. Without one
// (a single CPU, or every other CPU idle or napping) a napper on c could
// only be woken by an interrupt, and its poll would be time lost: the
// wait blocks instead (ReserveIdle, or the locked path). The marks are read without the
// lock: a heuristic, which no wake-up depends on.
// Context: trap on CPU c, no lock needed (or the simulator's one event);
// does not allocate.
func (s *Scheduler) WakerRuns(c int) bool {
	for i := 0; i < s.NCPU; i++ {
		p := &s.CPUs[i]
		if i != c && atomic.LoadInt32((*int32)(&p.Cur)) != int32(None) && atomic.LoadInt32(&p.napping) == 0 {
			return true
		}
	}
	return false
}

// A napping waiter's states (Futexes.napWait).
const (
	napNone    uint32 = iota // no FUTEX_WAIT naps for this thread
	napPolling               // its FUTEX_WAIT polls for a wake, queued on a chain: a wake needs no IPI
	napHalting               // its FUTEX_WAIT halts its CPU (or is about to), queued on a chain: a wake sends an IPI
	napWoken                 // a wake took it off the chain: its FUTEX_WAIT returns 0
)

// Woken is what ending a waiter's wait takes (WakeOne).
type Woken uint8

// Wake-ups.
const (
	WokeBlocked       Woken = iota // the waiter blocked: Wake makes it runnable
	WokeNapper                     // it naps, halted: its CPU needs a wake IPI
	WokePollingNapper              // it naps, polling: it sees the wake without an IPI
)

// NapWaitLocked queues t, the thread running on the caller's CPU, on
// addr as a napping waiter that polls for its wake (see the top of this
// file); NapHalting ends the polling. t must not be queued already.
// Context: trap, addr's bucket lock held (Lock), kernel lock not held;
// does not allocate.
func (f *Futexes) NapWaitLocked(t TID, addr uintptr) {
	f.enqueue(t, addr)
	atomic.StoreUint32(&f.napWait[t], napPolling)
}

// NapHalting tells the wakers that napping waiter t stops polling and
// halts its CPU: from now on a wake sends it an IPI. It reports false if
// a wake came first (the FUTEX_WAIT returns 0): the compare-and-swap
// orders the two, so a waker either saw t polling (and t sees the wake
// here) or sees it halting (and sends the IPI).
// Context: trap, on t's CPU, no lock needed; does not allocate.
func (f *Futexes) NapHalting(t TID) bool {
	return atomic.CompareAndSwapUint32(&f.napWait[t], napPolling, napHalting)
}

// NapWoken reports, without the bucket lock, whether a wake took napping
// waiter t off its chain. Context: trap, on t's CPU, no lock needed;
// does not allocate.
func (f *Futexes) NapWoken(t TID) bool {
	return atomic.LoadUint32(&f.napWait[t]) == napWoken
}

// EndNapWait ends napping waiter t's wait: it takes t off its chain if
// it is still there and reports whether it was (the caller's FUTEX_WAIT
// then goes on on the locked path); false means a wake took it off first
// (the FUTEX_WAIT returns 0).
// Context: trap, on t's CPU, kernel lock not held; does not allocate.
func (f *Futexes) EndNapWait(t TID) (stillQueued bool) {
	b := bucket(f.addr[t]) // set by t's own NapWaitLocked
	f.lockBucket(b)
	stillQueued = f.removeLocked(b, t)
	atomic.StoreUint32(&f.napWait[t], napNone)
	f.unlockBucket(b)
	return stillQueued
}

// napping reports whether t's FUTEX_WAIT naps (polling or halting).
// Context: trap, t's bucket lock held; does not allocate.
func (f *Futexes) napping(t TID) bool {
	s := atomic.LoadUint32(&f.napWait[t])
	return s == napPolling || s == napHalting
}

// wakeNapper ends the wait of t, just taken off its chain, if it naps,
// and says what that takes: WokeBlocked if it does not nap (the caller
// wakes it), else whether its CPU needs a wake IPI. The state moves to
// napWoken with a compare-and-swap, against the napper's NapHalting.
// Context: trap, t's bucket lock held; does not allocate.
func (f *Futexes) wakeNapper(t TID) Woken {
	if atomic.CompareAndSwapUint32(&f.napWait[t], napPolling, napWoken) {
		return WokePollingNapper
	}
	if atomic.CompareAndSwapUint32(&f.napWait[t], napHalting, napWoken) {
		if f.mistake == mistakeNapNoIPI {
			return WokePollingNapper
		}
		return WokeNapper
	}
	return WokeBlocked
}
