package sched

// RunQueue is a FIFO of runnable threads, chained through the
// scheduler's one link table (RunLinks): a thread is in at most one run
// queue, so the CPUs' queues share it, and a queue costs three words
// rather than a ring of MaxThreads entries per CPU. The zero value is
// empty; head and tail mean something only while size > 0.
type RunQueue struct {
	head, tail TID
	size       int
}

// RunLinks chains the run queues: the entry of a queued thread names the
// thread queued after it in the same queue (None for the last).
type RunLinks [MaxThreads]TID

// Len returns the number of queued threads.
// Context: trap or boot, kernel lock held, or the queue's CPU's
// run-queue lock (local.go, held by that CPU or a steal); does not
// allocate.
func (q *RunQueue) Len() int { return q.size }

// Push appends t, which must not be queued anywhere.
// Context: trap or boot, kernel lock held, or the queue's CPU's
// run-queue lock (local.go, held by that CPU or a steal); does not
// allocate.
func (q *RunQueue) Push(l *RunLinks, t TID) {
	l[t] = None
	if q.size == 0 {
		q.head = t
	} else {
		l[q.tail] = t
	}
	q.tail = t
	q.size++
}

// Pop removes and returns the oldest thread, or None.
// Context: trap or boot, kernel lock held, or the queue's CPU's
// run-queue lock (local.go, held by that CPU or a steal); does not
// allocate.
func (q *RunQueue) Pop(l *RunLinks) TID {
	if q.size == 0 {
		return None
	}
	t := q.head
	q.head = l[t]
	q.size--
	return t
}

// Remove deletes t from the queue, keeping the order of the others.
// It reports whether t was queued.
// Context: trap or boot, kernel lock held; does not allocate.
func (q *RunQueue) Remove(l *RunLinks, t TID) bool {
	prev := None
	for i, c := 0, q.head; i < q.size; i, c = i+1, l[c] {
		if c != t {
			prev = c
			continue
		}
		if prev == None {
			q.head = l[t]
		} else {
			l[prev] = l[t]
		}
		if q.tail == t {
			q.tail = prev
		}
		q.size--
		return true
	}
	return false
}
