package spin

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestStatsCounts: the counts in cycles as Acquired and Released leave
// them; an uncontended acquisition's spin is not counted.
func TestStatsCounts(t *testing.T) {
	var s Stats
	s.Acquired(false, 50)
	s.Released(1000, 1)
	s.Acquired(true, 4000)
	s.Released(3000, 2)
	acq, cont, spin, hold, longest, by := s.Counts()
	assert.Equal(t, [6]uint64{2, 1, 4000, 4000, 3000, 2}, [6]uint64{acq, cont, spin, hold, longest, by})
}

// TestStatsWaited: a wait outside the lock counts as a contention with
// its cycles, and the acquisition after it as uncontended.
func TestStatsWaited(t *testing.T) {
	var s Stats
	s.Waited(700)
	s.Acquired(false, 0)
	s.Released(100, 0)
	s.Waited(300) // a wait whose try was refused again: no acquisition
	acq, cont, spin, hold, _, _ := s.Counts()
	assert.Equal(t, [4]uint64{1, 2, 1000, 100}, [4]uint64{acq, cont, spin, hold})
}

// TestStatsLongestConcurrent: releases from several CPUs at once keep
// the largest hold (the compare-and-swap loop loses none).
func TestStatsLongestConcurrent(t *testing.T) {
	var s Stats
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				s.Released(uint64(g*1000+i), uint64(g))
			}
		}()
	}
	wg.Wait()
	_, _, _, _, longest, by := s.Counts()
	assert.Equal(t, uint64(7999), longest)
	assert.Equal(t, uint64(7), by)
}
