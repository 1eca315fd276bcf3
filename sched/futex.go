package sched

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/spin"
)

// futexBuckets is the number of hash chains; a power of two.
const futexBuckets = 64

// Futexes holds the threads waiting on futex words, keyed by the word's
// address. Waiters on one address are woken in the order they arrived.
// The zero value is not ready: call Init.
//
// Each hash bucket has its own spinlock, which every change to its chain
// takes: the kernel lock's holders take it inside that lock (Wait,
// WakeOne, Remove), and a lock-free FUTEX_WAKE takes it alone to hand a
// waiter to a halted CPU (Claim, handoff.go). A FUTEX_WAIT holds it from
// its read of the word to its queueing (Lock, WaitLocked, Unlock), as
// Linux's futex hash buckets are held, so that a waker that takes it
// finds the waiter queued or the waiter sees the new word. A FUTEX_WAIT
// that naps (futexnap.go) takes it without the kernel lock, to queue
// itself (Lock, NapWaitLocked, Unlock) and to end its wait
// (EndNapWait). Nothing is taken while a bucket lock is held.
//
// Each hash bucket also keeps a count of its waiters, for the lock-free
// FUTEX_WAKE of an address nobody waits on (MayHaveWaiters): threads
// queued in the bucket plus FUTEX_WAITs between Reserve and Unreserve,
// that is, between their locked increment and the end of their decision
// to queue. The count is changed only with locked read-modify-writes and
// read with one (see MayHaveWaiters for why that is enough).
type Futexes struct {
	head  [futexBuckets]TID
	tail  [futexBuckets]TID
	count [futexBuckets]int32  // waiters, queued or reserved; atomic
	lock  [futexBuckets]uint32 // the bucket's spinlock: 1 held; atomic
	since [futexBuckets]uint64 // when its holder took it (TSC), for the hold's length
	stats spin.Stats           // the bucket locks' use, summed (Stats)
	next  [MaxThreads]TID
	addr  [MaxThreads]uintptr
	in    [MaxThreads]bool
	// waited marks a thread queued by a wait that no kernel-lock holder
	// has ended yet (WakeOne, Remove, the hand-off's drain), nor a CPU
	// under its run-queue lock for a thread it took off a chain or from
	// its inbox, or that runs there (ClaimHere and RunHandedOff, after
	// the thread's old CPU finished switching from it: leftCPU; Unwait:
	// local.go): a Claim does not
	// clear it, so the kernel lock's holders
	// (who hold every run-queue lock) may read it without a bucket lock,
	// and Remove takes none for a thread in no futex wait (a sleep's or a
	// socket's wake-up).
	waited [MaxThreads]bool
	// handedOff marks a thread that a lock-free FUTEX_WAKE took off its
	// chain (Claim) and that waits in a CPU's hand-off inbox: its wait is
	// over and the inbox's drain wakes it (Scheduler.WakeHandedOff), or
	// the inbox's CPU runs it (Scheduler.RunHandedOff); nothing else may.
	// Atomic: set under the bucket lock alone.
	handedOff [MaxThreads]uint32
	// napWait is a napping waiter's state (futexnap.go): napPolling or
	// napHalting while its FUTEX_WAIT naps on the chain, napWoken once a
	// wake took it off. Set and cleared by the napper under the bucket
	// lock (NapWaitLocked, EndNapWait); moved from polling to halting by
	// the napper without it, and to woken by a waker under it, each with a
	// compare-and-swap.
	napWait [MaxThreads]uint32

	mistake mistake // a planted bug, for the simulator's self-test (Scheduler.mistake)
}

// Init empties the table.
// Context: trap or boot, kernel lock held; does not allocate.
func (f *Futexes) Init() {
	for i := range f.head {
		f.head[i], f.tail[i] = None, None
		atomic.StoreInt32(&f.count[i], 0)
	}
	for i := range f.next {
		f.next[i] = None
		f.in[i] = false
		f.waited[i] = false
		atomic.StoreUint32(&f.handedOff[i], 0)
		atomic.StoreUint32(&f.napWait[i], napNone)
	}
}

