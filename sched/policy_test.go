package sched

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// twoCPUs returns a scheduler with thread 0 running on CPU 0 since time 0
// and CPU 1 halted (idle).
func twoCPUs(t *testing.T) *Scheduler {
	s := new(Scheduler)
	s.Init(2)
	require.Equal(t, TID(0), s.Alloc())
	s.Start(0, 0, 0)
	d := s.Schedule(1, 0)
	require.Equal(t, Halt, d.Action)
	require.True(t, s.CPUs[1].Idle)
	return s
}

// TestWakeMovesToIdleCPU: a thread woken while its CPU is busy goes to the
// idle CPU's queue, and that CPU (only) gets the wake IPI.
func TestWakeMovesToIdleCPU(t *testing.T) {
	s := twoCPUs(t)
	w := s.Alloc() // blocked, last ran on CPU 0
	kick, ok := s.Wake(w, 5)
	require.True(t, ok)
	assert.Equal(t, 1, kick)
	assert.Equal(t, 1, s.Threads[w].CPU)
	assert.Equal(t, 1, s.CPUs[1].RunQ.Len())
	assert.False(t, s.CPUs[1].Idle, "a kicked CPU is no longer a candidate")

	// A second wake-up finds no idle CPU: it stays home, and CPU 0, which
	// runs one thread with no timer, is kicked to arm its slice end.
	w2 := s.Alloc()
	kick, _ = s.Wake(w2, 6)
	assert.Equal(t, 0, kick)
	at, changed := s.Deadline(0, 6, 0)
	assert.True(t, changed)
	assert.Equal(t, s.SliceNs, at, "the slice of the thread that started at 0")

	// CPU 1 wakes and runs the first thread.
	s.Woke(1, false)
	d := s.Schedule(1, 7)
	assert.Equal(t, Decision{Action: Run, Next: w, Kick: NoKick}, d)
	assert.Equal(t, int64(2), s.CPUs[1].MaxWaitNs)
}

// TestTickPreempts: at the end of its slice, with another thread waiting,
// the running thread is queued again and the waiting one runs.
func TestTickPreempts(t *testing.T) {
	s := new(Scheduler)
	s.Init(1)
	a, b := s.Alloc(), s.Alloc()
	s.Start(a, 0, 0)
	s.MakeRunnable(b, 1)
	s.Tick(0, s.SliceNs-1)
	assert.Equal(t, a, s.Schedule(0, s.SliceNs-1).Next, "the slice is not over")
	s.Tick(0, s.SliceNs)
	assert.Equal(t, b, s.Schedule(0, s.SliceNs).Next)
	assert.Equal(t, Runnable, s.Threads[a].State)
	assert.Equal(t, int64(1), s.Running)
}

// TestDeadlockOnlyWhenNothingCanRun: the last CPU to find nothing to run
// reports a deadlock, unless a deadline is pending or a thread waits
// for a device.
func TestDeadlockOnlyWhenNothingCanRun(t *testing.T) {
	for _, c := range []struct {
		name  string
		setup func(s *Scheduler, t TID)
		want  Action
	}{
		{"all blocked", func(s *Scheduler, t TID) { s.Block(t, false) }, Deadlock},
		{"a deadline", func(s *Scheduler, t TID) { s.Block(t, false); s.SetTimer(t, 100, 0) }, Halt},
		{"a deadline passed", func(s *Scheduler, t TID) { s.Block(t, false); s.SetTimer(t, 5, 0) }, Expire},
		{"a device wait", func(s *Scheduler, t TID) { s.Block(t, true) }, Halt},
		{"an armed CPU-time timer", func(s *Scheduler, t TID) {
			s.CPUTimers[ITimerProf] = CPUTimer{Used: true, Process: true}
			s.SetCPUTimer(&s.CPUTimers[ITimerProf], 0, 1e6, false)
			s.Block(t, false)
		}, Deadlock},
		{"exit of one of two", func(s *Scheduler, t TID) {
			u := s.Alloc()
			s.Block(u, false)
			s.Exit(t)
		}, Deadlock},
	} {
		s := twoCPUs(t)
		c.setup(s, 0)
		assert.Equal(t, c.want, s.Schedule(0, 10).Action, c.name)
		assert.Equal(t, int64(0), s.Running, c.name)
	}
}

