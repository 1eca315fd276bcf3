package sched

// Timers is a min-heap of per-thread deadlines (nanoseconds on the kernel's
// monotonic clock). Each thread has at most one pending deadline: the one
// it sleeps until, or the timeout of its futex or epoll wait.
// The zero value is not ready: call Init.
type Timers struct {
	heap [MaxThreads]TID
	when [MaxThreads]int64
	pos  [MaxThreads]int32 // index in heap, -1 if absent
	n    int
}

// Init empties the heap.
// Context: trap or boot, kernel lock held; does not allocate.
func (h *Timers) Init() {
	h.n = 0
	for i := range h.pos {
		h.pos[i] = -1
	}
}

// Len returns the number of pending deadlines.
// Context: trap or boot, kernel lock held; does not allocate.
func (h *Timers) Len() int { return h.n }

// Set arms (or re-arms) t's deadline.
// Context: trap, kernel lock held; does not allocate.
func (h *Timers) Set(t TID, when int64) {
	if h.pos[t] >= 0 {
		h.when[t] = when
		h.fix(int(h.pos[t]))
		return
	}
	h.when[t] = when
	h.heap[h.n] = t
	h.pos[t] = int32(h.n)
	h.n++
	h.up(h.n - 1)
}

// Cancel removes t's deadline and reports whether it had one.
// Context: trap or boot, kernel lock held; does not allocate.
func (h *Timers) Cancel(t TID) bool {
	i := int(h.pos[t])
	if i < 0 {
		return false
	}
	h.n--
	if i != h.n {
		h.swap(i, h.n)
		h.fix(i)
	}
	h.pos[t] = -1
	return true
}

// Pending reports whether t has a deadline.
// Context: trap or boot, kernel lock held; does not allocate.
func (h *Timers) Pending(t TID) bool { return h.pos[t] >= 0 }

// When returns t's deadline, and false if it has none.
// Context: trap, kernel lock held; does not allocate.
func (h *Timers) When(t TID) (int64, bool) {
	if h.pos[t] < 0 {
		return 0, false
	}
	return h.when[t], true
}

// Next returns the earliest deadline and its thread, or (None, 0).
// Context: trap or boot, kernel lock held; does not allocate.
func (h *Timers) Next() (TID, int64) {
	if h.n == 0 {
		return None, 0
	}
	return h.heap[0], h.when[h.heap[0]]
}

// PopExpired removes and returns a thread whose deadline is at or before
// now, or None.
// Context: trap, kernel lock held; does not allocate.
func (h *Timers) PopExpired(now int64) TID {
	t, when := h.Next()
	if t == None || when > now {
		return None
	}
	h.Cancel(t)
	return t
}

// less orders heap entries i and j by deadline.
// Context: trap or boot, kernel lock held; does not allocate.
func (h *Timers) less(i, j int) bool { return h.when[h.heap[i]] < h.when[h.heap[j]] }

// swap exchanges heap entries i and j and their recorded positions.
// Context: trap or boot, kernel lock held; does not allocate.
func (h *Timers) swap(i, j int) {
	h.heap[i], h.heap[j] = h.heap[j], h.heap[i]
	h.pos[h.heap[i]] = int32(i)
	h.pos[h.heap[j]] = int32(j)
}

// fix restores the heap order around index i after the entry there
// changed (a new deadline, or the last entry moved in).
// Context: trap or boot, kernel lock held; does not allocate.
func (h *Timers) fix(i int) {
	if !h.down(i) {
		h.up(i)
	}
}

// up sifts the entry at index i toward the root.
// Context: trap or boot, kernel lock held; does not allocate.
func (h *Timers) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down sifts the entry at index i toward the leaves and reports whether it
// moved. Context: trap or boot, kernel lock held; does not allocate.
func (h *Timers) down(i int) bool {
	start := i
	for {
		l := 2*i + 1
		if l >= h.n {
			break
		}
		m := l
		if r := l + 1; r < h.n && h.less(r, l) {
			m = r
		}
		if !h.less(m, i) {
			break
		}
		h.swap(i, m)
		i = m
	}
	return i > start
}
