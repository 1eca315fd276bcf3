package thread

import (
	"testing"

	"github.com/gometal/gometal/kernel/threadtab"
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
	savedThreads, savedSch := threadtab.Threads, threadtab.Sched
	t.Cleanup(func() { threadtab.Threads, threadtab.Sched = savedThreads, savedSch })
	threadtab.Threads = [sched.MaxThreads]threadtab.Thread{}
	threadtab.Sched.Init(1)

	a := New()
	b := New()
	require.Equal(t, sched.TID(0), a)
	require.Equal(t, sched.TID(1), b)
	threadtab.Sched.Threads[b].CPUTime, threadtab.Sched.ProcessCPU = 300e6, 300e6

	threadtab.Sched.CPUTimers[0] = sched.CPUTimer{Used: true, Armed: true, Target: b, Signo: 27, Next: 400e6}
	threadtab.Sched.CPUTimers[1] = sched.CPUTimer{Used: true, Armed: true, Target: a, Signo: 27, Next: 400e6}
	threadtab.Sched.NArmed = 2

	before, ok := ClockNow(a, 2) // CLOCK_PROCESS_CPUTIME_ID
	require.True(t, ok)
	assert.Equal(t, int64(300e6), before)

	Exit(b)
	c := New()
	require.Equal(t, b, c, "the slot is reused")
	after, _ := ClockNow(a, 2)
	assert.GreaterOrEqual(t, after, before, "process CPU time went backwards after a slot was reused")

	assert.False(t, threadtab.Sched.CPUTimers[0].Used, "the exited thread's timer is deleted")
	assert.True(t, threadtab.Sched.CPUTimers[1].Armed, "another thread's timer stays")
	assert.Equal(t, 1, threadtab.Sched.NArmed)
}