// TestCPUTimerFires: a thread's CPU-time timer fires once its charged
// time reaches the expiry, with the overrun count of a periodic timer.
func TestCPUTimerFires(t *testing.T) {
	s := new(Scheduler)
	s.Init(1)
	a := s.Alloc()
	s.Start(a, 0, 0)
	s.CPUTimers[0] = CPUTimer{Used: true, Target: a, Signo: 27}
	s.SetCPUTimer(&s.CPUTimers[0], 10, 10, false)
	assert.Equal(t, int64(10), s.NextCPUExpiry(0, 0))
	s.Charge(0, 9)
	_, ok := s.NextFired(0)
	assert.False(t, ok)
	s.Charge(0, 35)
	f, ok := s.NextFired(0)
	require.True(t, ok)
	assert.Equal(t, Fired{ID: 0, Target: a, Signo: 27, Overrun: 2}, f)
	_, ok = s.NextFired(0)
	assert.False(t, ok, "fires once per charge")
	assert.Equal(t, int64(35), s.ProcessCPU)
}

// TestYieldChangesNothing: the lock-free sched_yield answer agrees with
// what Yield and Schedule do: with nothing queued on the CPU the running
// thread goes on (even while another CPU has a queue), and with a thread
// queued it does not.
func TestYieldChangesNothing(t *testing.T) {
	s := twoCPUs(t)
	require.True(t, s.YieldChangesNothing(0))
	s.Yield(0)
	assert.Equal(t, TID(0), s.Schedule(0, 1).Next, "yield with an empty queue: the same thread goes on")

	w := s.Alloc()
	s.Wake(w, 2) // to idle CPU 1's queue
	require.Equal(t, 1, s.CPUs[1].RunQ.Len())
	assert.True(t, s.YieldChangesNothing(0), "another CPU's queue is not this CPU's business")
	assert.Equal(t, TID(0), s.Schedule(0, 3).Next, "and Schedule does not steal for a yield either")

	w2 := s.Alloc()
	s.Threads[w2].CPU = 0
	s.MakeRunnable(w2, 4) // CPU 0's own queue: CPU 1 is no longer idle
	require.Equal(t, 1, s.CPUs[0].RunQ.Len())
	assert.False(t, s.YieldChangesNothing(0))
	s.Yield(0)
	assert.Equal(t, w2, s.Schedule(0, 5).Next, "the yield hands CPU 0 to the queued thread")
}

// TestDeadlineOwed: Deadline arms for the earliest of the scheduler's
// own deadlines and the kernel's extra (the goroutine slice check), and
// keeps the scheduler's own alone as Owed, which a nap ends by.
func TestDeadlineOwed(t *testing.T) {
	s := twoCPUs(t)
	at, _ := s.Deadline(0, 10, 500)
	assert.Equal(t, int64(500), at, "the slice check alone")
	assert.Zero(t, s.CPUs[0].Owed, "nothing the scheduler needs")

	w := s.Alloc()
	s.Block(w, false)
	s.SetTimer(w, 2_000, 0) // the earliest deadline of CPU 0's heap
	at, changed := s.Deadline(0, 20, 1_000)
	assert.Equal(t, int64(500), at, "still armed for the check, earlier")
	assert.False(t, changed)
	assert.Equal(t, int64(2_000), s.CPUs[0].Owed, "its heap's deadline, not the check's")

	s.Tick(0, 600) // the check's interrupt
	at, changed = s.Deadline(0, 600, 3_000)
	assert.True(t, changed)
	assert.Equal(t, int64(2_000), at, "its heap's deadline comes first now")
	assert.Equal(t, int64(2_000), s.CPUs[0].Owed)
}
