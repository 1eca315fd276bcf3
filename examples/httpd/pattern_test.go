package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPatternAt compares PatternAt with Pattern byte by byte at offsets
// around the period's edges and far past them, chunks of every size the
// handler writes included.
func TestPatternAt(t *testing.T) {
	offsets := []int{0, 1, 250, 251, patternPeriod - 1, patternPeriod, patternPeriod + 7,
		3*patternPeriod - patternChunk/2, 4<<20 - patternChunk, 1<<30 - 5}
	for _, off := range offsets {
		for _, n := range []int{1, 1000, patternChunk} {
			got := PatternAt(off, n)
			require.Len(t, got, n)
			for i, b := range got {
				if b != Pattern(off+i) {
					t.Fatalf("PatternAt(%d, %d)[%d] = %d, want %d", off, n, i, b, Pattern(off+i))
				}
			}
		}
	}
	assert.Equal(t, patternChunk, cap(PatternAt(patternPeriod-1, patternChunk)), "a chunk must not reach past itself")
}

// TestPatternPeriod checks the period the handler relies on.
func TestPatternPeriod(t *testing.T) {
	for i := range 3 * patternPeriod {
		if Pattern(i) != Pattern(i+patternPeriod) {
			t.Fatalf("Pattern(%d) != Pattern(%d)", i, i+patternPeriod)
		}
	}
	seen := map[byte]bool{}
	for i := range patternPeriod {
		seen[Pattern(i)] = true
	}
	assert.Len(t, seen, 256, "every byte value occurs: not a trivial pattern")
}
