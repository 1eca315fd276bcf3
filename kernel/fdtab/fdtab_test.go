package fdtab

import (
	"reflect"
	"sync"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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

// TestAllocDescBeside: opens beside each other (the files lock held
// shared) each get a descriptor of their own, with its own description
// and kind. Run with -race.
func TestAllocDescBeside(t *testing.T) {
	saved, savedLimit := Files, NofileLimit
	t.Cleanup(func() { Files, NofileLimit = saved, savedLimit })
	Files = [MaxFDs]File{}
	const openers, each = 8, MaxFDs / 8
	got := make([][]int, openers)
	var wg sync.WaitGroup
	for o := range openers {
		wg.Go(func() {
			for k := range each {
				got[o] = append(got[o], AllocDesc(KindFile, 0, int32(o*each+k)))
			}
		})
	}
	wg.Wait()
	seen := map[int]bool{}
	for o, fds := range got {
		for k, fd := range fds {
			require.GreaterOrEqual(t, fd, 0)
			assert.False(t, seen[fd], "descriptor %d handed out twice", fd)
			seen[fd] = true
			assert.Equal(t, int32(o*each+k), Get(fd).Desc)
			assert.Equal(t, KindFile, Get(fd).Kind)
		}
	}
	assert.Equal(t, -1, AllocDesc(KindFile, 0, 0), "the table is full")
}

// TestAllocDescClearsSlot: a slot that AllocDesc takes holds nothing of
// its last descriptor, whatever field it set (every field of File is
// set here, so a field added later that AllocDesc does not clear fails
// the test), but Socket, which a non-socket open keeps (a socket's call
// beside that read the word before a close finds the socket the
// descriptor named, not slot 0) and a socket's open sets: AllocDesc
// clears them one by one, not with a store over the flag word, which a
// close beside may still be reading.
func TestAllocDescClearsSlot(t *testing.T) {
	saved := Files
	t.Cleanup(func() { Files = saved })
	Files = [MaxFDs]File{}
	v := reflect.ValueOf(&Files[0]).Elem()
	for i := range v.NumField() {
		switch f := v.Field(i); f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Uint8, reflect.Uint32, reflect.Uint64:
			f.SetUint(7)
		default:
			f.SetInt(7)
		}
	}
	Files[0].Kind = KindFree
	require.Equal(t, 0, AllocDesc(KindFile, 0, 9))
	assert.Equal(t, File{Socket: 7, Reader: sched.None, Desc: 9, Kind: KindFile}, Files[0])
	Files[0] = File{Socket: 7}
	require.Equal(t, 0, AllocDesc(KindSocket, 0, 5))
	assert.Equal(t, File{Socket: 5, Reader: sched.None, Kind: KindSocket}, Files[0])
}
