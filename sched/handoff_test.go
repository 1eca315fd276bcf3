package sched

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHandoffInboxes: pushes land in the named CPU's inbox; PopHandedOff
// empties every inbox, naming the inbox of each thread.
func TestHandoffInboxes(t *testing.T) {
	s := new(Scheduler)
	s.Init(3)
	t0, _ := s.PopHandedOff(0)
	assert.Equal(t, None, t0, "empty inboxes")
	s.Handoffs.Push(2, 5)
	s.Handoffs.Push(1, 7)
	s.Handoffs.Push(2, 9)
	got := map[TID]int{}
	for th, inbox := s.PopHandedOff(0); th != None; th, inbox = s.PopHandedOff(0) {
		got[th] = inbox
	}
	assert.Equal(t, map[TID]int{5: 2, 7: 1, 9: 2}, got, "CPU 0 drains the other CPUs' inboxes too")
}

// handedOffWaiter makes thread w wait on key with a deadline, on a
// scheduler whose CPU 1 is halted and CPU 0 runs thread r, then hands w
// off to CPU 1 as the lock-free FUTEX_WAKE does.
func handedOffWaiter(t *testing.T, key uintptr) (s *Scheduler, r, w TID) {
	s = new(Scheduler)
	s.Init(2)
	r, w = s.Alloc(), s.Alloc()
	s.Start(r, 0, 0)
	s.CPUs[1].Idle = true
	s.Futexes.Wait(w, key)
	s.Block(w, false)
	s.SetTimer(w, 5000, 0)
	got, res := s.Futexes.Claim(key, true)
	require.Equal(t, w, got)
	require.Equal(t, ClaimHandedOff, res)
	require.True(t, s.Futexes.HandedOff(w))
	s.Handoffs.Push(1, w)
	return s, r, w
}

// TestHandedOffThreadIsTheDrainsToWake: once a lock-free FUTEX_WAKE took
// a waiter, its timeout and a signal leave it to the drain (Linux's
// FUTEX_WAIT returns 0 when the wake came first), which wakes it once.
func TestHandedOffThreadIsTheDrainsToWake(t *testing.T) {
	s, _, w := handedOffWaiter(t, 0x1000)
	assert.False(t, s.Futexes.MayHaveWaiters(0x1000), "off the chain: no waiter counted")
	assert.Equal(t, w, s.Expired(6000), "the deadline passes before the drain")
	kick, woke := s.Wake(w, 6000) // the timeout's wake-up
	assert.False(t, woke, "left to the drain")
	assert.Equal(t, NoKick, kick)
	assert.Equal(t, Blocked, s.Threads[w].State)
	kick, woke = s.Wake(w, 6000) // a signal's
	assert.False(t, woke)
	assert.Equal(t, NoKick, kick)
	assert.Equal(t, Blocked, s.Threads[w].State)

	th, inbox := s.PopHandedOff(1)
	require.Equal(t, w, th)
	assert.Equal(t, NoKick, s.WakeHandedOff(th, inbox, 1, 7000), "CPU 1, claimed and idle, runs it itself")
	assert.False(t, s.Futexes.HandedOff(w))
	assert.Equal(t, Runnable, s.Threads[w].State)
	assert.Equal(t, 1, s.Threads[w].CPU)
	assert.Equal(t, 1, s.CPUs[1].RunQ.Len())
	assert.False(t, s.CPUs[1].Idle)
	d := s.Schedule(1, 7000)
	assert.Equal(t, Run, d.Action)
	assert.Equal(t, w, d.Next)

	_, woke = s.Wake(w, 8000)
	assert.False(t, woke, "running now: a later wake-up finds it not blocked")
}

