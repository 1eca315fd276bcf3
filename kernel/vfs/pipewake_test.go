package vfs

import (
	"testing"

	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/stretchr/testify/assert"
)

// TestPipeWakeRecords: a pipe's change is recorded for its waiters only
// once a thread has waited on it (pipeWaited), so the calls under the
// files lock alone take the kernel lock's path only when someone may be
// woken; WakeRecordedPipes clears the records and the waited marks of
// the pipes it wakes, and leaves the others' marks.
func TestPipeWakeRecords(t *testing.T) {
	reset := func() {
		pipeWakes.Clear()
		pipeWaited.Clear()
		PipeWakePending.Store(false)
		threadtab.Sched.Init(1) // an empty wait table: WakeKey finds nobody
	}
	reset()
	t.Cleanup(reset)

	PipeChanged(5)
	assert.False(t, PipeWakePending.Load(), "nobody waited on pipe 5")
	assert.True(t, pipeWakes.Empty())

	pipeWaited.Add(5) // what WaitPipe marks
	pipeWaited.Add(70)
	PipeChanged(5)
	assert.True(t, PipeWakePending.Load())
	assert.Equal(t, 5, pipeWakes.Next(0))
	assert.Equal(t, -1, pipeWakes.Next(6))

	WakeRecordedPipes()
	assert.False(t, PipeWakePending.Load())
	assert.True(t, pipeWakes.Empty())
	assert.False(t, pipeWaited.Has(5), "pipe 5's waiters were woken: it is not waited on any more")
	assert.True(t, pipeWaited.Has(70), "pipe 70 still is")
}
