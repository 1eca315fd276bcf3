package sched

import (
	"fmt"
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
		{"a timeout in another CPU's heap", 1, func(s *Scheduler, w TID) { s.SetTimer(w, 5000, 1) }, ClaimNeedsCPU},
		{"a timeout in the waker's heap, its own CPU", 0, func(s *Scheduler, w TID) { s.SetTimer(w, 5000, 0) }, ClaimQueuedHere},
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
			checkClaim(t, s, w, got, r, tc.home, 0, queued)
		})
	}
	s, _ := busyCPUs(t, 2, 0, key)
	_, r := s.ClaimHere(key+4, 0, 100)
	assert.Equal(t, ClaimNobody, r, "nobody waits on another word")
}

// TestClaimOnto: which waiters a FUTEX_WAKE on busy CPU 0 queues on
// napping CPU 2 under CPU 2's run-queue lock (local.go's ClaimOnto), and
// that a refusal changes nothing.
func TestClaimOnto(t *testing.T) {
	const key = 0x2800
	for _, tc := range []struct {
		name  string
		home  int
		setup func(s *Scheduler, w TID)
		want  ClaimResult
	}{
		{"it last ran on the napping CPU", 2, nil, ClaimQueuedHere},
		{"it last ran on a busy CPU", 1, nil, ClaimMovedHere},
		{"threads queued on the napping CPU", 1, func(s *Scheduler, w TID) { queueOn(s, 2) }, ClaimMovedHere},
		{"a CPU still switching from it", 1, func(s *Scheduler, w TID) { s.CPUs[1].switching = 1 }, ClaimNeedsCPU},
		{"a timeout in another CPU's heap", 1, func(s *Scheduler, w TID) { s.SetTimer(w, 5000, 1) }, ClaimNeedsCPU},
		{"a timeout in the napping CPU's heap", 2, func(s *Scheduler, w TID) { s.SetTimer(w, 5000, 2) }, ClaimQueuedHere},
		{"an idle CPU: a hand-off serves it", 1, func(s *Scheduler, w TID) { s.CPUs[3].Idle = true }, ClaimNeedsCPU},
		{"a napping waiter", 1, func(s *Scheduler, w TID) { s.Futexes.napWait[w] = napHalting }, ClaimNeedsCPU},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, w := busyCPUs(t, 4, tc.home, key)
			s.CPUs[2].napping = 1
			if tc.setup != nil {
				tc.setup(s, w)
			}
			queued := s.CPUs[2].RunQ.Len()
			got, r := s.ClaimOnto(key, 2, 100)
			require.Equal(t, tc.want, r)
			checkClaim(t, s, w, got, r, tc.home, 2, queued)
		})
	}
	s, _ := busyCPUs(t, 4, 1, key)
	s.CPUs[2].napping = 1
	_, r := s.ClaimOnto(key+4, 2, 100)
	assert.Equal(t, ClaimNobody, r, "nobody waits on another word")
}

// queueOn queues a new runnable thread on CPU c (no CPU is idle, and it
// last ran there).
func queueOn(s *Scheduler, c int) {
	x := s.Alloc()
	s.Threads[x].CPU = c
	s.queueOn(c, x, 50)
}

// checkClaim checks what ClaimHere or ClaimOnto (result r, thread got)
// did with waiter w, which last ran on CPU home, for CPU on, whose queue
// held queued threads before: a refusal leaves w blocked on its chain
// and the queue as it was; a claim takes w off its chain, its wait over,
// and queues it on on.
func checkClaim(t *testing.T, s *Scheduler, w, got TID, r ClaimResult, home, on, queued int) {
	t.Helper()
	if r == ClaimNeedsCPU {
		assert.Equal(t, None, got)
		assert.Equal(t, Blocked, s.Threads[w].State, "left blocked")
		assert.Equal(t, home, s.Threads[w].CPU)
		assert.True(t, s.Futexes.in[w], "left on its chain for the kernel lock's path")
		assert.Equal(t, queued, s.CPUs[on].RunQ.Len())
		return
	}
	assert.Equal(t, w, got)
	assert.Equal(t, Runnable, s.Threads[w].State)
	assert.Equal(t, on, s.Threads[w].CPU, "queued on the claiming CPU")
	assert.Equal(t, queued+1, s.CPUs[on].RunQ.Len())
	assert.False(t, s.Futexes.in[w], "off its chain")
	assert.False(t, s.Futexes.waited[w], "its wait is over")
	assert.False(t, s.Timers.Pending(w), "no timeout left")
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
	s.WaitHereLocked(b, key, 0)
	s.Futexes.Unlock(key)
	assert.Equal(t, int32(1), s.CPUs[1].switching)
	_, r := s.ClaimHere(key, 0, 20)
	assert.Equal(t, ClaimNeedsCPU, r, "CPU 1 is still switching from b")
	require.Equal(t, q, s.SwitchLocal(1, 1, 30))
	s.EndSwitch(1)
	assert.Equal(t, int32(0), s.CPUs[1].switching)
	got, r := s.ClaimHere(key, 0, 40)
	assert.Equal(t, ClaimMovedHere, r)
	assert.Equal(t, b, got)
}

// TestTickHere: which timer interrupts CPU 0 takes under its run-queue
// lock (local.go's TickHere): the thread goes on and the timer is no
// longer armed; a refusal, for the kernel lock's path, changes nothing.
func TestTickHere(t *testing.T) {
	const now = 10_000_000
	for _, tc := range []struct {
		name  string
		setup func(s *Scheduler)
		want  bool
	}{
		{"a slice check, nothing queued", nil, true},
		{"a thread queued, the slice not over", func(s *Scheduler) { queueOnZero(s, None); s.CPUs[0].SliceStart = now - s.SliceNs/2 }, true},
		{"a thread queued, the slice over", func(s *Scheduler) { queueOnZero(s, None) }, false},
		{"the slice not over, nothing queued", func(s *Scheduler) { s.CPUs[0].SliceStart = now - s.SliceNs/2 }, true},
		{"a yield pending", func(s *Scheduler) { s.CPUs[0].Resched = true }, false},
		{"a deadline of its heap passed", func(s *Scheduler) { s.SetTimer(sleeper(s), now-1, 0) }, false},
		{"a deadline of its heap to come (the timer fired early)", func(s *Scheduler) { s.SetTimer(sleeper(s), now+1000, 0) }, true},
		{"another CPU's deadline passed", func(s *Scheduler) { s.SetTimer(sleeper(s), now-1, 1) }, true},
		{"a CPU-time timer armed", func(s *Scheduler) { s.NArmed = 1 }, false},
		{"no running thread", func(s *Scheduler) { s.CPUs[0].Cur = None }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := busyCPUs(t, 2, 1, 0x2000)
			s.CPUs[0].Armed = now - 5
			if tc.setup != nil {
				tc.setup(s)
			}
			before := s.CPUs[0]
			own, timers := s.Timers.LenOn(0), s.Timers.Len()
			require.Equal(t, tc.want, s.TickHere(0, now))
			after := s.CPUs[0]
			assert.Equal(t, own, s.Timers.LenOn(0), "its heap stays")
			assert.Equal(t, timers, s.Timers.Len(), "no deadline expired")
			assert.Equal(t, before.Cur, after.Cur, "the running thread stays")
			assert.Equal(t, before.RunQ.Len(), after.RunQ.Len())
			assert.Equal(t, before.Resched, after.Resched)
			var ran int64
			if before.Cur != None {
				ran = s.Threads[before.Cur].CPUTime
			}
			if tc.want {
				assert.Zero(t, after.Armed, "the one-shot timer fired: no longer armed")
				assert.EqualValues(t, now, ran, "charged the time it ran, as the locked path charges it")
				assert.EqualValues(t, now, s.ProcessCPU)
			} else {
				assert.Equal(t, before.Armed, after.Armed, "left for the kernel lock's path's Tick")
				assert.Zero(t, ran, "left for the kernel lock's path to charge")
			}
		})
	}
}

