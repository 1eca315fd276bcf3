package sched

import (
	"math/rand"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// queued lists q's threads, oldest first, following the links.
func queued(q *RunQueue, l *RunLinks) []TID {
	var r []TID
	for i, t := 0, q.head; i < q.Len(); i, t = i+1, l[t] {
		r = append(r, t)
	}
	return r
}

func TestRunQueueFIFOAndRemove(t *testing.T) {
	var l RunLinks
	var q RunQueue
	assert.Equal(t, None, q.Pop(&l))
	for i := TID(0); i < 5; i++ {
		q.Push(&l, i)
	}
	assert.Equal(t, []TID{0, 1, 2, 3, 4}, queued(&q, &l))
	assert.True(t, q.Remove(&l, 2))
	assert.False(t, q.Remove(&l, 2))
	assert.True(t, q.Remove(&l, 4), "the tail")
	q.Push(&l, 7)
	assert.True(t, q.Remove(&l, 0), "the head")
	var got []TID
	for q.Len() > 0 {
		got = append(got, q.Pop(&l))
	}
	assert.Equal(t, []TID{1, 3, 7}, got)
	q.Push(&l, 9)
	assert.Equal(t, TID(9), q.Pop(&l), "an emptied queue starts again")
	assert.Equal(t, None, q.Pop(&l))
}

// TestRunQueuesShareLinks: every thread in one of several queues that
// share the link table, each queue in its own order, and refilled.
func TestRunQueuesShareLinks(t *testing.T) {
	var l RunLinks
	var q [3]RunQueue
	for round := 0; round < 3; round++ {
		for i := 0; i < MaxThreads; i++ {
			q[(i+round)%3].Push(&l, TID(i))
		}
		for k := range q {
			prev := None
			for q[k].Len() > 0 {
				th := q[k].Pop(&l)
				require.Equal(t, k, (int(th)+round)%3, "thread %d in queue %d", th, k)
				require.Greater(t, th, prev, "first in, first out")
				prev = th
			}
		}
	}
}

func TestTimersOrderCancelAndRearm(t *testing.T) {
	var h Timers
	h.Init()
	r := rand.New(rand.NewSource(1))
	want := map[TID]int64{}
	for i := 0; i < 200; i++ {
		tid := TID(r.Intn(MaxThreads))
		when := r.Int63n(1000)
		h.Set(tid, when, r.Intn(3))
		want[tid] = when
		if r.Intn(4) == 0 {
			c := TID(r.Intn(MaxThreads))
			_, had := want[c]
			assert.Equal(t, had, h.Cancel(c))
			delete(want, c)
		}
	}
	require.Equal(t, len(want), h.Len())
	for tid := TID(0); tid < MaxThreads; tid++ {
		w, ok := h.When(tid)
		ww, had := want[tid]
		assert.Equal(t, had, ok, "thread %d has a deadline", tid)
		assert.Equal(t, ww, w, "thread %d's deadline", tid)
	}
	type tw struct {
		t TID
		w int64
	}
	var exp []int64
	for _, w := range want {
		exp = append(exp, w)
	}
	sort.Slice(exp, func(i, j int) bool { return exp[i] < exp[j] })
	var got []int64
	for h.Len() > 0 {
		tid, c := earliest3(&h)
		require.NotEqual(t, None, tid)
		require.Equal(t, tid, h.PopExpired(c, 1<<62))
		got = append(got, want[tid])
		assert.False(t, h.Pending(tid))
	}
	assert.Equal(t, exp, got)
}

// earliest3 returns the thread with the earliest deadline of heaps 0 to
// 2, and its heap's CPU.
func earliest3(h *Timers) (TID, int) {
	t, cpu := None, -1
	var first int64
	for c := 0; c < 3; c++ {
		if u, w := h.Next(c); u != None && (t == None || w < first) {
			t, first, cpu = u, w, c
		}
	}
	return t, cpu
}

func TestTimersPopExpiredRespectsNow(t *testing.T) {
	var h Timers
	h.Init()
	h.Set(1, 100, 0)
	h.Set(2, 50, 0)
	assert.Equal(t, None, h.PopExpired(0, 49))
	assert.Equal(t, TID(2), h.PopExpired(0, 50))
	assert.Equal(t, None, h.PopExpired(0, 99))
	h.Set(1, 10, 0) // re-arm earlier
	assert.Equal(t, TID(1), h.PopExpired(0, 10))
	tid, _ := h.Next(0)
	assert.Equal(t, None, tid)
}

func TestFutexWakeOrderAndAddresses(t *testing.T) {
	var f Futexes
	f.Init()
	// Many addresses share buckets; waiters on one address wake in order.
	for i := 0; i < 100; i++ {
		f.Wait(TID(i), uintptr(0x1000+8*(i%7)))
	}
	var woke []TID
	for {
		tid := wakeBlocked(t, &f, 0x1000+8*3)
		if tid == None {
			break
		}
		woke = append(woke, tid)
		assert.False(t, f.Waiting(tid))
	}
	var exp []TID
	for i := 3; i < 100; i += 7 {
		exp = append(exp, TID(i))
	}
	assert.Equal(t, exp, woke)
	assert.True(t, f.Remove(0))
	assert.False(t, f.Remove(0))
	assert.Equal(t, TID(7), wakeBlocked(t, &f, 0x1000))
	assert.Equal(t, None, wakeBlocked(t, &f, 0x2000))
}
