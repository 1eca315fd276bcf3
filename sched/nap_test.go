package sched

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// napScheduler has thread 1 running on CPU 0 since 100 ns and thread 2
// running on CPU 1, of 2 CPUs.
func napScheduler() *Scheduler {
	s := new(Scheduler)
	s.Init(2)
	s.Live = 3
	s.Start(1, 0, 100)
	s.Start(2, 1, 100)
	return s
}

// TestNapIsNotCPUTime: a nap's time counts as neither the thread's nor
// the process's CPU time, and the readings taken during and after it
// never go backwards.
func TestNapIsNotCPUTime(t *testing.T) {
	s := napScheduler()
	require.True(t, s.BeginNap(0, 1, 150)) // ran 50 ns uncharged
	assert.True(t, s.Napping(0))
	var last int64
	for _, now := range []int64{150, 600, 1149} {
		assert.Equal(t, int64(50), s.ThreadCPUNow(1, now), "during the nap, at %d", now)
		p := s.ProcessCPUNow(now)
		assert.GreaterOrEqual(t, p, last, "the process's CPU time went backwards at %d", now)
		last = p
	}
	s.EndNap(0, 1, 150, 1150)
	assert.Equal(t, uint32(1), s.Threads[1].Naps)
	assert.Equal(t, int64(1000), s.Threads[1].NapNs)
	assert.False(t, s.Napping(0))
	assert.Equal(t, int64(50), s.ThreadCPUNow(1, 1150))
	assert.Equal(t, int64(80), s.ThreadCPUNow(1, 1180))
	p := s.ProcessCPUNow(1150)
	assert.GreaterOrEqual(t, p, last, "the process's CPU time went backwards at the nap's end")
	assert.Equal(t, int64(50)+1050, p, "thread 1's 50 ns and thread 2's 1050 ns")
	s.Charge(0, 1200)
	assert.Equal(t, int64(100), s.Threads[1].CPUTime, "charged: 50 ns before the nap, 50 after")
	assert.Equal(t, int64(1200), s.Threads[1].LastRun)
}

// TestBeginNapRefused: no nap while a thread waits in any run queue (it
// could be stolen instead), nor for a thread that is not CPU c's running
// one; a refused nap leaves no mark.
func TestBeginNapRefused(t *testing.T) {
	s := napScheduler()
	s.Threads[3].State = Runnable
	s.CPUs[1].RunQ.Push(&s.RunLinks, 3)
	assert.False(t, s.BeginNap(0, 1, 150), "a thread waits on CPU 1")
	assert.False(t, s.Napping(0))
	assert.Equal(t, int64(100), s.Threads[1].LastRun, "a refused nap changes no charge")
	s.CPUs[1].RunQ.Pop(&s.RunLinks)
	assert.False(t, s.BeginNap(0, 2, 150), "thread 2 runs on CPU 1, not 0")
	s.Threads[1].State = Blocked
	assert.False(t, s.BeginNap(0, 1, 150), "thread 1 has blocked")
	assert.False(t, s.Napping(0))
}

// TestNappingCPUGetsAnIPI: a thread queued on a napping CPU sends it a
// wake IPI even when its timer would end the running thread's slice in
// time (the sleeper is not computing: the queued thread should run now).
func TestNappingCPUGetsAnIPI(t *testing.T) {
	s := napScheduler()
	s.CPUs[0].Armed = s.CPUs[0].SliceStart + s.SliceNs/2 // the slice's end is covered
	s.Threads[3].State, s.Threads[3].CPU = Blocked, 0
	assert.Equal(t, NoKick, s.MakeRunnable(3, 200), "not napping: the timer will do")
	s.CPUs[0].RunQ.Pop(&s.RunLinks)
	s.Threads[3].State = Blocked
	require.True(t, s.BeginNap(0, 1, 200))
	assert.Equal(t, 0, s.MakeRunnable(3, 300), "napping: the IPI ends the nap")
	s.EndNap(0, 1, 200, 400)
}

// TestProcessCPUNowNeverFalls: a napping CPU stores its thread's charge
// from a clock reading it took a moment before, which a reader on another
// CPU may have passed meanwhile: the process's CPU time must not fall.
func TestProcessCPUNowNeverFalls(t *testing.T) {
	s := napScheduler()
	before := s.ProcessCPUNow(300)         // threads 1 and 2, 200 ns each
	require.True(t, s.BeginNap(0, 1, 150)) // its clock read 150
	assert.GreaterOrEqual(t, s.ProcessCPUNow(310), before)
	s.EndNap(0, 1, 150, 320)
	assert.GreaterOrEqual(t, s.ProcessCPUNow(330), before)
}
