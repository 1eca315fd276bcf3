package fdtab

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
)

// TestNotify: each recorded descriptor sets its own bit, across words
// and at both ends of the table, and the flag says something is pending.
func TestNotify(t *testing.T) {
	NotifyFDs.Clear()
	NotifyPending.Store(false)
	t.Cleanup(func() { NotifyFDs.Clear(); NotifyPending.Store(false) })
	for _, fd := range []int{0, 63, 64, MaxFDs - 1} {
		Notify(fd)
	}
	assert.True(t, NotifyPending.Load())
	var got []int
	for fd := NotifyFDs.Take(); fd >= 0; fd = NotifyFDs.Take() {
		got = append(got, fd)
	}
	assert.Equal(t, []int{0, 63, 64, MaxFDs - 1}, got)
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

// TestFileSize: a descriptor takes 64 bytes, no padding between its
// fields (the table's share of hello's 16 MiB floor, issue 16).
func TestFileSize(t *testing.T) {
	assert.Equal(t, uintptr(64), unsafe.Sizeof(File{}))
}