// lockBucket takes bucket b's spinlock, counted in Stats. Context: trap
// or boot, any lock or none; interrupts off in the kernel; does not
// allocate.
func (f *Futexes) lockBucket(b int) {
	start := cpu.Rdtsc()
	contended := false
	for !atomic.CompareAndSwapUint32(&f.lock[b], 0, 1) {
		contended = true
		for atomic.LoadUint32(&f.lock[b]) != 0 { // held for a few dozen instructions
			cpu.Pause() // under emulation, gives the host a chance to run the holder
		}
	}
	now := cpu.Rdtsc()
	f.since[b] = now
	f.stats.Acquired(contended, now-start)
}

// unlockBucket releases bucket b's spinlock. Context: as lockBucket.
func (f *Futexes) unlockBucket(b int) {
	f.stats.Released(cpu.Rdtsc()-f.since[b], 0)
	atomic.StoreUint32(&f.lock[b], 0)
}

// Stats returns the bucket locks' statistics, all buckets together: the
// futex_buckets line of /proc/gometal/sched's lock table. Context: any;
// does not allocate.
func (f *Futexes) Stats() *spin.Stats { return &f.stats }

// Lock takes the bucket lock of addr, for a FUTEX_WAIT's read of its word
// and queueing (WaitLocked); Unlock releases it. Nothing else may be
// taken in between. Context: trap, kernel lock held, or not (a
// FUTEX_WAIT's nap, kernel/fastfutex.go); does not allocate.
func (f *Futexes) Lock(addr uintptr) { f.lockBucket(bucket(addr)) }

// Unlock releases the bucket lock Lock took. Context: as Lock.
func (f *Futexes) Unlock(addr uintptr) { f.unlockBucket(bucket(addr)) }

// bucket returns the hash chain of key addr.
// Context: any; does not allocate.
func bucket(addr uintptr) int {
	return int((addr >> 2) * 0x9e3779b97f4a7c15 >> 58) // top 6 bits
}

// Reserve counts a FUTEX_WAIT on addr as a waiter before it reads the
// futex word; Unreserve ends that once it has queued (Wait counts it
// then) or given up. A waker that finds the count zero may return
// without the lock (MayHaveWaiters).
// Context: trap, kernel lock held, or not (a FUTEX_WAIT's nap); does not
// allocate.
func (f *Futexes) Reserve(addr uintptr) { atomic.AddInt32(&f.count[bucket(addr)], 1) }

// Unreserve undoes a Reserve on addr.
// Context: trap, kernel lock held, or not (a FUTEX_WAIT's nap); does not
// allocate.
func (f *Futexes) Unreserve(addr uintptr) { atomic.AddInt32(&f.count[bucket(addr)], -1) }

// MayHaveWaiters reports, without the kernel lock, whether a FUTEX_WAKE
// on addr may find a waiter: false means it would wake nobody, and the
// caller can return 0 at once.
//
// Why no wake-up is lost. A FUTEX_WAIT increments its bucket's count
// (Reserve, a LOCK XADD) before it reads the futex word, and the count
// stays up until it is woken or gives up. A waker's program stores the
// word, then makes the system call, which reads the count here with
// another LOCK XADD (adding 0). x86 may let a load pass an earlier store
// (the store waits in the store buffer), but not a locked instruction:
// it drains the store buffer, and all locked operations on one location
// happen in a single order. If the waker's XADD comes after the waiter's,
// it sees the count up and goes on to a path that takes the bucket lock
// (the locked path, under the kernel lock, or the hand-off's Claim): the
// waiter reads the word and queues under that lock, so the waker finds
// it queued, or the waiter takes the lock after the waker and reads its
// store. If it comes first, the waker's store to the word was visible
// to every CPU before it, so the waiter's read of the word, after its
// own XADD, sees the new value and returns EAGAIN instead of sleeping.
// (A plain load of the count would allow exactly the lost wake-up: the
// waker's store still buffered, the count read as 0, the waiter reading
// the old word and sleeping.) A count above zero from another address in
// the same bucket only sends the waker down the locked path.
// Context: trap, kernel lock not needed; does not allocate.
func (f *Futexes) MayHaveWaiters(addr uintptr) bool {
	return atomic.AddInt32(&f.count[bucket(addr)], 0) != 0
}

