package klock

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLockStats: acquisitions, contended ones and their spin, total and
// longest hold, converted to nanoseconds at the TSC rate; reset zeroes.
func TestLockStats(t *testing.T) {
	var s Stats
	s.Acquired(false, 50) // uncontended: its spin is the CAS itself, not counted
	s.Released(1000, 1)
	s.Acquired(true, 4000)
	s.Released(3000, 2)
	s.Acquired(true, 2000)
	s.Released(2000, 3)
	const twoGHz = (1e9 << 32) / 2e9 // 0.5 ns per cycle
	assert.Equal(t, Snapshot{Acquisitions: 3, Contentions: 2, SpinNs: 3000, HoldNs: 3000, LongestNs: 1500, LongestBy: 2},
		s.Snapshot(twoGHz))
	assert.Equal(t, uint64(2), s.longestBy.Load(), "the longest hold's tag")
	s.reset()
	assert.Equal(t, Snapshot{}, s.Snapshot(twoGHz))
	assert.Zero(t, s.longestBy.Load())
}

// TestLockStatsLongestConcurrent: releases from several CPUs at once keep
// the largest hold (the compare-and-swap loop loses none).
func TestLockStatsLongestConcurrent(t *testing.T) {
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
	assert.Equal(t, uint64(7999), s.longest.Load())
	assert.Equal(t, uint64(7), s.longestBy.Load())
}
