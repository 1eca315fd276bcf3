package fdtab

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestEventfdCountBeside: writers add to one eventfd's counter while
// readers take it as eventfdRead does (Counted, the copy, TakeCount,
// again if the take fails), all at once, as calls under the files lock
// held shared on several CPUs: the readers take every count once, and
// the sequence moves once per change. Run with -race.
func TestEventfdCountBeside(t *testing.T) {
	var f File
	const writers, readers, each = 4, 2, 2000
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				assert.True(t, f.AddCount(uint64(w+1)))
			}
		}()
	}
	taken := make([]uint64, readers)
	resets := make([]uint64, readers)
	done := make(chan struct{})
	var rg sync.WaitGroup
	for r := range readers {
		rg.Add(1)
		go func() {
			defer rg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if c := f.Counted(); c != 0 && f.TakeCount(c, c) {
					taken[r] += c
					resets[r]++
				}
			}
		}()
	}
	wg.Wait()
	close(done)
	rg.Wait()
	total, changes := f.Counted(), uint64(writers*each)
	for r := range readers {
		total += taken[r]
		changes += resets[r]
	}
	assert.Equal(t, uint64(each*writers*(writers+1)/2), total, "every count taken once, or still counted")
	assert.Equal(t, changes, f.Seq, "one sequence step per add and per reset")
}

// TestEventfdCountLimit: a write that would overflow the counter or
// bring it to 2^64-1 changes nothing; a take of a count that changed
// meanwhile fails; a semaphore's read takes 1.
func TestEventfdCountLimit(t *testing.T) {
	f := File{Count: 1<<64 - 3}
	assert.True(t, f.AddCount(1))
	assert.False(t, f.AddCount(1), "2^64-1 is not a count")
	assert.False(t, f.AddCount(10), "overflow")
	assert.Equal(t, uint64(1<<64-2), f.Counted())
	assert.Equal(t, uint64(1), f.Seq)
	assert.False(t, f.TakeCount(5, 5), "the count is not what the read saw")
	assert.True(t, f.TakeCount(1<<64-2, 1), "a semaphore's read")
	assert.Equal(t, uint64(1<<64-3), f.Counted())
	assert.True(t, f.TakeCount(1<<64-3, 1<<64-3))
	assert.Zero(t, f.Counted())
	assert.Equal(t, uint64(3), f.Seq)
}