// Wait queues t on addr. t must not be queued already.
// Context: trap or boot, kernel lock held; does not allocate.
func (f *Futexes) Wait(t TID, addr uintptr) {
	f.Lock(addr)
	f.WaitLocked(t, addr)
	f.Unlock(addr)
}

// WaitLocked is Wait with addr's bucket lock held (Lock).
// Context: trap or boot, kernel lock (or t's CPU's run-queue lock:
// local.go) and addr's bucket lock held; does not allocate.
func (f *Futexes) WaitLocked(t TID, addr uintptr) {
	f.enqueue(t, addr)
	f.waited[t] = true
}

// enqueue appends t to addr's chain and counts it. Context: trap or
// boot, addr's bucket lock held; does not allocate.
// Not inlined: its copies cost the image 224 bytes (issue 16's budget).
//
//go:noinline
func (f *Futexes) enqueue(t TID, addr uintptr) {
	b := bucket(addr)
	atomic.AddInt32(&f.count[b], 1)
	f.addr[t] = addr
	f.next[t] = None
	f.in[t] = true
	if f.tail[b] == None {
		f.head[b] = t
	} else {
		f.next[f.tail[b]] = t
	}
	f.tail[b] = t
}

// Waiting reports whether t is queued (for the tests: a lock-free Claim
// may take it off at any time). Context: any; does not allocate.
func (f *Futexes) Waiting(t TID) bool { return f.in[t] }

// WakeOne dequeues the oldest waiter on addr and returns it, or None. A
// napping waiter (futexnap.go) is woken here, its wait over: w then says
// whether the caller must send its CPU a wake IPI (WokeNapper), instead
// of waking it (the scheduler sees it running); WokeBlocked is a waiter
// for the caller to wake.
// Context: trap, kernel lock held; does not allocate.
func (f *Futexes) WakeOne(addr uintptr) (t TID, w Woken) {
	b := bucket(addr)
	f.lockBucket(b)
	t = f.dequeue(b, addr)
	if t != None {
		w = f.wakeNapper(t)
	}
	f.unlockBucket(b)
	if t != None && w == WokeBlocked {
		f.waited[t] = false
	}
	return t, w
}

// ClaimResult is what Claim did.
type ClaimResult uint8

// Claim results.
const (
	ClaimNobody        ClaimResult = iota // nobody waits on the address
	ClaimHandedOff                        // the oldest waiter is off its chain, handed off
	ClaimNapper                           // the oldest waiter naps halted, and is woken (futexnap.go): its CPU needs a wake IPI
	ClaimPollingNapper                    // the oldest waiter naps polling, and is woken: it needs no IPI
	ClaimNeedsCPU                         // the oldest waiter is blocked, and no CPU was claimed for it: nothing changed
)

// Claim is WakeOne for a lock-free FUTEX_WAKE. A napping oldest waiter
// is woken, as WakeOne wakes it (ClaimNapper: its CPU must get a wake
// IPI; ClaimPollingNapper: it needs none). Otherwise, if the caller claimed a halted CPU to hand the waiter
// to (handOff), the waiter is dequeued and marked handed off
// (HandedOff) before the bucket lock is released, so that from then on
// only the hand-off's drain wakes it (handoff.go); without one it stays
// queued (ClaimNeedsCPU: the locked path wakes it).
// Context: trap, kernel lock not needed; does not allocate.
func (f *Futexes) Claim(addr uintptr, handOff bool) (TID, ClaimResult) {
	b := bucket(addr)
	f.lockBucket(b)
	t, r := f.claimLocked(b, addr, handOff)
	f.unlockBucket(b)
	return t, r
}

