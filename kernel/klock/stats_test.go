package klock

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLockStats: acquisitions, contended ones and their spin, total and
// longest hold, converted to nanoseconds at the TSC rate; Reset zeroes.
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
		SnapshotOf(&s, twoGHz), "the longest hold's tag is 2")
	s.Reset()
	assert.Equal(t, Snapshot{}, SnapshotOf(&s, twoGHz))
}
