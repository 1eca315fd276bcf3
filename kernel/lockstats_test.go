package kernel

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLockStats: acquisitions, contended ones and their spin, total and
// longest hold, converted to nanoseconds at the TSC rate; reset zeroes.
func TestLockStats(t *testing.T) {
	var s lockStats
	s.acquired(false, 50) // uncontended: its spin is the CAS itself, not counted
	s.released(1000)
	s.acquired(true, 4000)
	s.released(3000)
	s.acquired(true, 2000)
	s.released(2000)
	const twoGHz = (1e9 << 32) / 2e9 // 0.5 ns per cycle
	assert.Equal(t, lockSnapshot{Acquisitions: 3, Contentions: 2, SpinNs: 3000, HoldNs: 3000, LongestNs: 1500},
		s.snapshot(twoGHz))
	s.reset()
	assert.Equal(t, lockSnapshot{}, s.snapshot(twoGHz))
}

// TestLockStatsLongestConcurrent: releases from several CPUs at once keep
// the largest hold (the compare-and-swap loop loses none).
func TestLockStatsLongestConcurrent(t *testing.T) {
	var s lockStats
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				s.released(uint64(g*1000 + i))
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, uint64(7999), s.longest.Load())
}

func TestCyclesToNs(t *testing.T) {
	assert.Equal(t, uint64(1000), cyclesToNs(4000, (1e9<<32)/4e9), "4 GHz")
	assert.Equal(t, uint64(999), cyclesToNs(3000, uint64(1e9<<32)/uint64(3e9)), "3 GHz rounds down")
	assert.Equal(t, uint64(1)<<40, cyclesToNs(1<<40, 1<<32), "1 GHz, large counts")
}
