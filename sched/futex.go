package sched

// futexBuckets is the number of hash chains; a power of two.
const futexBuckets = 64

// Futexes holds the threads waiting on futex words, keyed by the word's
// address. Waiters on one address are woken in the order they arrived.
// The zero value is not ready: call Init.
type Futexes struct {
	head [futexBuckets]TID
	tail [futexBuckets]TID
	next [MaxThreads]TID
	addr [MaxThreads]uintptr
	in   [MaxThreads]bool
}

// Init empties the table.
// Context: trap or boot, kernel lock held; does not allocate.
func (f *Futexes) Init() {
	for i := range f.head {
		f.head[i], f.tail[i] = None, None
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

// Wait queues t on addr. t must not be queued already.
// Context: trap or boot, kernel lock held; does not allocate.
func (f *Futexes) Wait(t TID, addr uintptr) {
	b := bucket(addr)
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
}
