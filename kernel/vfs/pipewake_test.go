package vfs

import (
	"testing"

	"github.com/gometal/gometal/kernel/fs"
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
		pipeWakes, pipeWaited = [fs.MaxPipes / 64]uint64{}, [fs.MaxPipes / 64]uint64{}
		PipeWakePending.Store(false)
		threadtab.Sched.Init(1) // an empty wait table: WakeKey finds nobody
	}
	reset()
	t.Cleanup(reset)

	PipeChanged(5)
	assert.False(t, PipeWakePending.Load(), "nobody waited on pipe 5")
	assert.Zero(t, pipeWakes[0])

	pipeWaited[0] |= 1 << 5 // what WaitPipe marks
	pipeWaited[1] |= 1 << (70 - 64)
	PipeChanged(5)
	assert.True(t, PipeWakePending.Load())
	assert.Equal(t, uint64(1<<5), pipeWakes[0])

	WakeRecordedPipes()
	assert.False(t, PipeWakePending.Load())
	assert.Equal(t, [fs.MaxPipes / 64]uint64{}, pipeWakes)
	assert.Zero(t, pipeWaited[0], "pipe 5's waiters were woken: it is not waited on any more")
	assert.Equal(t, uint64(1<<(70-64)), pipeWaited[1], "pipe 70 still is")
}
