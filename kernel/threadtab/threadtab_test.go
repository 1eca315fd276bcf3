package threadtab_test

import (
	"testing"

	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
)

// TestNames checks that the reports have a distinct name for every
// scheduling state and every wait.
func TestNames(t *testing.T) {
	states := []sched.State{sched.Free, sched.Runnable, sched.Running, sched.Blocked}
	assert.Len(t, threadtab.StateNames, len(states))
	seen := map[string]bool{}
	for _, s := range states {
		n := threadtab.StateNames[s]
		assert.NotEmpty(t, n, "state %d", s)
		assert.False(t, seen[n], "state name %q twice", n)
		seen[n] = true
	}
	assert.Len(t, threadtab.WaitNames, int(threadtab.WaitOpen)+1, "a name for each wait")
	seen = map[string]bool{}
	for w, n := range threadtab.WaitNames {
		assert.NotEmpty(t, n, "wait %d", w)
		assert.False(t, seen[n], "wait name %q twice", n)
		seen[n] = true
	}
	assert.Equal(t, "blocked", threadtab.StateNames[sched.Blocked])
	assert.Equal(t, "fifo-open", threadtab.WaitNames[threadtab.WaitOpen], "TestStallReport matches this name")
}

func TestLinuxTID(t *testing.T) {
	assert.Equal(t, int64(1), threadtab.LinuxTID(0), "the first thread is PID 1")
	assert.Equal(t, int64(sched.MaxThreads), threadtab.LinuxTID(sched.MaxThreads-1))
}
