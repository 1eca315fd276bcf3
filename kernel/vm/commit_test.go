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

// TestTryCommit: the check and the charge in one step, so CPUs growing
// the charge at once stop exactly at the limit; a change that does not
// grow the charge (mprotect to read-only, a MAP_FIXED that replaces as
// much as it charges) is never refused, even past the limit.
func TestTryCommit(t *testing.T) {
	oldLimit, oldCharge := CommitLimit, committed.Load()
	t.Cleanup(func() { CommitLimit = oldLimit; committed.Store(oldCharge) })

	committed.Store(0)
	CommitLimit = 1000
	var wg sync.WaitGroup
	var taken [8]int
	for i := range taken {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for TryCommit(3, 0) {
				taken[i]++
			}
		}()
	}
	wg.Wait()
	total := 0
	for _, n := range taken {
		total += n
	}
	assert.Equal(t, uint64(3*total), Committed(), "every success charged 3")
	assert.LessOrEqual(t, Committed(), CommitLimit)
	assert.Greater(t, Committed(), CommitLimit-3, "the CPUs stopped at the limit, not before")

	committed.Store(1200) // past the limit: lazily charged pages may take it there
	assert.False(t, TryCommit(1, 0))
	assert.False(t, CommitFits(1, 0))
	assert.True(t, CommitFits(5, 5), "a change that does not grow the charge fits")
	assert.True(t, TryCommit(5, 10))
	assert.Equal(t, uint64(1195), Committed())
	assert.True(t, TryCommit(0, 0), "mprotect of no bytes")
}
