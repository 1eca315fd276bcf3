package sched

import "sync/atomic"

// Timers holds the per-thread deadlines (nanoseconds on the kernel's
// monotonic clock), in one min-heap per CPU. Each thread has at most one
// pending deadline: the one it sleeps until, or the timeout of its futex
// or epoll wait, in the heap of the CPU that set it (the CPU its thread
// blocked on). That CPU's timer is armed for its heap's earliest
// (Scheduler.Deadline), and it expires its own heap's sleeps
// (Scheduler.ExpireHere); the kernel lock's holder, who holds every
// run-queue lock, may read and change any heap (Scheduler.Schedule, with
// nothing to run, expires a passed deadline from any, Scheduler.Wake
// cancels one wherever it is). A CPU changes a heap under a run-queue
// lock alone only under that heap's CPU's lock: its own (its own
// thread's entry, its heap's earliest, the entry of a waiter it takes
// off a chain or from its inbox), or a napping CPU's whose lock it took
// (ClaimOnto), or that of the CPU an epoll_wait's waiter blocked on,
// whose lock it took (QueueDeviceWaiter, HandOffExpired from
// kernel/fastepoll.go's wakeOntoBusy), so that two CPUs never write the
// same heap at once; the
// count of all
// deadlines (Len) is an atomic, read by the deadlock checks.
// The zero value is not ready: call Init.
type Timers struct {
	when  [MaxThreads]int64
	pos   [MaxThreads]int32 // index in its heap, -1 if absent
	on    [MaxThreads]int32 // the CPU whose heap holds it, when pos >= 0
	heaps [MaxCPUs]timerHeap
	total int32 // deadlines in all heaps: atomic (Len)
}

// timerHeap is one CPU's min-heap of thread IDs, ordered by Timers.when.
type timerHeap struct {
	ids [MaxThreads]TID
	n   int32
}

// Init empties every heap.
// Context: boot; does not allocate.
func (h *Timers) Init() {
	for i := range h.pos {
		h.pos[i] = -1
	}
	for c := range h.heaps {
		h.heaps[c].n = 0
	}
	h.total = 0
}

// Len returns the number of pending deadlines, in all heaps: an atomic
// load, an instant old under a run-queue lock (ReserveIdle).
// Context: trap or boot, kernel lock or a run-queue lock held; does not
// allocate.
func (h *Timers) Len() int { return int(atomic.LoadInt32(&h.total)) }

// LenOn returns the number of deadlines in CPU c's heap.
// Context: trap, kernel lock or c's run-queue lock held; does not
// allocate.
func (h *Timers) LenOn(c int) int { return int(h.heaps[c].n) }

// Set arms (or re-arms) t's deadline in CPU c's heap, taking it out of
// the heap that held it before, if another.
// Context: trap, kernel lock held, or c's run-queue lock with t's entry
// absent or in c's heap; does not allocate.
func (h *Timers) Set(t TID, when int64, c int) {
	if h.pos[t] >= 0 && int(h.on[t]) == c {
		h.when[t] = when
		h.fix(c, int(h.pos[t]))
		return
	}
	h.Cancel(t)
	hp := &h.heaps[c]
	h.when[t] = when
	h.on[t] = int32(c)
	hp.ids[hp.n] = t
	h.pos[t] = hp.n
	hp.n++
	atomic.AddInt32(&h.total, 1)
	h.up(c, int(hp.n-1))
}

// Cancel removes t's deadline and reports whether it had one.
// Context: trap or boot, kernel lock held, or the run-queue lock of the
// CPU whose heap holds it; does not allocate.
func (h *Timers) Cancel(t TID) bool {
	i := int(h.pos[t])
	if i < 0 {
		return false
	}
	c := int(h.on[t])
	hp := &h.heaps[c]
	hp.n--
	if i != int(hp.n) {
		h.swap(c, i, int(hp.n))
		h.fix(c, i)
	}
	h.pos[t] = -1
	atomic.AddInt32(&h.total, -1)
	return true
}

// Pending reports whether t has a deadline: one load.
// Context: trap or boot, kernel lock or a run-queue lock held; does not
// allocate.
func (h *Timers) Pending(t TID) bool { return h.pos[t] >= 0 }

// When returns t's deadline, and false if it has none.
// Context: trap, kernel lock held; does not allocate.
func (h *Timers) When(t TID) (int64, bool) {
	if h.pos[t] < 0 {
		return 0, false
	}
	return h.when[t], true
}

// Next returns the earliest deadline in CPU c's heap and its thread, or
// (None, 0).
// Context: trap or boot, kernel lock or c's run-queue lock held; does
// not allocate. Not inlined: its callers' copies cost image bytes
// (issue 16's budget).
//
//go:noinline
func (h *Timers) Next(c int) (TID, int64) {
	hp := &h.heaps[c]
	if hp.n == 0 {
		return None, 0
	}
	return hp.ids[0], h.when[hp.ids[0]]
}

// PopExpired removes and returns a thread of CPU c's heap whose deadline
// is at or before now, or None.
// Context: trap, kernel lock or c's run-queue lock held; does not
// allocate.
func (h *Timers) PopExpired(c int, now int64) TID {
	t, when := h.Next(c)
	if t == None || when > now {
		return None
	}
	h.Cancel(t)
	return t
}

// less orders CPU c's heap entries i and j by deadline.
// Context: trap, under the lock its caller holds; does not allocate.
func (h *Timers) less(c, i, j int) bool {
	ids := &h.heaps[c].ids
	return h.when[ids[i]] < h.when[ids[j]]
}

// swap exchanges CPU c's heap entries i and j and their recorded
// positions. Context: trap, under the lock its caller holds; does not
// allocate.
func (h *Timers) swap(c, i, j int) {
	ids := &h.heaps[c].ids
	ids[i], ids[j] = ids[j], ids[i]
	h.pos[ids[i]] = int32(i)
	h.pos[ids[j]] = int32(j)
}

// fix restores the order of CPU c's heap around index i after the entry
// there changed (a new deadline, or the last entry moved in).
// Context: trap, under the lock its caller holds; does not allocate.
func (h *Timers) fix(c, i int) {
	if !h.down(c, i) {
		h.up(c, i)
	}
}

// up sifts CPU c's heap entry at index i toward the root.
// Context: trap, under the lock its caller holds; does not allocate.
func (h *Timers) up(c, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(c, i, p) {
			return
		}
		h.swap(c, i, p)
		i = p
	}
}

// down sifts CPU c's heap entry at index i toward the leaves and reports
// whether it moved. Context: trap, under the lock its caller holds; does
// not allocate.
func (h *Timers) down(c, i int) bool {
	start := i
	n := int(h.heaps[c].n)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && h.less(c, r, l) {
			m = r
		}
		if !h.less(c, m, i) {
			break
		}
		h.swap(c, i, m)
		i = m
	}
	return i > start
}
