package spin_test

import (
	"sync"
	"testing"

	"github.com/gometal/gometal/kernel/spin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLockOwner(t *testing.T) {
	var l spin.Lock
	_, ok := l.Owner()
	assert.False(t, ok, "a free lock has no owner")
	assert.False(t, l.Held())

	require.True(t, l.TryLock(2))
	assert.True(t, l.Held())
	assert.True(t, l.HeldBy(2))
	assert.False(t, l.HeldBy(0), "cpu 0 must not look like the holder")
	id, ok := l.Owner()
	assert.True(t, ok)
	assert.Equal(t, 2, id)

	assert.False(t, l.TryLock(1), "a held lock is not taken again")
	assert.False(t, l.Unlock(1), "only the holder releases")
	assert.True(t, l.HeldBy(2), "a refused release leaves the lock held")

	assert.True(t, l.Unlock(2))
	assert.False(t, l.Held())
	assert.False(t, l.HeldBy(2))
	assert.True(t, l.TryLock(0), "cpu 0 takes the released lock")
	assert.True(t, l.HeldBy(0))
}

// TestSharedHolds: any number of shared holds at once while no CPU
// holds the lock exclusively; an exclusive take succeeds beside them (it
// then waits for Readers to reach 0: kernel/klock) and keeps new readers
// out until it lets go; a try refused by it leaves the count as it was.
func TestSharedHolds(t *testing.T) {
	var l spin.Lock
	try := func() bool {
		ok, last := l.TryRLock()
		assert.False(t, ok && last)
		return ok
	}
	require.True(t, try())
	require.True(t, try(), "a second CPU beside the first")
	assert.Equal(t, int32(2), l.Readers())
	assert.False(t, l.Held(), "shared holds are not an exclusive hold")
	require.True(t, l.TryLock(3), "the exclusive taker takes held beside the readers")
	assert.False(t, try(), "a new reader stays out while the taker waits or holds")
	assert.Equal(t, int32(2), l.Readers(), "a refused try leaves no count behind")
	assert.False(t, l.RUnlock(), "a reader is left")
	assert.True(t, l.RUnlock(), "the last reader leaves: the taker may go on")
	assert.Zero(t, l.Readers())
	assert.False(t, try())
	require.True(t, l.Unlock(3))
	require.True(t, try(), "readers come in once the exclusive hold ends")
	assert.True(t, l.RUnlock())
	assert.Zero(t, l.Readers())
}

// TestQuiet: the quiet count changes when the last shared holder
// leaves, and only then: not when a holder comes, nor when one leaves
// others holding, nor for a try refused by an exclusive holder; Readers
// counts the holders beside it.
func TestQuiet(t *testing.T) {
	var l spin.Lock
	q := l.Quiet()
	ok, _ := l.TryRLock()
	require.True(t, ok)
	assert.Equal(t, q, l.Quiet(), "a holder came")
	ok, _ = l.TryRLock()
	require.True(t, ok)
	assert.Equal(t, int32(2), l.Readers())
	assert.Equal(t, q, l.Quiet())
	assert.False(t, l.RUnlock())
	assert.Equal(t, q, l.Quiet(), "a shared holder is left")
	assert.True(t, l.RUnlock())
	assert.Equal(t, q+1, l.Quiet(), "none is left")
	assert.Equal(t, int32(0), l.Readers())
	require.True(t, l.TryLock(0))
	ok, _ = l.TryRLock()
	assert.False(t, ok)
	assert.Equal(t, q+1, l.Quiet(), "a refused try")
	assert.Equal(t, int32(0), l.Readers())
}

// TestQuietBeside: CPUs taking and leaving the lock shared at once, each
// checking during its hold that the quiet count does not move (it moves
// only while no CPU holds the lock shared), and the count moved at all.
func TestQuietBeside(t *testing.T) {
	var l spin.Lock
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20000 {
				if ok, _ := l.TryRLock(); !ok {
					continue
				}
				q := l.Quiet()
				for range 3 {
					assert.Equal(t, q, l.Quiet(), "the count moved during a shared hold")
				}
				l.RUnlock()
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(0), l.Readers())
	assert.NotZero(t, l.Quiet())
}