// claimLocked is Claim's decision. Context: trap, bucket b's lock held;
// does not allocate.
func (f *Futexes) claimLocked(b int, addr uintptr, handOff bool) (TID, ClaimResult) {
	t := f.oldest(b, addr)
	switch {
	case t == None:
		return None, ClaimNobody
	case f.napping(t) && f.mistake != mistakeNapperHandedOff:
		f.dequeue(b, addr)
		if f.wakeNapper(t) == WokePollingNapper {
			return t, ClaimPollingNapper
		}
		return t, ClaimNapper
	case !handOff:
		return None, ClaimNeedsCPU
	}
	f.dequeue(b, addr)
	atomic.StoreUint32(&f.handedOff[t], 1)
	return t, ClaimHandedOff
}

// MarkHandedOff marks t, a thread blocked in a device wait (an
// epoll_wait) whose wake a file call beside took without the kernel lock
// (package fdcalls' handOffWaiter: its events collected, its waiter slot
// cleared), handed off, as Claim marks a futex waiter: the kernel lock's
// wake-ups (Wake) and its CPU's expiry (ExpireHere) then leave its wait to
// the inbox it goes into next (Handoffs.Push), whose CPU runs it
// (RunHandedOff) or whose drain wakes it (WakeHandedOff).
// Context: trap, the interest lists' lock held, which every other end of
// such a wait takes first (kernel/thread's LeaveEpollSlot); does not
// allocate.
func (f *Futexes) MarkHandedOff(t TID) {
	if f.mistake != mistakeDeviceUnmarked {
		atomic.StoreUint32(&f.handedOff[t], 1)
	}
}

// HandedOff reports whether t was taken off its chain by Claim (or
// marked by MarkHandedOff or Scheduler.HandOffExpired) and not yet woken
// by the hand-off's drain or its inbox's CPU. Context: trap, kernel lock held (or
// the drain's caller); does not allocate.
func (f *Futexes) HandedOff(t TID) bool { return atomic.LoadUint32(&f.handedOff[t]) != 0 }

// dequeue takes the oldest waiter on addr off chain b and returns it, or
// None. Context: trap, bucket b's lock held; does not allocate.
func (f *Futexes) dequeue(b int, addr uintptr) TID {
	prev := None
	for t := f.head[b]; t != None; t = f.next[t] {
		if f.addr[t] == addr {
			f.unlink(b, prev, t)
			return t
		}
		prev = t
	}
	return None
}

// oldest returns the oldest waiter on addr in chain b, or None, leaving
// it queued. Context: trap, bucket b's lock held; does not allocate.
func (f *Futexes) oldest(b int, addr uintptr) TID {
	for t := f.head[b]; t != None; t = f.next[t] {
		if f.addr[t] == addr {
			return t
		}
	}
	return None
}

// Remove dequeues t (after a timeout, a signal) and reports whether it
// was queued. Context: trap or boot, kernel lock held, or the run-queue
// lock of t's CPU while t still runs there (Unwait) or while its
// deadline, in that CPU's heap, passes (ExpireHere); does not allocate.
func (f *Futexes) Remove(t TID) bool {
	if !f.waited[t] {
		return false // in no futex wait, or one already ended
	}
	f.waited[t] = false
	b := bucket(f.addr[t]) // set by t's own wait, under the kernel lock or its CPU's run-queue lock
	f.lockBucket(b)
	found := f.removeLocked(b, t)
	f.unlockBucket(b)
	return found
}

// removeLocked takes t off chain b if it is queued there and reports
// whether it was. Context: trap or boot, bucket b's lock held; does not
// allocate.
func (f *Futexes) removeLocked(b int, t TID) bool {
	if !f.in[t] {
		return false
	}
	prev := None
	for c := f.head[b]; c != None; c = f.next[c] {
		if c == t {
			f.unlink(b, prev, t)
			return true
		}
		prev = c
	}
	return false
}

// unlink takes t, whose predecessor in chain b is prev, off the chain.
// Context: trap or boot, bucket b's lock held; does not allocate.
func (f *Futexes) unlink(b int, prev, t TID) {
	if prev == None {
		f.head[b] = f.next[t]
	} else {
		f.next[prev] = f.next[t]
	}
	if f.tail[b] == t {
		f.tail[b] = prev
	}
	f.next[t] = None
	f.in[t] = false
	atomic.AddInt32(&f.count[b], -1)
}
