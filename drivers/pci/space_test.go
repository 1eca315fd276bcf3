package pci

import (
	"math/rand"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// q35Mem is the memory window the kernel assigns from on QEMU's q35 and
// pc, with 4 KiB the least alignment.
func q35Mem() *Space {
	return &Space{Window: Range{0xc0000000, 0xfec00000}, MinAlign: 4096}
}

// TestSpaceAllocAligned: each range aligned to its size (and at least a
// page), the lowest that is free, packed after one another.
func TestSpaceAllocAligned(t *testing.T) {
	s := q35Mem()
	for _, c := range []struct{ size, want uint64 }{
		{0x4000, 0xc0000000},
		{0x1000, 0xc0004000},
		{0x100000, 0xc0100000}, // aligned to 1 MiB: past the gap
		{16, 0xc0005000},       // a page of its own, in the gap
		{0x2000, 0xc0006000},
		{0x8000, 0xc0008000},
	} {
		got, ok := s.Alloc(c.size)
		require.True(t, ok, "size %#x", c.size)
		assert.Equal(t, c.want, got, "size %#x", c.size)
	}
}

// TestSpaceAllocRejectsOddSizes: BAR sizes are powers of two; anything
// else is refused rather than misaligned.
func TestSpaceAllocRejectsOddSizes(t *testing.T) {
	s := q35Mem()
	for _, size := range []uint64{0, 3, 0x3000, 0x1800} {
		_, ok := s.Alloc(size)
		assert.False(t, ok, "size %#x", size)
	}
	assert.Empty(t, s.Taken())
}

// TestSpaceAvoidsReserved: reserved ranges (RAM, the ECAM window, BARs the
// firmware assigned) are skipped, parts of them outside the window ignored.
func TestSpaceAvoidsReserved(t *testing.T) {
	s := q35Mem()
	s.Reserve(0xb0000000, 0x10001000) // ECAM reaching one page into the window
	s.Reserve(0xc0010000, 0x10)       // a firmware BAR smaller than a page
	s.Reserve(0x0, 0x10000000)        // RAM below the window: ignored
	s.Reserve(0xfec00000, 0x1000)     // the I/O APIC above it: ignored
	require.Equal(t, []Range{{0xc0000000, 0xc0001000}, {0xc0010000, 0xc0010010}}, s.Taken())
	got, ok := s.Alloc(0x10000)
	require.True(t, ok)
	assert.Equal(t, uint64(0xc0020000), got, "neither the ECAM's page nor the firmware's BAR")
	got, ok = s.Alloc(0x1000)
	require.True(t, ok)
	assert.Equal(t, uint64(0xc0001000), got, "the first free page")
}

// TestSpaceExhausted: a range that does not fit is refused and takes
// nothing; smaller ones still fit afterwards.
func TestSpaceExhausted(t *testing.T) {
	s := &Space{Window: Range{0xfeb00000, 0xfeb10000}}
	for i := 0; i < 2; i++ {
		_, ok := s.Alloc(0x8000)
		require.True(t, ok)
	}
	_, ok := s.Alloc(0x8000)
	assert.False(t, ok, "window full")
	_, ok = s.Alloc(0x100000)
	assert.False(t, ok, "bigger than the window")
	assert.Len(t, s.Taken(), 2)

	top := &Space{Window: Range{0xffffffffffff0000, ^uint64(0)}}
	_, ok = top.Alloc(0x10000)
	assert.False(t, ok, "would end past the top of the address space")
	_, ok = top.Alloc(1 << 63)
	assert.False(t, ok, "alignment past the top")
}

// TestSpaceOverflowRefuses: once a reservation could not be remembered,
// no range can be proven free and Alloc refuses.
func TestSpaceOverflowRefuses(t *testing.T) {
	s := q35Mem()
	for i := 0; i <= MaxTaken; i++ {
		s.Reserve(0xc0000000+uint64(i)*0x2000, 0x1000)
	}
	require.True(t, s.Overflow)
	_, ok := s.Alloc(0x1000)
	assert.False(t, ok)
}

// TestSpaceRandomNeverOverlaps allocates random power-of-two sizes around
// random reservations and checks every result: inside the window, aligned,
// overlapping nothing taken before.
func TestSpaceRandomNeverOverlaps(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 200; round++ {
		s := &Space{Window: Range{0xc0000000, 0xc0000000 + 1<<uint(20+rng.Intn(6))}, MinAlign: 4096}
		var reserved []Range
		for i := rng.Intn(8); i > 0; i-- {
			base := s.Window.Base + uint64(rng.Int63n(int64(s.Window.End-s.Window.Base)))
			size := uint64(1 + rng.Intn(1<<18))
			s.Reserve(base, size)
			reserved = append(reserved, Range{base, base + size})
		}
		var got []Range
		for i := 0; i < 40; i++ {
			size := uint64(1) << uint(4+rng.Intn(18))
			a, ok := s.Alloc(size)
			if !ok {
				continue
			}
			r := Range{a, a + size}
			assert.Zero(t, a%max(size, 4096), "aligned")
			assert.True(t, a >= s.Window.Base && r.End <= s.Window.End, "inside the window")
			for _, o := range append(reserved, got...) {
				assert.False(t, o.overlaps(r.Base, r.End), "%#x overlaps %#x", r, o)
			}
			got = append(got, r)
		}
	}
}
