package vm

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestCommit: the charge is checked against CommitLimit less what the
// call gives back, never goes below zero, ignores the limit before it is
// set (the boot), and loses no update when CPUs charge at once (a page
// fault under the memory lock beside a socket buffer under the kernel
// lock).
func TestCommit(t *testing.T) {
	oldLimit, oldCharge := CommitLimit, committed.Load()
	t.Cleanup(func() { CommitLimit = oldLimit; committed.Store(oldCharge) })

	committed.Store(0)
	CommitLimit = 0
	assert.True(t, CommitFits(1<<40, 0), "no limit before SetCommitLimit")

	CommitLimit = 100
	Commit(60)
	assert.True(t, CommitFits(40, 0))
	assert.False(t, CommitFits(41, 0))
	assert.True(t, CommitFits(50, 10), "what the call releases first counts")
	assert.True(t, CommitFits(100, 1000), "a release larger than the charge stops at zero")

	Uncommit(1000)
	assert.Zero(t, Committed(), "never below zero")

	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				Commit(3)
				Uncommit(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, uint64(8*1000*2), Committed())
}
