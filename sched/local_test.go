package sched

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// busyCPUs returns a scheduler with ncpu CPUs, each running a thread of
// its own, and waiter w, blocked on key after it last ran on CPU home.
func busyCPUs(t *testing.T, ncpu, home int, key uintptr) (s *Scheduler, w TID) {
	s = new(Scheduler)
	s.Init(ncpu)
	for c := 0; c < ncpu; c++ {
		s.Start(s.Alloc(), c, 0)
	}
	w = s.Alloc()
	require.NotEqual(t, None, w)
	s.Threads[w].CPU = home
	s.Futexes.Wait(w, key)
	s.Block(w, false)
	return s, w
}

// TestClaimHere: which waiters a FUTEX_WAKE on CPU 0 queues there under
// its run-queue lock (local.go), and that a refusal changes nothing.
func TestClaimHere(t *testing.T) {
	const key = 0x2000
	for _, tc := range []struct {
		name  string
		home  int
		setup func(s *Scheduler, w TID)
		want  ClaimResult
	}{
		{"its own CPU", 0, nil, ClaimQueuedHere},
		{"a busy CPU, the waker's queue empty", 1, nil, ClaimMovedHere},
		{"its own CPU, threads queued there", 0, queueOnZero, ClaimQueuedHere},
		{"a busy CPU, threads queued on the waker's", 1, queueOnZero, ClaimNeedsCPU},
		{"a CPU still switching from it", 1, func(s *Scheduler, w TID) { s.CPUs[1].switching = 1 }, ClaimNeedsCPU},
		{"a timeout to cancel", 1, func(s *Scheduler, w TID) { s.SetTimer(w, 5000, 0) }, ClaimNeedsCPU},
		{"an idle CPU", 1, func(s *Scheduler, w TID) { s.CPUs[1].Idle = true }, ClaimNeedsCPU},
		{"a napping CPU", 0, func(s *Scheduler, w TID) { s.CPUs[1].napping = 1 }, ClaimNeedsCPU},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, w := busyCPUs(t, 2, tc.home, key)
			if tc.setup != nil {
				tc.setup(s, w)
			}
			queued := s.CPUs[0].RunQ.Len()
			got, r := s.ClaimHere(key, 0, 100)
			require.Equal(t, tc.want, r)
			if r == ClaimNeedsCPU {
				assert.Equal(t, None, got)
				assert.Equal(t, Blocked, s.Threads[w].State, "left blocked")
				assert.Equal(t, tc.home, s.Threads[w].CPU)
				assert.True(t, s.Futexes.in[w], "left on its chain for the kernel lock's path")
				assert.Equal(t, queued, s.CPUs[0].RunQ.Len())
				return
			}
			assert.Equal(t, w, got)
			assert.Equal(t, Runnable, s.Threads[w].State)
			assert.Equal(t, 0, s.Threads[w].CPU, "queued on the waker's CPU")
			assert.Equal(t, queued+1, s.CPUs[0].RunQ.Len())
			assert.False(t, s.Futexes.in[w], "off its chain")
			assert.False(t, s.Futexes.waited[w], "its wait is over")
		})
	}
	s, _ := busyCPUs(t, 2, 0, key)
	_, r := s.ClaimHere(key+4, 0, 100)
	assert.Equal(t, ClaimNobody, r, "nobody waits on another word")
}

// queueOnZero queues a new runnable thread on CPU 0 (no CPU is idle, and
// it last ran there).
func queueOnZero(s *Scheduler, _ TID) {
	x := s.Alloc()
	s.Threads[x].CPU = 0
	s.MakeRunnable(x, 50)
}

// TestSwitchingFlag: WaitHereLocked marks its CPU switching until
// EndSwitch, and a waker on another CPU leaves the waiter alone until
// then.
func TestSwitchingFlag(t *testing.T) {
	const key = 0x3000
	s := new(Scheduler)
	s.Init(2)
	a, b, q := s.Alloc(), s.Alloc(), s.Alloc()
	s.Start(a, 0, 0)
	s.Start(b, 1, 0)
	s.Threads[q].CPU = 1
	s.MakeRunnable(q, 10) // queued on CPU 1: b's wait will switch to it
	s.Futexes.Lock(key)
	s.WaitHereLocked(b, key)
	s.Futexes.Unlock(key)
	assert.Equal(t, int32(1), s.CPUs[1].switching)
	_, r := s.ClaimHere(key, 0, 20)
	assert.Equal(t, ClaimNeedsCPU, r, "CPU 1 is still switching from b")
	require.Equal(t, q, s.SwitchLocal(1, 30))
	s.EndSwitch(1)
	assert.Equal(t, int32(0), s.CPUs[1].switching)
	got, r := s.ClaimHere(key, 0, 40)
	assert.Equal(t, ClaimMovedHere, r)
	assert.Equal(t, b, got)
}