// sleeper returns a new thread blocked in a timed wait, for a deadline.
func sleeper(s *Scheduler) TID {
	x := s.Alloc()
	s.Threads[x].State = Blocked
	return x
}

// TestHaltAgain: when an idle CPU woken by an IPI halts again without
// the kernel lock (policy.go's HaltAgain), and that it is then idle once
// more, so that the next thread queued for it comes with an IPI.
func TestHaltAgain(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(s *Scheduler)
		want  bool
	}{
		{"nothing waits", nil, true},
		{"the thread queued for it ran elsewhere", func(s *Scheduler) {
			x := s.Alloc()
			s.Threads[x].CPU = 1
			require.Equal(t, 1, s.MakeRunnable(x, 50), "queued on the idle CPU, with an IPI")
			require.False(t, s.CPUs[1].Idle, "owed an IPI: not idle")
			require.Equal(t, x, s.pop(0), "CPU 0, its queue empty, steals it")
		}, true},
		{"a thread queued for it", func(s *Scheduler) {
			x := s.Alloc()
			s.Threads[x].CPU = 1
			s.MakeRunnable(x, 50)
		}, false},
		{"a thread queued on a busy CPU (it would steal it)", func(s *Scheduler) {
			x := s.Alloc()
			s.Threads[x].CPU = 0
			s.Threads[x].State = Runnable
			s.CPUs[0].RunQ.Push(&s.RunLinks, x)
		}, false},
		{"a thread in its inbox", func(s *Scheduler) {
			x := s.Alloc()
			s.Handoffs.Push(1, x)
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := new(Scheduler)
			s.Init(2)
			s.Start(s.Alloc(), 0, 0)
			require.Equal(t, Halt, s.Schedule(1, 10).Action, "CPU 1 has nothing to run")
			if tc.setup != nil {
				tc.setup(s)
			}
			idle := s.CPUs[1].Idle
			require.Equal(t, tc.want, s.HaltAgain(1))
			if !tc.want {
				assert.Equal(t, idle, s.CPUs[1].Idle, "left for the kernel lock's path")
				return
			}
			assert.True(t, s.CPUs[1].Idle, "idle again")
			x := s.Alloc()
			s.Threads[x].CPU = 0
			assert.Equal(t, 1, s.MakeRunnable(x, 100), "the next thread for it comes with an IPI")
		})
	}
}

// TestPreemptHere: which turns CPU 0 ends under its run-queue lock
// after a timer interrupt or a kick (local.go): the slice over or a
// yield pending, with a thread queued there, nothing else due and no CPU
// idle or napping; the running thread then goes to the back of the
// queue, charged, and the oldest queued one runs with a new slice. A
// refusal changes nothing.
func TestPreemptHere(t *testing.T) {
	const now = 10_000_000
	for _, tc := range []struct {
		name  string
		setup func(s *Scheduler)
		want  bool
	}{
		{"the slice over, a thread queued", nil, true},
		{"a yield pending, the slice not over", func(s *Scheduler) { s.CPUs[0].SliceStart = now - s.SliceNs/2; s.CPUs[0].Resched = true }, true},
		{"the slice not over", func(s *Scheduler) { s.CPUs[0].SliceStart = now - s.SliceNs/2 }, false},
		{"nothing queued", func(s *Scheduler) {
			for s.CPUs[0].RunQ.Len() > 0 {
				s.CPUs[0].RunQ.Pop(&s.RunLinks)
			}
		}, false},
		{"a CPU idle", func(s *Scheduler) { s.CPUs[1].Idle = true }, false},
		{"a CPU napping", func(s *Scheduler) { s.CPUs[1].napping = 1 }, false},
		{"a thread in its inbox", func(s *Scheduler) { s.Handoffs.Push(0, s.Alloc()) }, false},
		{"a deadline of its heap passed", func(s *Scheduler) { s.SetTimer(sleeper(s), now-1, 0) }, false},
		{"a CPU-time timer armed", func(s *Scheduler) { s.NArmed = 1 }, false},
		{"no running thread", func(s *Scheduler) { s.CPUs[0].Cur = None }, false},
	} {
		for _, timer := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, timer %v", tc.name, timer), func(t *testing.T) {
				s, _ := busyCPUs(t, 2, 1, 0x2000)
				queueOnZero(s, None)
				queueOnZero(s, None)
				s.CPUs[0].Armed = now - 5
				if tc.setup != nil {
					tc.setup(s)
				}
				before := s.CPUs[0]
				cur, running, oldest := before.Cur, s.Running, before.RunQ.head
				next := s.PreemptHere(0, 0, now, timer)
				after := s.CPUs[0]
				if !tc.want {
					assert.Equal(t, None, next)
					assert.Equal(t, before, after, "nothing changed")
					return
				}
				checkPreempted(t, s, &before, cur, next, oldest, running, now, timer)
				assert.Equal(t, cur, s.CPUs[0].RunQ.tail, "the preempted one waits at the back")
				assert.Equal(t, before.RunQ.Len(), s.CPUs[0].RunQ.Len(), "one off the queue, one on it")
			})
		}
	}
}

