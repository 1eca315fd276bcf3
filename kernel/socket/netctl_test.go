package socket

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// dirtyOrder walks the dirty sockets as NetCtlRead does.
func dirtyOrder() []int {
	var got []int
	for i, left := nextDirty(0, int(DirtyCount)); i >= 0; i, left = nextDirty(i+1, left) {
		got = append(got, i)
	}
	return got
}

// TestNextDirty: NetCtlRead's walk visits every dirty socket in slot
// order, the first and the last slot included, and with TellStack and
// freeSocket keeping DirtyCount it neither misses one nor runs on.
func TestNextDirty(t *testing.T) {
	saved, savedCount, savedFD := Sockets, DirtyCount, NetStackFD
	t.Cleanup(func() { Sockets, DirtyCount, NetStackFD = saved, savedCount, savedFD })
	Sockets, DirtyCount, NetStackFD = [len(Sockets)]socket{}, 0, -1
	assert.Empty(t, dirtyOrder())
	for _, i := range []int{maxSockets - 1, 0, 7, 300, 7} {
		TellStack(i)
	}
	assert.Equal(t, int32(4), DirtyCount)
	assert.Equal(t, []int{0, 7, 300, maxSockets - 1}, dirtyOrder())
	freeSocket(7)
	assert.Equal(t, []int{0, 300, maxSockets - 1}, dirtyOrder())
	freeSocket(maxSockets - 1)
	freeSocket(5) // not dirty: the count stays
	assert.Equal(t, []int{0, 300}, dirtyOrder())
	// The walk trusts the count: a count one short stops before the last.
	DirtyCount--
	assert.Equal(t, []int{0}, dirtyOrder())
}