// TestHandedOffDrainedElsewhere: where a thread another CPU drains goes.
// Its deadline is dropped in every case.
func TestHandedOffDrainedElsewhere(t *testing.T) {
	// CPU 0 runs r: the thread goes to claimed CPU 1, still idle, with no
	// second IPI (the waker's is on its way).
	s, _, w := handedOffWaiter(t, 0x2000)
	th, inbox := s.PopHandedOff(0)
	require.Equal(t, w, th)
	require.Equal(t, 1, inbox)
	assert.Equal(t, NoKick, s.WakeHandedOff(th, inbox, 0, 100))
	assert.Equal(t, 1, s.Threads[w].CPU)
	assert.Equal(t, 1, s.CPUs[1].RunQ.Len())
	assert.False(t, s.CPUs[1].Idle, "handed its thread: no longer a candidate")
	assert.False(t, s.Timers.Pending(w), "its deadline is gone")
	assert.False(t, s.Futexes.HandedOff(w))

	// CPU 0's thread r has just blocked (a ping-pong's waker waiting in
	// turn): CPU 0 runs the woken thread itself.
	s, r, w := handedOffWaiter(t, 0x2000)
	s.Block(r, false)
	th, inbox = s.PopHandedOff(0)
	assert.Equal(t, NoKick, s.WakeHandedOff(th, inbox, 0, 100))
	assert.Equal(t, 0, s.Threads[w].CPU)
	assert.True(t, s.CPUs[1].Idle, "CPU 1 is left idle; the waker's IPI finds nothing")
	d := s.Schedule(0, 100)
	assert.Equal(t, Run, d.Action)
	assert.Equal(t, w, d.Next)

	// CPU 1 has woken meanwhile (another interrupt) and CPU 0 is busy: the
	// thread is queued as Wake would queue it.
	s, _, w = handedOffWaiter(t, 0x2000)
	s.Woke(1, false)
	th, inbox = s.PopHandedOff(0)
	kick := s.WakeHandedOff(th, inbox, 0, 100)
	assert.Equal(t, Runnable, s.Threads[w].State)
	assert.Equal(t, 0, s.Threads[w].CPU, "its home CPU, no CPU being idle")
	assert.Equal(t, 0, kick, "its busy home CPU is kicked to arm the slice's end")
}

// TestHandoffsConcurrent: CPUs pushing into inboxes while the lock holder
// pops lose and duplicate nothing (run with -race too).
func TestHandoffsConcurrent(t *testing.T) {
	s := new(Scheduler)
	s.Init(4)
	const pushers, each = 4, MaxThreads / 4
	var wg sync.WaitGroup
	for p := 0; p < pushers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				s.Handoffs.Push(i%4, TID(p*each+i))
			}
		}(p)
	}
	seen := make([]int, MaxThreads)
	n := 0
	for n < pushers*each {
		if th, _ := s.PopHandedOff(0); th != None {
			seen[th]++
			n++
		}
	}
	wg.Wait()
	for i, c := range seen {
		assert.Equal(t, 1, c, "thread %d", i)
	}
	th, _ := s.PopHandedOff(0)
	assert.Equal(t, None, th)
}

// TestFutexBucketLock: lock-free Claims beside waits and removals under a
// stand-in for the kernel lock keep every chain and count whole, and
// each waiter leaves its chain exactly once (run with -race too).
func TestFutexBucketLock(t *testing.T) {
	var f Futexes
	f.Init()
	keys := []uintptr{0x1000, 0x1004, sameBucket(t, 0x1000)}
	var kernel sync.Mutex
	var wg sync.WaitGroup
	claimed := make(chan TID, MaxThreads)
	const waiters = 64
	for i := 0; i < waiters; i++ {
		kernel.Lock()
		f.Wait(TID(i), keys[i%len(keys)])
		kernel.Unlock()
	}
	for w := 0; w < 3; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < waiters; i++ {
				if th, _ := f.Claim(keys[(i+w)%len(keys)], true); th != None {
					claimed <- th
				}
			}
		}(w)
	}
	removed := 0
	for i := 0; i < waiters; i += 2 {
		kernel.Lock()
		if f.Remove(TID(i)) {
			removed++
		}
		kernel.Unlock()
	}
	wg.Wait()
	close(claimed)
	handed := 0
	for th := range claimed {
		assert.True(t, f.HandedOff(th))
		handed++
	}
	left := 0
	for i := range TID(waiters) {
		if f.Waiting(i) {
			left++
			assert.False(t, f.HandedOff(i))
		}
	}
	assert.Equal(t, waiters, handed+removed+left, "each waiter claimed, removed or still queued, once")
	var total int32
	for b := range f.count {
		total += f.count[b]
	}
	assert.Equal(t, int32(left), total, "the counts are the queued waiters")
}