// TestPreemptOnto: a turn over on CPU 0 while CPU 2 naps and none is
// idle queues the preempted thread on CPU 2 when the kernel names it
// (local.go's PreemptHere with o = 2), and runs the oldest thread of
// CPU 0's queue, as the kernel lock's path would (MakeRunnable's
// napping CPU); every refusal changes nothing.
func TestPreemptOnto(t *testing.T) {
	const now = 10_000_000
	for _, tc := range []struct {
		name  string
		onto  int
		setup func(s *Scheduler)
		want  bool
	}{
		{"the slice over, CPU 2 napping", 2, nil, true},
		{"a yield pending, the slice not over", 2, func(s *Scheduler) { s.CPUs[0].SliceStart = now - s.SliceNs/2; s.CPUs[0].Resched = true }, true},
		{"the slice not over", 2, func(s *Scheduler) { s.CPUs[0].SliceStart = now - s.SliceNs/2 }, false},
		{"CPU 2 no longer naps", 2, func(s *Scheduler) { s.CPUs[2].napping = 0 }, false},
		{"another CPU idle", 2, func(s *Scheduler) { s.CPUs[1].Idle = true }, false},
		{"nothing queued", 2, func(s *Scheduler) {
			for s.CPUs[0].RunQ.Len() > 0 {
				s.CPUs[0].RunQ.Pop(&s.RunLinks)
			}
		}, false},
		{"a thread in its inbox", 2, func(s *Scheduler) { s.Handoffs.Push(0, s.Alloc()) }, false},
		{"a deadline of its heap passed", 2, func(s *Scheduler) { s.SetTimer(sleeper(s), now-1, 0) }, false},
		{"a CPU-time timer armed", 2, func(s *Scheduler) { s.NArmed = 1 }, false},
		{"no running thread", 2, func(s *Scheduler) { s.CPUs[0].Cur = None }, false},
	} {
		for _, timer := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s, timer %v", tc.name, timer), func(t *testing.T) {
				s, _ := busyCPUs(t, 3, 1, 0x2000)
				queueOnZero(s, None)
				queueOnZero(s, None)
				s.CPUs[0].Armed = now - 5
				s.CPUs[2].napping = 1
				if tc.setup != nil {
					tc.setup(s)
				}
				before, napper := s.CPUs[0], s.CPUs[2]
				cur, running, oldest := before.Cur, s.Running, before.RunQ.head
				next := s.PreemptHere(0, tc.onto, now, timer)
				after := s.CPUs[0]
				if !tc.want {
					assert.Equal(t, None, next)
					assert.Equal(t, before, after, "nothing changed")
					assert.Equal(t, napper, s.CPUs[2], "nothing changed on the napping CPU")
					return
				}
				checkPreempted(t, s, &before, cur, next, oldest, running, now, timer)
				assert.Equal(t, before.RunQ.Len()-1, after.RunQ.Len(), "one off CPU 0's queue")
				assert.Equal(t, 1, s.CPUs[2].RunQ.Len(), "the preempted thread waits on the napping CPU")
				assert.Equal(t, cur, s.CPUs[2].RunQ.head)
				assert.Equal(t, 2, s.Threads[cur].CPU)
				assert.EqualValues(t, now, s.Threads[cur].Queued, "queued now")
				assert.False(t, s.CPUs[2].Idle)
			})
		}
	}
}

// checkPreempted checks what a PreemptHere on CPU 0 at now that
// returned next did there: the oldest thread of CPU 0's queue (oldest)
// runs with a new slice, the preempted thread cur waits, charged the
// time it ran, the running count is as it was (running), and the timer
// is off after a timer interrupt, as it was after a kick. before is
// CPU 0's state before the call.
func checkPreempted(t *testing.T, s *Scheduler, before *CPU, cur, next, oldest TID, running int64, now int64, timer bool) {
	t.Helper()
	after := &s.CPUs[0]
	require.NotEqual(t, None, next)
	assert.Equal(t, oldest, next, "the oldest queued thread runs")
	assert.Equal(t, next, after.Cur)
	assert.Equal(t, Running, s.Threads[next].State)
	assert.Equal(t, Runnable, s.Threads[cur].State, "the preempted thread waits")
	assert.EqualValues(t, now, s.Threads[cur].CPUTime, "charged the time it ran")
	assert.Equal(t, running, s.Running, "one thread leaves the CPU, one comes")
	assert.EqualValues(t, now, after.SliceStart, "a new slice")
	assert.False(t, after.Resched)
	if timer {
		assert.Zero(t, after.Armed, "the one-shot timer fired")
	} else {
		assert.Equal(t, before.Armed, after.Armed)
	}
}

// TestKickHere: a kick under CPU 0's run-queue lock (local.go's
// KickHere) lets the running thread go on, charged, with its timer still
// armed, unless the kernel lock's path has work there: a hand-off in the
// inbox to drain, a switch to make, an owned deadline passed.
func TestKickHere(t *testing.T) {
	const now = 10_000_000
	for _, tc := range []struct {
		name  string
		setup func(s *Scheduler)
		want  bool
	}{
		{"a signal for its thread (nothing queued)", nil, true},
		{"a thread queued, the slice not over (the timer to arm)", func(s *Scheduler) { queueOnZero(s, None); s.CPUs[0].SliceStart = now - s.SliceNs/2 }, true},
		{"a thread queued, the slice over", func(s *Scheduler) { queueOnZero(s, None) }, false},
		{"a thread in its inbox", func(s *Scheduler) { s.Handoffs.Push(0, s.Alloc()) }, false},
		{"a deadline of its heap passed", func(s *Scheduler) { s.SetTimer(sleeper(s), now-1, 0) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := busyCPUs(t, 2, 1, 0x2000)
			s.CPUs[0].Armed = now + 5
			if tc.setup != nil {
				tc.setup(s)
			}
			cur := s.CPUs[0].Cur
			require.Equal(t, tc.want, s.KickHere(0, now))
			assert.Equal(t, cur, s.CPUs[0].Cur, "the running thread stays")
			assert.EqualValues(t, now+5, s.CPUs[0].Armed, "a kick leaves the timer armed")
			if tc.want {
				assert.EqualValues(t, now, s.Threads[cur].CPUTime, "charged")
			} else {
				assert.Zero(t, s.Threads[cur].CPUTime, "left for the kernel lock's path")
			}
		})
	}
}

