package vfs

import (
	"reflect"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestOffsetLock: readers that move one description's offset under its
// offset lock, from several goroutines at once, each take a range of
// their own and leave the offset past all of them; the lock's word
// keeps a Desc at 32 bytes, the size of Descs' entries before it.
func TestOffsetLock(t *testing.T) {
	var d Desc
	const readers, reads, chunk = 4, 2000, 8
	seen := make([]int32, readers*reads)
	var wg sync.WaitGroup
	for range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range reads {
				d.LockOffset()
				at := d.Off
				d.Off = at + chunk
				d.UnlockOffset()
				seen[at/chunk]++ // each index is one goroutine's alone
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(readers*reads*chunk), d.Off, "every read moved the offset")
	for i, k := range seen {
		if k != 1 {
			t.Fatalf("range %d taken %d times", i, k)
		}
	}
	assert.Equal(t, uintptr(32), reflect.TypeOf(Desc{}).Size())
}
