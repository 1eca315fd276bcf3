package spin_test

import (
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
