package fdtab

import (
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSet: Add, Remove, Has, Next and Take agree with a plain map over
// random operations, at both ends of the range and across words; Take
// hands the numbers out in increasing order and -1 once empty.
func TestSet(t *testing.T) {
	var s Set
	want := map[int]bool{}
	r := rand.New(rand.NewPCG(1, 2))
	for step := range 5000 {
		i := r.IntN(MaxFDs)
		switch step % 9 {
		case 0, 1, 2, 3:
			s.Add(i)
			want[i] = true
		case 4, 5:
			s.Remove(i)
			delete(want, i)
		case 6:
			var next int = -1
			for k := i; k < MaxFDs; k++ {
				if want[k] {
					next = k
					break
				}
			}
			assert.Equal(t, next, s.Next(i), "step %d: next from %d", step, i)
		default:
			assert.Equal(t, want[i], s.Has(i), "step %d: has %d", step, i)
		}
		assert.Equal(t, len(want) == 0, s.Empty(), "step %d", step)
	}
	s.Add(0)
	s.Add(MaxFDs - 1)
	want[0], want[MaxFDs-1] = true, true
	var keys, got []int
	for k := range want {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i := s.Take(); i >= 0; i = s.Take() {
		got = append(got, i)
	}
	assert.Equal(t, keys, got)
	assert.True(t, s.Empty())
	assert.Equal(t, -1, s.Take())
	s.Add(64)
	s.Clear()
	assert.True(t, s.Empty())
}

// TestSetTakeBeside: the kernel lock's wakes take a set's numbers (Take)
// while calls under the files lock held shared add numbers to the same
// words (Add) and take and put back whole words (TakeWord, PutWord), as
// fdcalls.RecordsNeedKernel does: every number added is taken exactly
// once, by the taker or at the end, none lost and none twice. Run with
// -race (make race): with Take's clear a plain read-modify-write, the
// detector reports it, and the adds it overwrites are lost.
func TestSetTakeBeside(t *testing.T) {
	const adders, each = 3, 64 // every adder's numbers in the same two words
	var s Set
	var wg sync.WaitGroup
	var adding atomic.Int32
	adding.Store(adders)
	for a := range adders {
		wg.Go(func() {
			defer adding.Add(-1)
			for k := range each {
				s.Add(k*adders + a)
				if k%8 == 0 { // a records' check beside: the word taken and put back
					w := (k * adders) / 64
					s.PutWord(w, s.TakeWord(w))
				}
			}
		})
	}
	var taken []int
	for adding.Load() > 0 {
		if i := s.Take(); i >= 0 {
			taken = append(taken, i)
		}
	}
	wg.Wait()
	for i := s.Take(); i >= 0; i = s.Take() {
		taken = append(taken, i)
	}
	slices.Sort(taken)
	want := make([]int, adders*each)
	for i := range want {
		want[i] = i
	}
	assert.Equal(t, want, taken, "each number taken exactly once")
}
