package sched

import "sync/atomic"

// CPU-time accounting: each thread's CPU time, the process total, and the
// CPU-time timers that deliver SIGPROF for the Go runtime's profiler (the
// per-thread POSIX timers of timer_create(CLOCK_THREAD_CPUTIME_ID) and the
// process-wide setitimer(ITIMER_PROF)). Time is charged whenever a thread
// leaves the CPU or a timer interrupt arrives (Charge); Deadline makes
// sure an interrupt arrives when the running thread's next expiry is due.

// MaxCPUTimers is the size of the CPU-time timer table; its last slot is
// ITimerProf.
const MaxCPUTimers = 64

// ITimerProf is the slot reserved for setitimer(ITIMER_PROF).
const ITimerProf = MaxCPUTimers - 1

// CPUTimer is one CPU-time timer.
type CPUTimer struct {
	Used     bool
	Armed    bool
	Process  bool   // counts process CPU time, signals the running thread
	Target   TID    // the thread whose CPU time counts and who gets the signal
	Signo    int    // the signal to send
	Value    uint64 // sigev_value
	Interval int64  // ns; 0 for a one-shot timer
	Next     int64  // expiry, in the clock's nanoseconds
}

// Fired is a CPU-time timer's expiry: the kernel sends signal Signo to
// Target with the timer's id, overrun count and value.
type Fired struct {
	ID      int
	Target  TID
	Signo   int
	Process bool // from ITIMER_PROF (si_code SI_KERNEL), else SI_TIMER
	Overrun int32
	Value   uint64
}

// Clock returns the current value of timer k's clock: the process's or
// its target's charged CPU time. Context: trap, kernel lock held; does not
// allocate.
func (s *Scheduler) Clock(k *CPUTimer) int64 {
	if k.Process {
		return s.ProcessCPU
	}
	return s.Threads[k.Target].CPUTime
}

// Charge adds the time CPU c's running thread ran since its last charge.
// Then the kernel calls NextFired until it reports none. The process's
// total grows with a locked add: two CPUs under their run-queue locks
// charge at once (local.go).
// Context: trap, kernel lock held, or c's run-queue lock with no
// CPU-time timer armed; does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (s *Scheduler) Charge(c int, now int64) {
	t := s.CPUs[c].Cur
	if t == None {
		return
	}
	th := &s.Threads[t]
	d := uncharged(th.LastRun, now)
	th.LastRun = now
	if d <= 0 {
		return
	}
	th.CPUTime += d
	atomic.AddInt64(&s.ProcessCPU, d)
}

// NextFired finds an armed CPU-time timer of CPU c's running thread (or
// the process) that has expired, advances or disarms it, and returns what
// to send; ok is false when none has expired. Each expired timer fires
// once per call, so a loop until !ok ends.
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) NextFired(c int) (f Fired, ok bool) {
	cur := s.CPUs[c].Cur
	if s.NArmed == 0 || cur == None {
		return f, false
	}
	for id := range s.CPUTimers {
		k := &s.CPUTimers[id]
		if !k.Armed || (!k.Process && k.Target != cur) {
			continue
		}
		clock := s.Clock(k)
		if clock < k.Next {
			continue
		}
		f = Fired{ID: id, Target: k.Target, Signo: k.Signo, Process: k.Process, Value: k.Value}
		if k.Interval > 0 {
			n := (clock-k.Next)/k.Interval + 1
			k.Next += n * k.Interval
			f.Overrun = int32(n - 1)
		} else {
			k.Armed = false
			s.NArmed--
		}
		if k.Process {
			f.Target = cur
		}
		return f, true
	}
	return f, false
}

// NextCPUExpiry returns the monotonic time at which CPU c's running
// thread's earliest CPU-time timer expires, or 0.
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) NextCPUExpiry(c int, now int64) int64 {
	cur := s.CPUs[c].Cur
	if s.NArmed == 0 || cur == None {
		return 0
	}
	var best int64
	for id := range s.CPUTimers {
		k := &s.CPUTimers[id]
		if !k.Armed || (!k.Process && k.Target != cur) {
			continue
		}
		best = earliest(best, now+max(k.Next-s.Clock(k), 0))
	}
	return best
}

// SetCPUTimer re-arms timer k (value 0 disarms it), value being relative
// to its clock unless absolute. Context: trap, kernel lock held; does not
// allocate.
func (s *Scheduler) SetCPUTimer(k *CPUTimer, interval, value int64, absolute bool) {
	if k.Armed {
		s.NArmed--
	}
	k.Armed = value != 0
	k.Interval = interval
	if k.Armed {
		s.NArmed++
		k.Next = value
		if !absolute {
			k.Next += s.Clock(k)
		}
	}
}

// CPUTimerLeft returns how long armed timer k has until it expires (at
// least 1 ns), or 0 when it is disarmed. Context: trap, kernel lock held;
// does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (s *Scheduler) CPUTimerLeft(k *CPUTimer) int64 {
	if !k.Armed {
		return 0
	}
	return max(k.Next-s.Clock(k), 1)
}

// DeleteCPUTimer frees timer id. Context: trap, kernel lock held; does
// not allocate.
func (s *Scheduler) DeleteCPUTimer(id int) {
	if s.CPUTimers[id].Armed {
		s.NArmed--
	}
	s.CPUTimers[id] = CPUTimer{}
}

// DeleteThreadTimers deletes the per-thread CPU-time timers that count
// t's time or signal t, which is exiting: left alone they would fire for
// the next thread to take t's slot. Context: trap, kernel lock held; does
// not allocate.
func (s *Scheduler) DeleteThreadTimers(t TID) {
	for id := 0; id < ITimerProf; id++ {
		k := &s.CPUTimers[id]
		if k.Used && k.Target == t && !k.Process {
			s.DeleteCPUTimer(id)
		}
	}
}

// ThreadCPUNow is running thread t's CPU time including the stretch not
// yet charged (CLOCK_THREAD_CPUTIME_ID). Context: trap, with the kernel
// lock held or not (the lock-free clock_gettime path reads the calling
// thread's own counters); does not allocate.
func (s *Scheduler) ThreadCPUNow(t TID, now int64) int64 {
	th := &s.Threads[t]
	return th.CPUTime + uncharged(atomic.LoadInt64(&th.LastRun), now)
}

// ProcessCPUNow is the process's CPU time: every charged nanosecond of
// every thread, exited ones included, plus the stretch each running
// thread has not been charged for yet (naps left out, and read with one
// load each: nap.go), never less than it answered before (a napping CPU
// stores its thread's charge from a clock reading it took a moment
// earlier, and an ending nap from one taken a moment later than a
// reader's: the sum could step back by that moment). Summing the thread slots instead
// would lose an exited thread's time when its slot is reused, and the
// clock would go backwards. Context: trap, kernel lock held; does not
// allocate.
func (s *Scheduler) ProcessCPUNow(now int64) int64 {
	sum := s.ProcessCPU
	for i := 0; i < s.NCPU; i++ {
		if t := s.CPUs[i].Cur; t != None && s.Threads[t].State == Running {
			sum += max(uncharged(atomic.LoadInt64(&s.Threads[t].LastRun), now), 0)
		}
	}
	sum = max(sum, s.processSeen)
	s.processSeen = sum
	return sum
}