// TestSwitchLocalSteals: a FUTEX_WAIT on a CPU with nothing queued
// switches to the oldest thread of the longest other queue, as
// Schedule's steal would: it runs here, the victim's queue loses it, and
// the running count stays as it was.
func TestSwitchLocalSteals(t *testing.T) {
	s := new(Scheduler)
	s.Init(3)
	a, b, q1, q2, r := s.Alloc(), s.Alloc(), s.Alloc(), s.Alloc(), s.Alloc()
	s.Start(a, 0, 0)
	s.Start(b, 1, 0)
	s.Start(r, 2, 0)
	for _, q := range []TID{q1, q2} {
		s.Threads[q].CPU = 1
		s.queueOn(1, q, 5)
	}
	x := s.Alloc()
	s.queueOn(2, x, 5)
	assert.Equal(t, 2, s.StealVictim(1), "CPU 1's own queue does not count")
	require.Equal(t, 1, s.StealVictim(0), "the longest other queue")
	assert.Equal(t, None, s.SwitchLocal(0, 1, 20), "a thread still running does not switch")
	s.Futexes.Lock(0x40)
	s.WaitHereLocked(a, 0x40, 0)
	s.Futexes.Unlock(0x40)
	require.Equal(t, q1, s.SwitchLocal(0, 1, 20))
	s.EndSwitch(0)
	assert.Equal(t, Running, s.Threads[q1].State)
	assert.Equal(t, 0, s.Threads[q1].CPU)
	assert.Equal(t, q1, s.CPUs[0].Cur)
	assert.Equal(t, int64(20), s.CPUs[0].SliceStart)
	assert.Equal(t, []TID{q2}, queued(&s.CPUs[1].RunQ, &s.RunLinks))
	assert.Equal(t, int64(3), s.Running)
	assert.Equal(t, Blocked, s.Threads[a].State)
}

// TestIdleTimerFired: an idle CPU's timer interrupt is the kernel lock's
// to serve only when the earliest deadline of its own heap has passed (a
// busy CPU's deadlines are that CPU's timer's); either way the timer is
// off. CPU 0 runs a thread, CPUs 1 and 2 are idle.
func TestIdleTimerFired(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(s *Scheduler, w TID)
		due   bool
	}{
		{"no deadline", func(s *Scheduler, w TID) {}, false},
		{"its deadline passed", func(s *Scheduler, w TID) { s.SetTimer(w, 500, 1) }, true},
		{"its deadline to come", func(s *Scheduler, w TID) { s.SetTimer(w, 5000, 1) }, false},
		{"a busy CPU's deadline passed", func(s *Scheduler, w TID) { s.SetTimer(w, 500, 0) }, false},
		{"a busy CPU's deadline to come", func(s *Scheduler, w TID) { s.SetTimer(w, 5000, 0) }, false},
		{"another idle CPU's deadline passed", func(s *Scheduler, w TID) { s.SetTimer(w, 500, 2) }, false},
		{"a CPU-time timer armed (none on an idle CPU's timer)", func(s *Scheduler, w TID) { s.NArmed = 1 }, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := new(Scheduler)
			s.Init(3)
			r, w := s.Alloc(), s.Alloc()
			s.Start(r, 0, 0)
			s.Block(w, false)
			s.CPUs[1].Idle = true
			s.CPUs[2].Idle = true
			s.CPUs[1].Armed = 900
			c.setup(s, w)
			assert.Equal(t, c.due, s.IdleTimerFired(1, 1000))
			assert.Zero(t, s.CPUs[1].Armed, "the timer fired: it is off")
		})
	}
}

// TestReserveIdle: a FUTEX_WAIT that would block with nothing to run
// anywhere may leave its CPU idle under its run-queue lock only while
// another thread still runs (the deadlock check is Schedule's), nothing
// waits in a run queue or its CPU's inbox and no CPU-time timer is
// armed; IdleHere then takes the blocked thread off the CPU as
// Schedule's halt would.
func TestReserveIdle(t *testing.T) {
	setup := func() (s *Scheduler, r, o TID) { return runningPair(3) }
	t.Run("goes idle", func(t *testing.T) {
		s, r, _ := setup()
		require.True(t, s.ReserveIdle(0, false))
		assert.Equal(t, int64(1), s.Running, "r is counted off at once")
		s.Futexes.Lock(0x1000)
		s.WaitHereLocked(r, 0x1000, 0)
		s.Futexes.Unlock(0x1000)
		s.IdleHere(0, 300)
		s.EndSwitch(0)
		assert.Equal(t, None, s.CPUs[0].Cur)
		assert.True(t, s.CPUs[0].Idle, "MakeRunnable places a woken thread here, with an IPI")
		assert.Equal(t, Blocked, s.Threads[r].State)
		assert.Equal(t, -1, s.RunningOn(r))
		assert.Equal(t, int64(300), s.Threads[r].CPUTime, "charged its CPU time")
		assert.Equal(t, 0, s.MakeRunnable(r, 400), "its wake comes back to the idle CPU")
	})
	t.Run("given back", func(t *testing.T) {
		s, _, _ := setup()
		require.True(t, s.ReserveIdle(0, false))
		s.UnreserveIdle()
		assert.Equal(t, int64(2), s.Running)
	})
	t.Run("two at once leave one running", func(t *testing.T) {
		s, _, _ := setup()
		require.True(t, s.ReserveIdle(0, false))
		assert.False(t, s.ReserveIdle(1, false), "the last running thread blocks on the locked path")
		assert.Equal(t, int64(1), s.Running)
	})
	t.Run("the last running thread, a deadline pending", func(t *testing.T) {
		// o sleeps until 5000: its timer will wake it, so no deadlock
		// check is owed when r blocks too.
		s, _, o := setup()
		s.Block(o, false)
		s.SetTimer(o, 5000, 1)
		s.CPUs[1].Cur = None
		s.Running--
		require.True(t, s.ReserveIdle(0, false))
		assert.Equal(t, int64(0), s.Running)
		assert.False(t, s.ReserveIdle(0, false), "never below 0")
	})
	t.Run("the last running thread, its own sleep's deadline", func(t *testing.T) {
		// r sleeps (SleepHere): its own deadline will wake it.
		s, _, _ := setup()
		require.True(t, s.ReserveIdle(0, false))
		assert.False(t, s.ReserveIdle(1, false), "a wait without a deadline: the locked path")
		assert.True(t, s.ReserveIdle(1, true), "a sleep: its deadline is pending")
		assert.Equal(t, int64(0), s.Running)
		assert.False(t, s.ReserveIdle(1, true), "never below 0")
	})
	for _, c := range []struct {
		name  string
		setup func(s *Scheduler)
	}{
		{"the last running thread", func(s *Scheduler) {
			s.Threads[s.CPUs[1].Cur].State = Blocked
			s.CPUs[1].Cur = None
			s.Running--
		}},
		{"a thread queued on its CPU", func(s *Scheduler) { s.queueOn(0, s.Alloc(), 0) }},
		{"a thread queued on another CPU", func(s *Scheduler) { s.queueOn(2, s.Alloc(), 0) }},
		{"a thread in its inbox", func(s *Scheduler) { s.Handoffs.Push(0, s.Alloc()) }},
		{"a CPU-time timer armed", func(s *Scheduler) { s.NArmed = 1 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, _, _ := setup()
			c.setup(s)
			running := s.Running
			assert.False(t, s.ReserveIdle(0, false))
			assert.Equal(t, running, s.Running, "nothing changed")
		})
	}
}

