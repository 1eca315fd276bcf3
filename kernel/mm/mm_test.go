package mm

import (
	"math/rand"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeRAM returns a Frames over a host buffer standing in for physical
// memory [base, base+size).
func fakeRAM(t *testing.T, base, size uint64) *Frames {
	buf := make([]byte, size+PageSize)
	start := (uintptr(unsafe.Pointer(&buf[0])) + PageSize - 1) &^ (PageSize - 1)
	t.Cleanup(func() { _ = buf[0] })
	f := &Frames{DirectBase: start - uintptr(base)}
	require.True(t, f.AddRange(base, base+size))
	keep = append(keep, buf)
	return f
}

var keep [][]byte

func TestFramesAllocFreeReserve(t *testing.T) {
	f := fakeRAM(t, 0x100000, 64*PageSize)
	assert.Equal(t, uint64(64), f.Total())
	f.Reserve(0x100000+4*PageSize, 0x100000+6*PageSize) // a hole in the middle
	assert.Equal(t, uint64(62), f.FreeCount())
	seen := map[uint64]bool{}
	for {
		pa := f.Alloc()
		if pa == 0 {
			break
		}
		assert.False(t, seen[pa], "frame handed out twice")
		assert.False(t, pa >= 0x104000 && pa < 0x106000, "reserved frame handed out")
		seen[pa] = true
		f.Page(pa)[7] = 0xaa // dirty it
	}
	assert.Len(t, seen, 62)
	assert.Equal(t, uint64(0), f.FreeCount())
	for pa := range seen {
		f.Free(pa)
	}
	assert.Equal(t, uint64(62), f.FreeCount())
	pa := f.Alloc()
	require.NotZero(t, pa)
	assert.Equal(t, [PageSize]byte{}, *f.Page(pa), "Alloc must zero reused frames")
}

func TestFramesNeverHandsOutFrameZero(t *testing.T) {
	f := fakeRAM(t, 0, 4*PageSize)
	assert.Equal(t, uint64(3), f.Total())
	for pa := f.Alloc(); pa != 0; pa = f.Alloc() {
		assert.NotZero(t, pa)
	}
}

func TestPageTableMapLookupUnmap(t *testing.T) {
	f := fakeRAM(t, 0x200000, 256*PageSize)
	var pt PageTable
	require.True(t, pt.Init(f))
	va := uintptr(0x00c000001000)
	require.True(t, pt.Map(f, va, 0x1234000, PTEWrite|PTEUser|PTENoExec))
	pa, flags, ok := pt.Lookup(va + 0x123)
	require.True(t, ok)
	assert.Equal(t, uint64(0x1234000), pa)
	assert.Equal(t, uint64(PTEPresent|PTEWrite|PTEUser|PTENoExec), flags)
	_, _, ok = pt.Lookup(va + PageSize)
	assert.False(t, ok)

	require.True(t, pt.Protect(va, PTEUser))
	_, flags, _ = pt.Lookup(va)
	assert.Equal(t, uint64(PTEPresent|PTEUser), flags)

	got, ok := pt.Unmap(va)
	assert.True(t, ok)
	assert.Equal(t, uint64(0x1234000), got)
	_, ok = pt.Unmap(va)
	assert.False(t, ok)

	// Intermediate entries of a user mapping carry the user bit.
	pml4 := pt.table(pt.Root)
	assert.NotZero(t, pml4[Index(va, 3)]&PTEUser)
}

func TestPageTable2M(t *testing.T) {
	f := fakeRAM(t, 0x200000, 64*PageSize)
	var pt PageTable
	require.True(t, pt.Init(f))
	base := uintptr(0xffff800000000000)
	require.True(t, pt.Map2M(f, base+0x400000, 0x400000, PTEWrite))
	pa, _, ok := pt.Lookup(base + 0x400000 + 0x5123)
	require.True(t, ok)
	assert.Equal(t, uint64(0x405000), pa)
	assert.False(t, pt.Map(f, base+0x401000, 0x1000, 0), "4K map inside a 2M page must fail")
}

func TestPageTableNextMapped(t *testing.T) {
	f := fakeRAM(t, 0x200000, 64*PageSize)
	var pt PageTable
	require.True(t, pt.Init(f))
	require.True(t, pt.Map(f, 0x7f0000005000, 0x300000, PTEUser))
	next := pt.NextMapped(0x10000, 0x7fffffffffff)
	assert.LessOrEqual(t, next, uintptr(0x7f0000005000))
	assert.GreaterOrEqual(t, next, uintptr(0x7f0000000000), "should skip empty tables")
	assert.Equal(t, uintptr(0x20000), pt.NextMapped(0x10000, 0x20000))
}

func TestCanonicalAndIndex(t *testing.T) {
	assert.True(t, Canonical(0x00007fffffffffff))
	assert.True(t, Canonical(0xffff800000000000))
	assert.False(t, Canonical(0x0000800000000000))
	assert.Equal(t, 1, Index(0x8000000000, 3))
	assert.Equal(t, 511, Index(0x1ff000, 0))
}

func TestVMAInsertMergeRemoveSplit(t *testing.T) {
	var s VMASet
	require.True(t, s.Insert(0x1000, 0x3000, ProtRead))
	require.True(t, s.Insert(0x3000, 0x5000, ProtRead)) // merges
	assert.Equal(t, 1, s.Len())
	require.True(t, s.Insert(0x5000, 0x6000, ProtRead|ProtWrite))
	assert.Equal(t, 2, s.Len())
	assert.False(t, s.IsFree(0x4000, 0x8000))
	assert.True(t, s.IsFree(0x6000, 0x8000))

	require.True(t, s.Remove(0x2000, 0x3000)) // split
	assert.Equal(t, []VMA{{0x1000, 0x2000, 1}, {0x3000, 0x5000, 1}, {0x5000, 0x6000, 3}}, all(&s))
	v, ok := s.Find(0x5fff)
	assert.True(t, ok)
	assert.Equal(t, uint8(3), v.Prot)
	_, ok = s.Find(0x2000)
	assert.False(t, ok)

	assert.Equal(t, uint64(0x1000), s.Bytes(0, 0x10000, ProtWrite))
	assert.Equal(t, uint64(0x4000), s.Bytes(0, 0x10000, 0))

	require.True(t, s.Protect(0x1000, 0x6000, ProtRead|ProtWrite))
	assert.Equal(t, []VMA{{0x1000, 0x2000, 3}, {0x3000, 0x6000, 3}}, all(&s))
	require.True(t, s.Remove(0, 0x10000))
	assert.Equal(t, 0, s.Len())
}

func TestVMAFindFree(t *testing.T) {
	var s VMASet
	lo, hi := uintptr(0x10000), uintptr(0x100000)
	a, ok := s.FindFree(0xc000, 0x1000, lo, hi)
	require.True(t, ok)
	assert.Equal(t, hi-0x1000, a, "hint below lo is ignored; top-down")
	a, ok = s.FindFree(0x20000, 0x2000, lo, hi)
	require.True(t, ok)
	assert.Equal(t, uintptr(0x20000), a, "free hint is honoured")
	require.True(t, s.Insert(0x20000, 0x22000, ProtRead))
	a, ok = s.FindFree(0x21000, 0x2000, lo, hi)
	require.True(t, ok)
	assert.NotEqual(t, uintptr(0x21000), a, "busy hint must not be used")
	assert.True(t, s.IsFree(a, a+0x2000))
	_, ok = s.FindFree(0, hi, lo, hi)
	assert.False(t, ok)
}

// TestVMARandomAgainstModel checks the set against a page-granular model.
func TestVMARandomAgainstModel(t *testing.T) {
	const pages = 64
	var s VMASet
	var model [pages]uint8 // 0 = unmapped, else prot|8
	r := rand.New(rand.NewSource(2))
	for step := 0; step < 5000; step++ {
		a := r.Intn(pages)
		b := a + 1 + r.Intn(pages-a)
		start, end := uintptr(a)*PageSize, uintptr(b)*PageSize
		prot := uint8(r.Intn(8))
		switch r.Intn(3) {
		case 0:
			if s.IsFree(start, end) {
				require.True(t, s.Insert(start, end, prot))
				for i := a; i < b; i++ {
					model[i] = prot | 8
				}
			}
		case 1:
			require.True(t, s.Remove(start, end))
			for i := a; i < b; i++ {
				model[i] = 0
			}
		case 2:
			require.True(t, s.Protect(start, end, prot))
			for i := a; i < b; i++ {
				if model[i] != 0 {
					model[i] = prot | 8
				}
			}
		}
		for i := 0; i < pages; i++ {
			v, ok := s.Find(uintptr(i)*PageSize + 5)
			if model[i] == 0 {
				require.False(t, ok, "page %d step %d", i, step)
			} else {
				require.True(t, ok, "page %d step %d", i, step)
				require.Equal(t, model[i]&7, v.Prot)
			}
		}
		for i := 1; i < s.Len(); i++ {
			p, c := s.At(i-1), s.At(i)
			require.Less(t, p.Start, p.End)
			require.LessOrEqual(t, p.End, c.Start)
			require.False(t, p.End == c.Start && p.Prot == c.Prot, "adjacent equal areas must merge")
		}
	}
}

func all(s *VMASet) []VMA {
	var out []VMA
	for i := 0; i < s.Len(); i++ {
		out = append(out, s.At(i))
	}
	return out
}

func TestFramesAllocContiguous(t *testing.T) {
	f := fakeRAM(t, 0x100000, 16*PageSize)
	f.Reserve(0x100000+2*PageSize, 0x100000+3*PageSize) // leaves 2 + 13 frames
	pa := f.AllocContiguous(8)
	assert.Equal(t, uint64(0x100000+3*PageSize), pa, "the first range with room")
	assert.Zero(t, f.AllocContiguous(8), "only 5 left in a row")
	assert.Equal(t, uint64(7), f.FreeCount())
}

// TestVMAProtectKeepsLazy checks that mprotect's Protect keeps each area's
// ProtLazy bit (how the area is charged) while it changes the access bits,
// and that Index finds the first area ending above an address.
func TestVMAProtectKeepsLazy(t *testing.T) {
	var s VMASet
	require.True(t, s.Insert(0x1000, 0x3000, ProtRead|ProtWrite|ProtLazy))
	require.True(t, s.Insert(0x3000, 0x5000, ProtRead|ProtWrite))
	require.True(t, s.Protect(0x2000, 0x4000, 0))
	assert.Equal(t, []VMA{
		{0x1000, 0x2000, ProtRead | ProtWrite | ProtLazy},
		{0x2000, 0x3000, ProtLazy},
		{0x3000, 0x4000, 0},
		{0x4000, 0x5000, ProtRead | ProtWrite},
	}, all(&s))
	require.True(t, s.Protect(0x1000, 0x5000, ProtRead|ProtWrite|ProtLazy))
	assert.Equal(t, []VMA{
		{0x1000, 0x3000, ProtRead | ProtWrite | ProtLazy},
		{0x3000, 0x5000, ProtRead | ProtWrite},
	}, all(&s), "ProtLazy in the argument is ignored; adjacent equal areas merge")
	assert.Equal(t, 0, s.Index(0))
	assert.Equal(t, 0, s.Index(0x2fff))
	assert.Equal(t, 1, s.Index(0x3000))
	assert.Equal(t, 2, s.Index(0x5000))
}

// TestFramesConcurrent: CPUs allocating and freeing at once (a page fault
// under the memory lock, a socket buffer under the kernel lock) never get
// the same frame, and lose none. Each goroutine marks the frames it holds
// with its own number and checks the mark before freeing them; at the end
// every frame is free again. Without the allocator's lock the free list
// is corrupted within a few thousand rounds (go test -race reports the
// race, and the marks or the final count catch it without -race).
func TestFramesConcurrent(t *testing.T) {
	const frames, workers, rounds = 256, 8, 2000
	f := fakeRAM(t, 0x100000, frames*PageSize)
	done := make(chan error, workers)
	for w := range workers {
		go func() {
			held := make([]uint64, 0, 8)
			for r := range rounds {
				for range 1 + r%8 {
					if pa := f.Alloc(); pa != 0 {
						if f.Page(pa)[100] != 0 {
							done <- assert.AnError
							return
						}
						f.Page(pa)[100] = byte(w + 1)
						held = append(held, pa)
					}
				}
				for _, pa := range held {
					if f.Page(pa)[100] != byte(w+1) {
						done <- assert.AnError
						return
					}
					f.Page(pa)[100] = 0
					f.Free(pa)
				}
				held = held[:0]
			}
			done <- nil
		}()
	}
	for range workers {
		require.NoError(t, <-done, "a frame was handed to two CPUs at once")
	}
	assert.Equal(t, uint64(frames), f.FreeCount(), "every frame is free again")
}
