package fdtab

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestNotify: each recorded descriptor sets its own bit, across words
// and at both ends of the table, and the flag says something is pending.
func TestNotify(t *testing.T) {
	NotifyFDs = [MaxFDs / 64]uint64{}
	NotifyPending.Store(false)
	t.Cleanup(func() { NotifyFDs = [MaxFDs / 64]uint64{}; NotifyPending.Store(false) })
	for _, fd := range []int{0, 63, 64, MaxFDs - 1} {
		Notify(fd)
	}
	assert.True(t, NotifyPending.Load())
	assert.Equal(t, uint64(1|1<<63), NotifyFDs[0])
	assert.Equal(t, uint64(1), NotifyFDs[1])
	assert.Equal(t, uint64(1<<63), NotifyFDs[MaxFDs/64-1])
	for w := 2; w < MaxFDs/64-1; w++ {
		assert.Zero(t, NotifyFDs[w], "word %d", w)
	}
}

// TestAllocLowestBelowLimit: Alloc hands out the lowest free descriptor
// with the open flags' bits, and none at or above RLIMIT_NOFILE's soft
// limit.
func TestAllocLowestBelowLimit(t *testing.T) {
	saved, savedLimit := Files, NofileLimit
	t.Cleanup(func() { Files, NofileLimit = saved, savedLimit })
	Files = [MaxFDs]File{}
	Files[0].Kind, Files[2].Kind = KindConsole, KindConsole
	assert.Equal(t, 1, Alloc(KindSocket, 0o2000000|0o4000)) // O_CLOEXEC | O_NONBLOCK
	assert.True(t, Files[1].Cloexec)
	assert.True(t, Files[1].Nonblock)
	assert.Equal(t, KindSocket, Get(1).Kind)
	assert.Equal(t, 3, Alloc(KindPipe, 0))
	assert.Nil(t, Get(4))
	assert.Nil(t, Get(-1))
	assert.Nil(t, Get(MaxFDs))
	NofileLimit = 4
	assert.Equal(t, -1, Alloc(KindPipe, 0), "descriptor 4 is at the soft limit")
}