// runningPair returns a scheduler of ncpu CPUs (2 or more) where CPU 0
// runs r and CPU 1 runs o.
func runningPair(ncpu int) (s *Scheduler, r, o TID) {
	s = new(Scheduler)
	s.Init(ncpu)
	r, o = s.Alloc(), s.Alloc()
	s.Start(r, 0, 0)
	s.Start(o, 1, 0)
	return s, r, o
}

// TestDeviceWaitHere: an epoll_wait that blocks under its CPU's
// run-queue lock (kernel/fastepoll.go) is a device wait, which the
// deadlock check counts as able to go on, with its timeout, if it has
// one, in that CPU's heap: the CPU's timer ends it there (ExpireHere,
// here after the CPU went idle: into its own inbox, from which it runs
// the waiter), as a sleep's; without a timeout it has no deadline; a
// kernel lock holder's wake (its events) ends either, dropping the
// timeout; a signal before the switch undoes it (Unsleep).
func TestDeviceWaitHere(t *testing.T) {
	const now = 10_000
	setup := func() (s *Scheduler, r, o TID) { return runningPair(2) }
	t.Run("a timeout, ended by the CPU's timer", func(t *testing.T) {
		s, r, _ := setup()
		require.True(t, s.ReserveIdle(0, true))
		s.DeviceWaitHere(0, r, now+5)
		assert.Equal(t, Blocked, s.Threads[r].State)
		assert.True(t, s.Threads[r].Device, "a device wait")
		w, when := s.Timers.Next(0)
		assert.Equal(t, [2]int64{int64(r), now + 5}, [2]int64{int64(w), when}, "its timeout in CPU 0's heap")
		s.IdleHere(0, now)
		assert.Equal(t, ExpireRefused, s.ExpireHere(0, r, now+5), "CPU 0 still switches from it")
		s.EndSwitch(0) // its state saved (kernel.waitIdle)
		assert.Equal(t, ExpireRefused, s.ExpireHere(0, r, now), "its timeout to come")
		require.Equal(t, ExpireNeedsCPU, s.ExpireHere(0, r, now+5))
		s.HandOffExpired(0, r, 0)
		assert.False(t, s.Threads[r].Device)
		ran, _ := s.RunHandedOff(0, now+5)
		assert.Equal(t, r, ran, "the idle CPU runs it")
		assert.False(t, s.Timers.Pending(r))
	})
	t.Run("no timeout", func(t *testing.T) {
		s, r, _ := setup()
		s.DeviceWaitHere(0, r, 0)
		assert.Equal(t, Blocked, s.Threads[r].State)
		assert.True(t, s.Threads[r].Device)
		assert.False(t, s.Timers.Pending(r), "no deadline")
		assert.Zero(t, s.Timers.Len())
		_, woke := s.Wake(r, now)
		assert.True(t, woke, "its events' wake, under the kernel lock")
		assert.Equal(t, Runnable, s.Threads[r].State)
	})
	t.Run("a timeout, woken before it", func(t *testing.T) {
		s, r, _ := setup()
		s.DeviceWaitHere(0, r, now+5)
		_, woke := s.Wake(r, now)
		assert.True(t, woke)
		assert.False(t, s.Timers.Pending(r), "the wake drops its timeout")
	})
	t.Run("a signal before the switch", func(t *testing.T) {
		s, r, _ := setup()
		s.DeviceWaitHere(0, r, now+5)
		assert.NotZero(t, s.CPUs[0].switching, "CPU 0 switches from it until EndSwitch")
		s.Unsleep(r)
		s.EndSwitch(0) // as kernel/fastepoll.go's blockOnEpoll
		assert.Equal(t, Running, s.Threads[r].State)
		assert.False(t, s.Threads[r].Device)
		assert.False(t, s.Timers.Pending(r))
		assert.Zero(t, s.CPUs[0].switching)
	})
}

// TestQueueDeviceWaiter: the wake of an epoll_wait's waiter whose CPU
// runs another thread, by a file call on a CPU under its run-queue lock
// and the waiter's (kernel/fastepoll.go's epollWakeBusy): the waiter is
// queued on its CPU behind the running thread, its timeout cancelled, as
// MakeRunnable would with no CPU idle: with no timeout too, and when
// its CPU naps. Refused, for the kernel lock's path: while its CPU still
// switches from it, for a CPU not its own, while a CPU is idle or
// another CPU naps, a CPU-time timer armed, a waiter handed off.
func TestQueueDeviceWaiter(t *testing.T) {
	const now = 10_000
	// CPU 0's thread r blocks until now+5 and CPU 0 switches to q; CPU 1
	// runs o, whose file call wakes r.
	setup := func(ncpu int, deadline int64) (s *Scheduler, r TID) {
		s = new(Scheduler)
		s.Init(ncpu)
		r, o, q := s.Alloc(), s.Alloc(), s.Alloc()
		s.Start(r, 0, 0)
		s.Start(o, 1, 0)
		for c := 2; c < ncpu; c++ {
			s.Start(s.Alloc(), c, 0)
		}
		s.Threads[q].CPU = 0
		s.MakeRunnable(q, 0)
		require.Equal(t, 1, s.CPUs[0].RunQ.Len())
		s.DeviceWaitHere(0, r, deadline)
		require.Equal(t, q, s.SwitchLocal(0, 0, now))
		return s, r
	}
	s, r := setup(2, now+5)
	assert.False(t, s.MayQueueDeviceWaiter(r, 0), "CPU 0 still switches from it")
	s.EndSwitch(0)
	assert.False(t, s.MayQueueDeviceWaiter(r, 1), "not CPU 1's")
	require.True(t, s.MayQueueDeviceWaiter(r, 0))
	s.QueueDeviceWaiter(1, r, 0, now)
	assert.Equal(t, Runnable, s.Threads[r].State)
	assert.Equal(t, r, s.QueuedAt(0, 0), "behind CPU 0's running thread")
	assert.False(t, s.Timers.Pending(r), "its timeout cancelled")
	assert.False(t, s.Threads[r].Device)

	s, r = setup(2, 0)
	s.EndSwitch(0)
	require.True(t, s.MayQueueDeviceWaiter(r, 0), "no timeout: on the CPU it blocked on")
	s.QueueDeviceWaiter(1, r, 0, now)
	assert.Equal(t, Runnable, s.Threads[r].State)
	s, r = setup(3, now+5)
	s.EndSwitch(0)
	s.CPUs[0].napping = 1
	assert.True(t, s.MayQueueDeviceWaiter(r, 0), "its CPU naps: MakeRunnable prefers it, and the IPI ends the nap")
	s.CPUs[0].napping, s.CPUs[2].napping = 0, 1
	assert.False(t, s.MayQueueDeviceWaiter(r, 0), "another CPU naps: MakeRunnable would send it there")
	s, r = setup(2, now+5)
	s.EndSwitch(0)
	s.NArmed = 1
	assert.False(t, s.MayQueueDeviceWaiter(r, 0), "a CPU-time timer armed")
	s, r = setup(2, now+5)
	s.EndSwitch(0)
	s.Futexes.MarkHandedOff(r)
	assert.False(t, s.MayQueueDeviceWaiter(r, 0), "handed off")
	s, r = setup(2, now+5)
	s.EndSwitch(0)
	s.Block(s.CPUs[0].Cur, false) // q blocks on the kernel lock's path: CPU 0 runs nothing
	s.CPUs[0].Cur = None
	assert.True(t, s.MayTakeDeviceWaiter(r, 0))
	assert.False(t, s.MayQueueDeviceWaiter(r, 0), "CPU 0 runs no thread: a hand-off or the kernel lock's path")
	s, r = setup(3, now+5)
	s.EndSwitch(0)
	require.True(t, s.MayQueueDeviceWaiter(r, 0), "three busy CPUs")
	s.Block(s.CPUs[2].Cur, false)
	s.IdleHere(2, now)
	assert.False(t, s.MayQueueDeviceWaiter(r, 0), "CPU 2 idle: MakeRunnable would send it there")
	require.True(t, s.MayTakeDeviceWaiter(r, 0), "but CPU 0's lock lets CPU 1 wake it")
	s.HandOffExpired(0, r, 2) // kernel/fastepoll.go's wakeOntoBusy, CPU 2 claimed
	assert.False(t, s.Timers.Pending(r), "its timeout cancelled in CPU 0's heap")
	ran, _ := s.RunHandedOff(2, now)
	assert.Equal(t, r, ran, "the idle CPU runs it")
}

