package kernel

import (
	"testing"

	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestThreadExitCPUTime: an exiting thread's CPU time stays in the
// process total when its slot is reused, and its per-thread CPU-time
// timers go with it. Both used to outlive it: the process clock summed the
// slots (and dropped when one was reused), and a timer armed for the old
// thread fired for the slot's next owner.
func TestThreadExitCPUTime(t *testing.T) {
	savedThreads, savedN := threads, onlineCPUs
	savedTimers, savedArmed, savedProc, savedLive := cpuTimers, nArmed, processCPU, nlive
	t.Cleanup(func() {
		threads, onlineCPUs = savedThreads, savedN
		cpus = [MaxCPUs]percpu{} // as a host test starts
		cpuTimers, nArmed, processCPU, nlive = savedTimers, savedArmed, savedProc, savedLive
	})
	threads = [sched.MaxThreads]thread{}
	cpus = [MaxCPUs]percpu{}
	onlineCPUs = 1
	cpus[0].cur = noThread
	cpuTimers, nArmed, nlive = [maxCPUTimers]cpuTimer{}, 0, 0
	timers.Init()
	futexes.Init()

	a := newThread()
	threads[a].state = threadBlocked
	b := newThread()
	threads[b].state = threadBlocked
	require.Equal(t, sched.TID(0), a)
	require.Equal(t, sched.TID(1), b)
	threads[b].cpuTime, processCPU = 300e6, 300e6

	cpuTimers[0] = cpuTimer{used: true, armed: true, target: b, signo: 27, next: 400e6}
	cpuTimers[1] = cpuTimer{used: true, armed: true, target: a, signo: 27, next: 400e6}
	nArmed = 2

	before, ok := clockNow(a, 2) // CLOCK_PROCESS_CPUTIME_ID
	require.True(t, ok)
	assert.Equal(t, int64(300e6), before)

	exitThread(b)
	c := newThread()
	require.Equal(t, b, c, "the slot is reused")
	after, _ := clockNow(a, 2)
	assert.GreaterOrEqual(t, after, before, "process CPU time went backwards after a slot was reused")

	assert.False(t, cpuTimers[0].used, "the exited thread's timer is deleted")
	assert.True(t, cpuTimers[1].armed, "another thread's timer stays")
	assert.Equal(t, 1, nArmed)
}
