package sched

import "sync/atomic"

// futexBuckets is the number of hash chains; a power of two.
const futexBuckets = 64

// Futexes holds the threads waiting on futex words, keyed by the word's
// address. Waiters on one address are woken in the order they arrived.
// The zero value is not ready: call Init.
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
	count [futexBuckets]int32 // waiters, queued or reserved; atomic
	next  [MaxThreads]TID
	addr  [MaxThreads]uintptr
	in    [MaxThreads]bool
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
	}
}

// bucket returns the hash chain of key addr.
// Context: trap or boot, kernel lock held; does not allocate.
func bucket(addr uintptr) int {
	return int((addr >> 2) * 0x9e3779b97f4a7c15 >> 58) // top 6 bits
}

// Reserve counts a FUTEX_WAIT on addr as a waiter before it reads the
// futex word; Unreserve ends that once it has queued (Wait counts it
// then) or given up. A waker that finds the count zero may return
// without the lock (MayHaveWaiters).
// Context: trap, kernel lock held; does not allocate.
func (f *Futexes) Reserve(addr uintptr) { atomic.AddInt32(&f.count[bucket(addr)], 1) }

// Unreserve undoes a Reserve on addr.
// Context: trap, kernel lock held; does not allocate.
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
// it sees the count up and takes the locked path, which finds the waiter
// queued (the waiter holds the kernel lock from Reserve until it has
// queued). If it comes first, the waker's store to the word was visible
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

// Waiting reports whether t is queued.
// Context: trap or boot, kernel lock held; does not allocate.
func (f *Futexes) Waiting(t TID) bool { return f.in[t] }

// WakeOne dequeues the oldest waiter on addr and returns it, or None.
// Context: trap, kernel lock held; does not allocate.
func (f *Futexes) WakeOne(addr uintptr) TID {
	b := bucket(addr)
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

// Remove dequeues t (after a timeout) and reports whether it was queued.
// Context: trap or boot, kernel lock held; does not allocate.
func (f *Futexes) Remove(t TID) bool {
	if !f.in[t] {
		return false
	}
	b := bucket(f.addr[t])
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
// Context: trap or boot, kernel lock held; does not allocate.
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