// TestDeviceWaitHandOff: the wake of an epoll_wait's waiter by a file
// call beside, without the kernel lock (package fdcalls'
// handOffWaiter): the waiter is marked handed off (Futexes.MarkHandedOff)
// and pushed into the inbox of a CPU halted in its idle loop. The CPU
// whose heap holds its timeout runs it under its own run-queue lock,
// the timeout cancelled, once the CPU it blocked on has ended its
// switch; a CPU that does not hold the timeout leaves it to the kernel
// lock's drain (WakeHandedOff); a waiter with no timeout runs on any.
// Its timeout passing first, or a kernel lock holder's wake (a signal),
// leaves it to the hand-off, the timeout dropped.
func TestDeviceWaitHandOff(t *testing.T) {
	const now = 10_000
	// CPU 0's thread r blocks until now+5 and CPU 0 goes idle; CPU 1
	// runs o, whose file call hands r off; CPU 2 is idle.
	setup := func(deadline int64) (s *Scheduler, r TID) {
		s = new(Scheduler)
		s.Init(3)
		r, o := s.Alloc(), s.Alloc()
		s.Start(r, 0, 0)
		s.Start(o, 1, 0)
		require.True(t, s.ReserveIdle(0, true))
		s.DeviceWaitHere(0, r, deadline)
		s.IdleHere(0, now)
		return s, r
	}
	t.Run("its timeout's CPU runs it", func(t *testing.T) {
		s, r := setup(now + 5)
		s.Futexes.MarkHandedOff(r)
		s.Handoffs.Push(0, r)
		ran, _ := s.RunHandedOff(0, now)
		assert.Equal(t, None, ran, "CPU 0 still switches from it")
		s.EndSwitch(0)
		ran, _ = s.RunHandedOff(0, now)
		require.Equal(t, r, ran)
		assert.Equal(t, Running, s.Threads[r].State)
		assert.False(t, s.Timers.Pending(r), "its timeout cancelled")
		assert.False(t, s.Futexes.HandedOff(r))
		assert.False(t, s.Threads[r].Device)
	})
	t.Run("another CPU leaves it to the drain", func(t *testing.T) {
		s, r := setup(now + 5)
		s.EndSwitch(0)
		s.Futexes.MarkHandedOff(r)
		s.Handoffs.Push(2, r)
		ran, _ := s.RunHandedOff(2, now)
		assert.Equal(t, None, ran, "its timeout is CPU 0's to cancel")
		p, inbox := s.PopHandedOff(2)
		require.Equal(t, [2]int{int(r), 2}, [2]int{int(p), inbox})
		s.WakeHandedOff(r, inbox, 2, now)
		assert.Equal(t, Runnable, s.Threads[r].State)
		assert.False(t, s.Timers.Pending(r))
	})
	t.Run("no timeout: any idle CPU runs it", func(t *testing.T) {
		s, r := setup(0)
		s.EndSwitch(0)
		s.Futexes.MarkHandedOff(r)
		s.Handoffs.Push(2, r)
		ran, _ := s.RunHandedOff(2, now)
		assert.Equal(t, r, ran)
	})
	t.Run("its timeout passes first", func(t *testing.T) {
		s, r := setup(now + 5)
		s.EndSwitch(0)
		s.Futexes.MarkHandedOff(r)
		assert.Equal(t, ExpireHandedOff, s.ExpireHere(0, r, now+5), "the hand-off's wake stands")
		assert.False(t, s.Timers.Pending(r))
		assert.Equal(t, Blocked, s.Threads[r].State)
		s.Handoffs.Push(0, r)
		ran, _ := s.RunHandedOff(0, now+5)
		assert.Equal(t, r, ran)
	})
	t.Run("a signal's wake", func(t *testing.T) {
		s, r := setup(now + 5)
		s.EndSwitch(0)
		s.Futexes.MarkHandedOff(r)
		_, woke := s.Wake(r, now)
		assert.False(t, woke, "left to the hand-off")
		assert.False(t, s.Timers.Pending(r))
		assert.Equal(t, Blocked, s.Threads[r].State)
	})
}

