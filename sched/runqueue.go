package sched

// RunQueue is a FIFO of runnable threads. The zero value is empty.
type RunQueue struct {
	ring       [MaxThreads]TID
	head, size int
}

// Len returns the number of queued threads.
// Context: trap or boot, kernel lock held; does not allocate.
func (q *RunQueue) Len() int { return q.size }

// Push appends t. It reports false if the queue is full, which cannot happen
// while each thread is queued at most once.
// Context: trap or boot, kernel lock held; does not allocate.
func (q *RunQueue) Push(t TID) bool {
	if q.size == len(q.ring) {
		return false
	}
	q.ring[(q.head+q.size)%len(q.ring)] = t
	q.size++
	return true
}

// Pop removes and returns the oldest thread, or None.
// Context: trap or boot, kernel lock held; does not allocate.
func (q *RunQueue) Pop() TID {
	if q.size == 0 {
		return None
	}
	t := q.ring[q.head]
	q.head = (q.head + 1) % len(q.ring)
	q.size--
	return t
}

// Remove deletes t from the queue, keeping the order of the others.
// It reports whether t was queued.
// Context: trap or boot, kernel lock held; does not allocate.
func (q *RunQueue) Remove(t TID) bool {
	for i := 0; i < q.size; i++ {
		if q.ring[(q.head+i)%len(q.ring)] != t {
			continue
		}
		for j := i; j < q.size-1; j++ {
			q.ring[(q.head+j)%len(q.ring)] = q.ring[(q.head+j+1)%len(q.ring)]
		}
		q.size--
		return true
	}
	return false
}