// TestRunHandedOff: an idle CPU woken by a hand-off runs the first
// thread of its inbox under its own run-queue lock, counted running at
// once, and queues the others there, and leaves every case that needs
// the kernel lock to the drain: a thread running on it already, a push
// after its look, a timeout to cancel, a CPU-time timer, a thread queued
// on it, a waiter its old CPU is still switching from, a thread not
// blocked, each for any thread of the inbox.
func TestRunHandedOff(t *testing.T) {
	// handOff makes a new thread block on key (CPU 0 its last CPU) and
	// hands it to halted CPU 1, as a lock-free FUTEX_WAKE does.
	handOff := func(t *testing.T, s *Scheduler, key uintptr) TID {
		w := s.Alloc()
		s.Futexes.Wait(w, key)
		s.Block(w, false)
		got, res := s.Futexes.Claim(key, true)
		require.Equal(t, w, got)
		require.Equal(t, ClaimHandedOff, res)
		s.Handoffs.Push(1, w)
		return w
	}
	// setup: CPU 0 runs r; w is handed to halted CPU 1.
	setup := func(t *testing.T) (s *Scheduler, r, w TID) {
		s = new(Scheduler)
		s.Init(2)
		r = s.Alloc()
		s.Start(r, 0, 0)
		s.CPUs[1].Idle = true
		return s, r, handOff(t, s, 0x1000)
	}
	t.Run("runs it", func(t *testing.T) {
		s, _, w := setup(t)
		ran, queued := s.RunHandedOff(1, 700)
		require.Equal(t, w, ran)
		assert.Zero(t, queued)
		assert.Equal(t, Running, s.Threads[w].State)
		assert.Equal(t, 1, s.Threads[w].CPU)
		assert.Equal(t, w, s.CPUs[1].Cur)
		assert.Equal(t, int64(700), s.CPUs[1].SliceStart)
		assert.Equal(t, int64(2), s.Running)
		assert.False(t, s.CPUs[1].Idle)
		assert.False(t, s.Futexes.HandedOff(w), "its wait is over")
		assert.True(t, s.Handoffs.Empty(1))
		assert.Equal(t, 1, s.RunningOn(w))
		x := handOff(t, s, 0x2000)
		ran, _ = s.RunHandedOff(1, 800)
		assert.Equal(t, None, ran, "a CPU that runs a thread runs no other")
		assert.Equal(t, x, TID(s.Handoffs.head[1]), "left in the inbox, for the drain")
	})
	t.Run("a timeout in its own heap, cancelled", func(t *testing.T) {
		// A FUTEX_WAIT that blocked on CPU 1 with a timeout, handed back
		// to it: CPU 1's lock covers its heap.
		s, _, w := setup(t)
		s.Threads[w].CPU = 1
		s.SetTimer(w, 5000, 1)
		ran, _ := s.RunHandedOff(1, 700)
		require.Equal(t, w, ran)
		assert.False(t, s.Timers.Pending(w), "its timeout is gone")
		assert.Zero(t, s.Timers.Len())
	})
	t.Run("several: the first pushed runs, the others queue in order", func(t *testing.T) {
		s, _, w := setup(t)
		x, y := handOff(t, s, 0x2000), handOff(t, s, 0x3000)
		ran, n := s.RunHandedOff(1, 700)
		require.Equal(t, w, ran)
		assert.Equal(t, 2, n)
		assert.Equal(t, w, s.CPUs[1].Cur)
		assert.Equal(t, []TID{x, y}, queued(&s.CPUs[1].RunQ, &s.RunLinks))
		assert.Equal(t, x, s.QueuedAt(1, 0))
		assert.Equal(t, y, s.QueuedAt(1, 1))
		assert.Equal(t, None, s.QueuedAt(1, 2))
		for _, q := range []TID{x, y} {
			assert.Equal(t, Runnable, s.Threads[q].State)
			assert.Equal(t, 1, s.Threads[q].CPU)
			assert.Equal(t, int64(700), s.Threads[q].Queued)
			assert.False(t, s.Futexes.HandedOff(q), "its wait is over")
		}
		assert.Equal(t, int64(2), s.Running, "the one that runs counted, the queued ones not")
		assert.True(t, s.Handoffs.Empty(1))
		assert.False(t, s.CPUs[1].Idle)
	})
	for _, c := range []struct {
		name  string
		setup func(t *testing.T, s *Scheduler, r, w TID)
	}{
		{"a timeout in another CPU's heap", func(t *testing.T, s *Scheduler, r, w TID) { s.SetTimer(w, 5000, 0) }},
		{"a second thread in the inbox with a timeout in another CPU's heap", func(t *testing.T, s *Scheduler, r, w TID) {
			s.SetTimer(handOff(t, s, 0x2000), 5000, 0)
		}},
		{"a CPU-time timer armed", func(t *testing.T, s *Scheduler, r, w TID) { s.NArmed = 1 }},
		{"a thread queued on it", func(t *testing.T, s *Scheduler, r, w TID) {
			x := s.Alloc()
			s.queueOn(1, x, 0)
		}},
		{"its old CPU still switching from it", func(t *testing.T, s *Scheduler, r, w TID) { s.CPUs[0].switching = 1 }},
		{"not blocked", func(t *testing.T, s *Scheduler, r, w TID) { s.Threads[w].State = Runnable }},
	} {
		// Each refusal with w alone in the inbox, and below a thread
		// that may run (pushed after it, on top, its last CPU CPU 1): the
		// look checks every thread of the inbox, not only the top.
		for _, below := range []bool{false, true} {
			name := c.name
			if below {
				name += ", below another thread"
			}
			t.Run(name, func(t *testing.T) {
				s, _, w := setup(t)
				if below {
					s.Threads[handOff(t, s, 0x3000)].CPU = 1
				}
				c.setup(t, s, s.CPUs[0].Cur, w)
				inbox, qlen := s.Handoffs.head[1], s.CPUs[1].RunQ.Len()
				ran, queued := s.RunHandedOff(1, 700)
				assert.Equal(t, None, ran)
				assert.Zero(t, queued)
				assert.Equal(t, inbox, s.Handoffs.head[1], "the inbox as it was")
				assert.NotEqual(t, Running, s.Threads[w].State)
				assert.True(t, s.Futexes.HandedOff(w), "left to the drain")
				assert.Equal(t, int64(1), s.Running)
				assert.Equal(t, None, s.CPUs[1].Cur)
				assert.Equal(t, qlen, s.CPUs[1].RunQ.Len(), "nothing queued")
			})
		}
	}
	t.Run("a push between the look and the take", func(t *testing.T) {
		s, _, w := setup(t)
		top := TID(s.Handoffs.head[1])
		require.Equal(t, w, top)
		x := handOff(t, s, 0x2000)
		assert.False(t, s.Handoffs.takeAll(1, top), "the inbox's top is no longer the one looked at")
		assert.Equal(t, x, TID(s.Handoffs.head[1]), "the inbox as it was")
		assert.True(t, s.Handoffs.takeAll(1, x))
		assert.True(t, s.Handoffs.Empty(1))
	})
}