// TestExpireHere: which passed sleepers a CPU expires under its
// run-queue lock (ExpireHere): a busy one queues the sleeper when no CPU
// is idle or napping; an idle one, or a busy one beside an idle or
// napping CPU, leaves it to a hand-off (ExpireNeedsCPU), which puts it
// in that CPU's inbox (HandOffExpired), from which the CPU runs it; a
// refusal, for the kernel lock's path, changes nothing. CPUs 0 and 1
// run a thread each; CPU 2 is idle unless the case says otherwise; the
// sleeper last ran on CPU 1.
func TestExpireHere(t *testing.T) {
	const now = 10_000
	for _, tc := range []struct {
		name  string
		c     int
		setup func(s *Scheduler, w TID)
		want  int
	}{
		{"idle: its deadline passed", 2, nil, ExpireNeedsCPU},
		{"idle: its deadline to come", 2, func(s *Scheduler, w TID) { s.SetTimer(w, now+1, 2) }, ExpireRefused},
		{"idle: another deadline earlier", 2, func(s *Scheduler, w TID) { s.SetTimer(sleeper(s), now-10, 2) }, ExpireRefused},
		{"idle: a CPU-time timer armed", 2, func(s *Scheduler, w TID) { s.NArmed = 1 }, ExpireRefused},
		{"idle: its old CPU still switching from it", 2, func(s *Scheduler, w TID) { s.CPUs[1].switching = 1 }, ExpireRefused},
		{"busy: no CPU idle", 0, func(s *Scheduler, w TID) { s.Start(s.Alloc(), 2, 0); s.CPUs[2].Idle = false }, ExpireQueued},
		{"busy: a CPU idle", 0, nil, ExpireNeedsCPU},
		{"busy: a CPU napping", 0, func(s *Scheduler, w TID) {
			s.Start(s.Alloc(), 2, 0)
			s.CPUs[2].Idle = false
			s.CPUs[1].napping = 1
		}, ExpireNeedsCPU},
		{"not blocked", 2, func(s *Scheduler, w TID) { s.Threads[w].State = Runnable }, ExpireRefused},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := new(Scheduler)
			s.Init(3)
			s.Start(s.Alloc(), 0, 0)
			s.Start(s.Alloc(), 1, 0)
			s.CPUs[2].Idle = true
			w := sleeper(s)
			s.Threads[w].CPU = 1
			s.SetTimer(w, now-5, tc.c)
			if tc.setup != nil {
				tc.setup(s, w)
			}
			running, cur, inQueue := s.Running, s.CPUs[tc.c].Cur, s.CPUs[tc.c].RunQ.Len()
			require.Equal(t, tc.want, s.ExpireHere(tc.c, w, now))
			if tc.want == ExpireQueued {
				assert.False(t, s.Timers.Pending(w), "its deadline is gone")
				assert.Equal(t, cur, s.CPUs[tc.c].Cur, "the running thread goes on")
				assert.Equal(t, Runnable, s.Threads[w].State)
				assert.Equal(t, []TID{w}, queued(&s.CPUs[tc.c].RunQ, &s.RunLinks))
				assert.Equal(t, running, s.Running)
				return
			}
			assert.True(t, s.Timers.Pending(w), "nothing changed: its deadline stays")
			assert.Equal(t, running, s.Running)
			assert.Equal(t, cur, s.CPUs[tc.c].Cur)
			assert.Equal(t, inQueue, s.CPUs[tc.c].RunQ.Len())
			if tc.want != ExpireNeedsCPU {
				return
			}
			if o := s.NapperFor(tc.c); o >= 0 {
				// No CPU idle, one napping: queued there, as MakeRunnable
				// would, its nap to be ended by the kernel's IPI.
				require.Equal(t, 1, o, "CPU 1 naps")
				s.ExpireOnto(tc.c, w, o, now)
				assert.False(t, s.Timers.Pending(w), "its deadline is gone")
				assert.Equal(t, Runnable, s.Threads[w].State)
				assert.Equal(t, []TID{w}, queued(&s.CPUs[o].RunQ, &s.RunLinks))
				assert.Equal(t, running, s.Running)
				return
			}
			// The kernel hands it to an idle CPU: CPU 2 (itself, when
			// idle), and that CPU runs it from its inbox.
			s.HandOffExpired(tc.c, w, 2)
			assert.False(t, s.Timers.Pending(w), "its deadline is gone")
			assert.True(t, s.Futexes.HandedOff(w), "marked handed off: a wake under the kernel lock leaves it alone")
			kick, woke := s.Wake(w, now)
			assert.False(t, woke, "a signal's wake leaves it to the hand-off")
			assert.Equal(t, NoKick, kick)
			if s.CPUs[2].Cur == None {
				ran, queued := s.RunHandedOff(2, now)
				assert.Equal(t, w, ran, "the idle CPU runs it from its inbox")
				assert.Zero(t, queued)
				assert.Equal(t, Running, s.Threads[w].State)
				assert.Equal(t, running+1, s.Running, "counted running")
			}
		})
	}
}

// TestRunQueued: an idle CPU runs the oldest thread of its own queue, or
// steals the oldest of another's, under the run-queue locks, counted
// running; it refuses, nothing changed, with a thread of its own, an
// empty queue, a hand-off in its inbox or a CPU-time timer armed. CPU 0
// runs r; CPU 1 is idle; q1 and q2 wait in CPU 2's queue (CPU 2 runs x).
func TestRunQueued(t *testing.T) {
	setup := func() (s *Scheduler, q1, q2 TID) {
		s = new(Scheduler)
		s.Init(3)
		r, x := s.Alloc(), s.Alloc()
		s.Start(r, 0, 0)
		s.Start(x, 2, 0)
		q1, q2 = s.Alloc(), s.Alloc()
		for _, q := range []TID{q1, q2} {
			s.Threads[q].CPU = 2
			s.queueOn(2, q, 5)
		}
		s.CPUs[1].Idle = true
		return s, q1, q2
	}
	t.Run("steals the oldest", func(t *testing.T) {
		s, q1, q2 := setup()
		require.Equal(t, q1, s.RunQueued(1, 2, 30))
		assert.Equal(t, Running, s.Threads[q1].State)
		assert.Equal(t, 1, s.Threads[q1].CPU)
		assert.Equal(t, q1, s.CPUs[1].Cur)
		assert.Equal(t, 1, s.RunningOn(q1))
		assert.Equal(t, int64(30), s.CPUs[1].SliceStart)
		assert.Equal(t, int64(25), s.CPUs[1].MaxWaitNs, "queued at 5, run at 30")
		assert.False(t, s.CPUs[1].Idle)
		assert.Equal(t, int64(3), s.Running)
		assert.Equal(t, []TID{q2}, queued(&s.CPUs[2].RunQ, &s.RunLinks))
		assert.Equal(t, None, s.RunQueued(1, 2, 40), "a CPU that runs a thread runs no other")
	})
	t.Run("its own queue", func(t *testing.T) {
		s, _, _ := setup()
		o := s.Alloc()
		s.queueOn(1, o, 7)
		require.Equal(t, o, s.RunQueued(1, 1, 30))
		assert.Equal(t, o, s.CPUs[1].Cur)
		assert.Zero(t, s.CPUs[1].RunQ.Len())
		assert.Equal(t, int64(3), s.Running)
	})
	for _, c := range []struct {
		name  string
		from  int
		setup func(s *Scheduler)
	}{
		{"an empty queue", 1, func(s *Scheduler) {}},
		{"a hand-off in its inbox", 2, func(s *Scheduler) {
			w := s.Alloc()
			s.Futexes.Wait(w, 0x40)
			s.Block(w, false)
			s.Futexes.Claim(0x40, true)
			s.Handoffs.Push(1, w)
		}},
		{"a CPU-time timer armed", 2, func(s *Scheduler) { s.NArmed = 1 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			s, q1, q2 := setup()
			c.setup(s)
			assert.Equal(t, None, s.RunQueued(1, c.from, 30))
			assert.Equal(t, None, s.CPUs[1].Cur)
			assert.True(t, s.CPUs[1].Idle)
			assert.Equal(t, []TID{q1, q2}, queued(&s.CPUs[2].RunQ, &s.RunLinks))
			assert.Equal(t, int64(2), s.Running)
		})
	}
}

// TestTimedWaitHere: a FUTEX_WAIT with a timeout that blocks under its
// CPU's run-queue lock (WaitHereLocked with a deadline) has it in that
// CPU's heap, and that CPU ends it there (ExpireHere): the waiter leaves
// its chain first, queued on a busy CPU with no CPU idle, or left to a
// hand-off (ExpireNeedsCPU) with one idle, whose failure leaves it to
// the kernel lock's expiry; a lock-free FUTEX_WAKE that took it off its
// chain first keeps it (ExpireHandedOff: the timeout is dropped, the
// hand-off wakes it); a signal before the switch drops the timeout with
// the wait (Unwait). CPU 0 runs r, which waits on key until now+5; CPU 1
// runs o; CPU 2, when there is one, is idle.
func TestTimedWaitHere(t *testing.T) {
	const now, key = 10_000, 0x4000
	setup := func(ncpu int) (s *Scheduler, r TID) {
		s, r, _ = runningPair(ncpu)
		if ncpu > 2 {
			s.CPUs[2].Idle = true
		}
		s.Futexes.Lock(key)
		s.WaitHereLocked(r, key, now+5)
		s.Futexes.Unlock(key)
		s.EndSwitch(0)
		return s, r
	}
	t.Run("its deadline in its CPU's heap", func(t *testing.T) {
		s, r := setup(2)
		w, when := s.Timers.Next(0)
		assert.Equal(t, [2]int64{int64(r), now + 5}, [2]int64{int64(w), when})
		assert.Equal(t, Blocked, s.Threads[r].State)
		assert.True(t, s.Futexes.in[r], "queued on its word")
		assert.Equal(t, ExpireRefused, s.ExpireHere(0, r, now), "its timeout to come")
		assert.True(t, s.Futexes.in[r], "a refusal changes nothing")
	})
	t.Run("no CPU idle: queued behind the running thread", func(t *testing.T) {
		s, r := setup(2)
		s.Start(s.Alloc(), 0, 0) // CPU 0 runs another thread now
		require.Equal(t, ExpireQueued, s.ExpireHere(0, r, now+5))
		assert.False(t, s.Futexes.in[r], "off its chain")
		assert.False(t, s.Futexes.waited[r], "its wait is over")
		assert.False(t, s.Timers.Pending(r))
		assert.Equal(t, Runnable, s.Threads[r].State)
		assert.Zero(t, s.Futexes.count[bucket(key)], "the bucket counts no waiter")
	})
	t.Run("a CPU idle: off its chain, for a hand-off or the kernel lock's expiry", func(t *testing.T) {
		s, r := setup(3)
		s.Start(s.Alloc(), 0, 0)
		require.Equal(t, ExpireNeedsCPU, s.ExpireHere(0, r, now+5))
		assert.False(t, s.Futexes.in[r], "off its chain: no wake finds it now")
		assert.True(t, s.Timers.Pending(r), "its deadline kept until the hand-off or the expiry")
		assert.Equal(t, Blocked, s.Threads[r].State)
		_, woke := s.Wake(r, now+5) // the kernel lock's expiry, when no hand-off could be made
		assert.True(t, woke)
		assert.False(t, s.Timers.Pending(r))
	})
	t.Run("handed off first", func(t *testing.T) {
		s, r := setup(3)
		got, res := s.Futexes.Claim(key, true)
		require.Equal(t, [2]int{int(r), int(ClaimHandedOff)}, [2]int{int(got), int(res)})
		s.Handoffs.Push(2, r)
		s.Start(s.Alloc(), 0, 0)
		require.Equal(t, ExpireHandedOff, s.ExpireHere(0, r, now+5))
		assert.False(t, s.Timers.Pending(r), "its timeout dropped")
		assert.True(t, s.Futexes.HandedOff(r), "the hand-off's to wake")
		assert.Equal(t, Blocked, s.Threads[r].State)
		ran, _ := s.RunHandedOff(2, now+5)
		assert.Equal(t, r, ran, "the idle CPU runs it without the kernel lock: no timeout left")
	})
	t.Run("handed off, then a signal's wake", func(t *testing.T) {
		// The kernel lock's Wake leaves a claimed waiter to its hand-off
		// and drops its deadline: no expiry ends its wait again (found in
		// review: the expiry once took it for a waiter still queued).
		s, r := setup(3)
		_, res := s.Futexes.Claim(key, true)
		require.Equal(t, ClaimHandedOff, res)
		_, woke := s.Wake(r, now)
		assert.False(t, woke, "left to the hand-off")
		assert.False(t, s.Timers.Pending(r), "its deadline dropped")
		// The same, the deadline still there (a Wake before this change):
		// the expiry sees the mark, not the cleared waited.
		s.Timers.Set(r, now+5, 0)
		s.Start(s.Alloc(), 0, 0)
		require.Equal(t, ExpireHandedOff, s.ExpireHere(0, r, now+5))
		assert.Equal(t, Blocked, s.Threads[r].State, "the hand-off's to wake")
	})
	t.Run("a signal before the switch", func(t *testing.T) {
		s, r := setup(2)
		require.True(t, s.Unwait(r))
		assert.Equal(t, Running, s.Threads[r].State)
		assert.False(t, s.Timers.Pending(r), "its timeout gone with the wait")
		assert.False(t, s.Futexes.in[r])
	})
}
