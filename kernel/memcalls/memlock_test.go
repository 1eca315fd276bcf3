package memcalls

import (
	"math/rand"
	"runtime"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// The calls under the memory lock alone against the kernel lock's path,
// on the host: the page table and its frames live in a host buffer
// standing in for physical memory.

const (
	ramBase  = 0x100000
	ramPages = 512
	window   = vm.UserMin + 0x100000 // the test's addresses: 64 pages from here
)

// newSpace gives the package an empty address space: fresh frames over a
// host buffer, an empty page table, no areas, no commit, and a commit
// limit of limitPages.
func newSpace(t *testing.T, limitPages uint64) {
	t.Helper()
	buf := make([]byte, (ramPages+1)*mm.PageSize)
	start := (uintptr(unsafe.Pointer(&buf[0])) + mm.PageSize - 1) &^ (mm.PageSize - 1)
	t.Cleanup(func() { runtime.KeepAlive(buf) })
	vm.Frames = mm.Frames{DirectBase: start - ramBase}
	require.True(t, vm.Frames.AddRange(ramBase, ramBase+ramPages*mm.PageSize))
	mm.KPT = mm.PageTable{}
	require.True(t, mm.KPT.Init(&vm.Frames))
	vm.VMAs = mm.VMASet{}
	vm.Uncommit(vm.Committed())
	vm.CommitLimit = limitPages * mm.PageSize
}

// touch faults page va in as the program's access would (write).
func touch(t *testing.T, va uintptr) {
	t.Helper()
	require.Equal(t, vm.FaultMapped, vm.MapOnFault(va, true, false), "touch %#x", va)
}

// space is what a call may change: the areas, the commit charge, and
// the page table's entries in the test's window (which no call compared
// here may change).
type space struct {
	areas     []mm.VMA
	committed uint64
	pages     []uint64 // the window's present entries: address | flags
}

func snapshot() space {
	s := space{committed: vm.Committed()}
	for i := 0; i < vm.VMAs.Len(); i++ {
		s.areas = append(s.areas, vm.VMAs.At(i))
	}
	for va := uintptr(window); va < window+64*mm.PageSize; va += mm.PageSize {
		if _, flags, ok := mm.KPT.Lookup(va); ok {
			s.pages = append(s.pages, uint64(va)|flags&0xfff)
		}
	}
	return s
}

// holdsPageOrDevice reports, page by page, whether [start, end) holds a
// present page or device memory: the test's own look, not untouched's.
func holdsPageOrDevice(start, end uintptr) bool {
	for va := start &^ (mm.PageSize - 1); va < end; va += mm.PageSize {
		if _, _, ok := mm.KPT.Lookup(va); ok {
			return true
		}
	}
	for i := 0; i < vm.VMAs.Len(); i++ {
		if a := vm.VMAs.At(i); a.Prot&mm.ProtDevice != 0 && a.Start < end && a.End > start {
			return true
		}
	}
	return false
}

// restore puts the areas and the charge of s back (the page table is
// never changed by the calls compared here).
func restore(s space) {
	vm.VMAs = mm.VMASet{}
	for _, a := range s.areas {
		vm.VMAs.Insert(a.Start, a.End, a.Prot)
	}
	vm.Uncommit(vm.Committed())
	vm.Commit(s.committed)
}

// call is MemLockCall with an offset of 0 (the only argument it reads
// past the fourth).
func call(nr uint64, a0, a1, a2, a3 uintptr) (int64, bool) {
	return MemLockCall(nr, a0, a1, a2, a3, 0)
}

func mmapCall(addr, length uintptr, prot, flags int) (int64, bool) {
	return call(unix.SYS_MMAP, addr, length, uintptr(prot), uintptr(flags))
}

func TestMemLockCallServesUntouchedRanges(t *testing.T) {
	newSpace(t, 256)
	anon := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS

	// The runtime's pattern: a PROT_NONE reservation, part of it made
	// heap with MAP_FIXED, charged whole.
	r, ok := mmapCall(0, 16*mm.PageSize, unix.PROT_NONE, anon)
	require.True(t, ok)
	require.Positive(t, r)
	res := uintptr(r)
	r, ok = mmapCall(res, 4*mm.PageSize, unix.PROT_READ|unix.PROT_WRITE, anon|unix.MAP_FIXED)
	require.True(t, ok, "MAP_FIXED over a reservation with no page is served")
	assert.Equal(t, int64(res), r)
	assert.Equal(t, uint64(4*mm.PageSize), vm.Committed(), "MAP_FIXED is charged whole")
	v, found := vm.VMAs.Find(res)
	require.True(t, found)
	assert.Equal(t, uint8(unix.PROT_READ|unix.PROT_WRITE), v.Prot)

	// A touched page sends every call on its range to the kernel lock's
	// path, unchanged.
	touch(t, res+mm.PageSize)
	before := snapshot()
	for _, c := range []struct {
		nr         uint64
		a0, a1, a2 uintptr
		a3         int
	}{
		{unix.SYS_MMAP, res, 2 * mm.PageSize, unix.PROT_READ, anon | unix.MAP_FIXED},
		{unix.SYS_MUNMAP, res, 4 * mm.PageSize, 0, 0},
		{unix.SYS_MPROTECT, res, 2 * mm.PageSize, unix.PROT_READ, 0},
		{unix.SYS_MADVISE, res, 4 * mm.PageSize, unix.MADV_DONTNEED, 0},
		{unix.SYS_MADVISE, res, 4 * mm.PageSize, unix.MADV_FREE, 0},
	} {
		_, ok := call(c.nr, c.a0, c.a1, c.a2, uintptr(c.a3))
		assert.False(t, ok, "call %d over a touched page", c.nr)
		assert.Equal(t, before, snapshot(), "call %d changed the space it refused", c.nr)
	}
	// Other advice changes nothing anywhere: served.
	r, ok = call(unix.SYS_MADVISE, res, 4*mm.PageSize, unix.MADV_HUGEPAGE, 0)
	assert.True(t, ok)
	assert.Zero(t, r)

	// The untouched rest is served: mprotect, madvise, munmap.
	r, ok = call(unix.SYS_MPROTECT, res+2*mm.PageSize, 2*mm.PageSize, unix.PROT_READ, 0)
	assert.True(t, ok)
	assert.Zero(t, r)
	assert.Equal(t, uint64(2*mm.PageSize), vm.Committed(), "read-only pages are charged no more")
	r, ok = call(unix.SYS_MADVISE, res+2*mm.PageSize, 2*mm.PageSize, unix.MADV_DONTNEED, 0)
	assert.True(t, ok)
	assert.Zero(t, r)
	r, ok = call(unix.SYS_MUNMAP, res+4*mm.PageSize, 12*mm.PageSize, 0, 0)
	assert.True(t, ok)
	assert.Zero(t, r)
	assert.True(t, vm.VMAs.IsFree(res+4*mm.PageSize, res+16*mm.PageSize))

	// Files and device memory are the file layer's and the devices':
	// never served here.
	_, ok = mmapCall(0, mm.PageSize, unix.PROT_READ, unix.MAP_SHARED)
	assert.False(t, ok, "a file's mmap")
	require.True(t, vm.VMAs.Insert(window, window+2*mm.PageSize, unix.PROT_READ|mm.ProtDevice))
	_, ok = call(unix.SYS_MUNMAP, window, 2*mm.PageSize, 0, 0)
	assert.False(t, ok, "device memory, even with no page mapped")
}

func TestMemLockCallErrors(t *testing.T) {
	newSpace(t, 8)
	anon := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	for _, c := range []struct {
		name string
		nr   uint64
		a    [5]uintptr
		want int64
	}{
		{"mmap of no bytes", unix.SYS_MMAP, [5]uintptr{0, 0, unix.PROT_READ, uintptr(anon), 0}, -abi.EINVAL},
		{"mmap of anonymous memory with MAP_SHARED_VALIDATE", unix.SYS_MMAP, [5]uintptr{0, mm.PageSize, unix.PROT_READ, unix.MAP_SHARED_VALIDATE | unix.MAP_ANONYMOUS, 0}, -abi.EINVAL},
		{"mmap at an unaligned offset", unix.SYS_MMAP, [5]uintptr{0, mm.PageSize, unix.PROT_READ, uintptr(anon), 12}, -abi.EINVAL},
		{"mmap neither private nor shared", unix.SYS_MMAP, [5]uintptr{0, mm.PageSize, unix.PROT_READ, unix.MAP_ANONYMOUS, 0}, -abi.EINVAL},
		{"MAP_FIXED unaligned", unix.SYS_MMAP, [5]uintptr{window + 1, mm.PageSize, unix.PROT_READ, uintptr(anon | unix.MAP_FIXED), 0}, -abi.EINVAL},
		{"MAP_FIXED over the top", unix.SYS_MMAP, [5]uintptr{vm.UserTop - mm.PageSize, 2 * mm.PageSize, unix.PROT_READ, uintptr(anon | unix.MAP_FIXED), 0}, -abi.ENOMEM},
		{"a writable MAP_FIXED past the commit limit", unix.SYS_MMAP, [5]uintptr{window, 9 * mm.PageSize, unix.PROT_WRITE, uintptr(anon | unix.MAP_FIXED), 0}, -abi.ENOMEM},
		{"mmap of a length that wraps around", unix.SYS_MMAP, [5]uintptr{0, ^uintptr(0) - 10, unix.PROT_READ, uintptr(anon), 0}, -abi.ENOMEM},
		{"munmap unaligned", unix.SYS_MUNMAP, [5]uintptr{window + 8, mm.PageSize}, -abi.EINVAL},
		{"munmap of no bytes", unix.SYS_MUNMAP, [5]uintptr{window, 0}, -abi.EINVAL},
		{"mprotect with an unknown bit", unix.SYS_MPROTECT, [5]uintptr{window, mm.PageSize, 0x10}, -abi.EINVAL},
		{"mprotect of unmapped memory", unix.SYS_MPROTECT, [5]uintptr{window, mm.PageSize, unix.PROT_READ}, -abi.ENOMEM},
		{"madvise below the program's lowest address (nothing there)", unix.SYS_MADVISE, [5]uintptr{0x1000, mm.PageSize, unix.MADV_DONTNEED}, -abi.ENOMEM},
		{"mprotect below the program's lowest address", unix.SYS_MPROTECT, [5]uintptr{0x1000, mm.PageSize, unix.PROT_READ}, -abi.ENOMEM},
		{"mprotect in the kernel half", unix.SYS_MPROTECT, [5]uintptr{0xffff800000000000, mm.PageSize, unix.PROT_READ}, -abi.ENOMEM},
		{"munmap below the program's lowest address", unix.SYS_MUNMAP, [5]uintptr{0x1000, mm.PageSize}, 0},
		{"munmap at 0", unix.SYS_MUNMAP, [5]uintptr{0, mm.PageSize}, 0},
		{"mprotect whose length wraps", unix.SYS_MPROTECT, [5]uintptr{window, ^uintptr(0) - 10, unix.PROT_READ}, -abi.ENOMEM},
		{"madvise whose length wraps", unix.SYS_MADVISE, [5]uintptr{window, ^uintptr(0) - 10, unix.MADV_DONTNEED}, -abi.EINVAL},
		{"munmap whose length wraps", unix.SYS_MUNMAP, [5]uintptr{window, ^uintptr(0) - 10}, -abi.EINVAL},
		{"mprotect of no bytes with an unknown bit", unix.SYS_MPROTECT, [5]uintptr{window, 0, 0x80}, 0},
		{"MADV_DONTNEED of unmapped memory", unix.SYS_MADVISE, [5]uintptr{window, mm.PageSize, unix.MADV_DONTNEED}, -abi.ENOMEM},
		{"MADV_WILLNEED of unmapped memory", unix.SYS_MADVISE, [5]uintptr{window, mm.PageSize, unix.MADV_WILLNEED}, -abi.ENOMEM},
		{"MADV_WILLNEED of no bytes", unix.SYS_MADVISE, [5]uintptr{window, 0, unix.MADV_WILLNEED}, 0},
		{"unknown advice", unix.SYS_MADVISE, [5]uintptr{window, mm.PageSize, 7}, -abi.EINVAL},
		{"unknown advice, no bytes", unix.SYS_MADVISE, [5]uintptr{window, 0, 200}, -abi.EINVAL},
		{"MADV_REMOVE (hole punching: not served)", unix.SYS_MADVISE, [5]uintptr{window, mm.PageSize, unix.MADV_REMOVE}, -abi.EINVAL},
		{"advice with high bits above the int", unix.SYS_MADVISE, [5]uintptr{window, mm.PageSize, 1<<32 | unix.MADV_WILLNEED}, -abi.ENOMEM},
	} {
		before := snapshot()
		r, ok := MemLockCall(c.nr, c.a[0], c.a[1], c.a[2], c.a[3], c.a[4])
		assert.True(t, ok, c.name)
		assert.Equal(t, c.want, r, c.name)
		assert.Equal(t, before, snapshot(), "%s changed the space", c.name)
	}
	r, ok := mmapCall(window, mm.PageSize, unix.PROT_READ, anon|unix.MAP_FIXED_NOREPLACE)
	require.True(t, ok)
	require.Equal(t, int64(window), r)
	// As Linux, mmap ignores prot bits it does not know (here they would
	// have been the area's own marks: mm.ProtLazy, mm.ProtDevice), and
	// mprotect takes PROT_SEM, without effect.
	r, ok = mmapCall(window+8*mm.PageSize, mm.PageSize, unix.PROT_READ|0x80|mm.ProtLazy|mm.ProtDevice, anon|unix.MAP_FIXED)
	require.True(t, ok)
	require.Equal(t, int64(window+8*mm.PageSize), r, "mmap with prot bits it does not know")
	a, found := vm.VMAs.Find(window + 8*mm.PageSize)
	require.True(t, found)
	assert.Equal(t, uint8(unix.PROT_READ), a.Prot, "the unknown bits are not the area's")
	r, ok = call(unix.SYS_MPROTECT, window+8*mm.PageSize, mm.PageSize, unix.PROT_READ|0x8, 0)
	assert.True(t, ok)
	assert.Zero(t, r, "mprotect with PROT_SEM")
	a, _ = vm.VMAs.Find(window + 8*mm.PageSize)
	assert.Equal(t, uint8(unix.PROT_READ), a.Prot)

	for _, flags := range []int{unix.MAP_FIXED_NOREPLACE, unix.MAP_FIXED | unix.MAP_FIXED_NOREPLACE} {
		r, ok = mmapCall(window, mm.PageSize, unix.PROT_READ, anon|flags)
		assert.True(t, ok)
		assert.Equal(t, -abi.EEXIST, r, "MAP_FIXED_NOREPLACE over an area (flags %#x), as Linux", flags)
	}

	// Past the commit limit (lazily charged pages may take it there), a
	// change that does not grow the charge still succeeds.
	vm.Commit(vm.CommitLimit + mm.PageSize)
	r, ok = call(unix.SYS_MPROTECT, window, 0, unix.PROT_READ|unix.PROT_WRITE, 0)
	assert.True(t, ok)
	assert.Zero(t, r, "mprotect of no bytes")
	r, ok = call(unix.SYS_MPROTECT, window, mm.PageSize, unix.PROT_NONE, 0)
	assert.True(t, ok)
	assert.Zero(t, r, "mprotect that takes write access away")
	r, ok = mmapCall(window+4*mm.PageSize, mm.PageSize, unix.PROT_READ|unix.PROT_WRITE, anon|unix.MAP_FIXED)
	assert.True(t, ok)
	assert.Equal(t, -abi.ENOMEM, r, "a writable MAP_FIXED grows the charge")
}

// TestMemLockCallMatchesKernelPath makes random calls over a small window
// where some pages are touched and some areas are device memory: every
// call MemLockCall serves must leave the areas and the charge as the
// kernel lock's path leaves them, with the same answer; every call it
// refuses must change nothing and be one whose range holds a page, a
// device area, or a file.
func TestMemLockCallMatchesKernelPath(t *testing.T) {
	newSpace(t, 48)
	rng := rand.New(rand.NewSource(1))
	page := func(n int) uintptr { return window + uintptr(n)*mm.PageSize }
	protOf := func() int {
		if rng.Intn(20) == 0 {
			return 0x100 // not a PROT_* bit
		}
		return rng.Intn(8)
	}
	var served, refused, failed, equalNonZero int
	for i := 0; i < 20000; i++ {
		// Touch a page now and then, as the program does.
		if rng.Intn(4) == 0 {
			vm.MapOnFault(page(rng.Intn(64)), rng.Intn(2) == 0, false)
		}
		if rng.Intn(200) == 0 {
			n := rng.Intn(60)
			if vm.VMAs.IsFree(page(n), page(n+2)) {
				vm.VMAs.Insert(page(n), page(n+2), unix.PROT_READ|mm.ProtDevice)
			}
		}
		addr := page(rng.Intn(64))
		if rng.Intn(10) == 0 {
			addr += uintptr(rng.Intn(mm.PageSize))
		}
		length := uintptr(rng.Intn(12)) * mm.PageSize
		if rng.Intn(10) == 0 {
			length += uintptr(rng.Intn(mm.PageSize))
		}
		var nr uint64
		var a2, a3 int
		switch rng.Intn(4) {
		case 0:
			nr, a2 = unix.SYS_MMAP, protOf()
			a3 = []int{unix.MAP_PRIVATE, unix.MAP_SHARED, 0}[rng.Intn(3)] | unix.MAP_ANONYMOUS
			a3 |= []int{0, 0, unix.MAP_FIXED, unix.MAP_FIXED, unix.MAP_FIXED_NOREPLACE, unix.MAP_FIXED | unix.MAP_FIXED_NOREPLACE}[rng.Intn(6)]
			if rng.Intn(30) == 0 {
				a3 &^= unix.MAP_ANONYMOUS
			}
			if a3&(unix.MAP_FIXED|unix.MAP_FIXED_NOREPLACE) == 0 && rng.Intn(2) == 0 {
				addr = 0
			}
		case 1:
			nr = unix.SYS_MUNMAP
		case 2:
			nr, a2 = unix.SYS_MPROTECT, protOf()
		default:
			nr = unix.SYS_MADVISE
			a2 = []int{unix.MADV_DONTNEED, unix.MADV_FREE, unix.MADV_DONTNEED_LOCKED, unix.MADV_NORMAL, unix.MADV_HUGEPAGE, unix.MADV_WILLNEED, unix.MADV_REMOVE, 7}[rng.Intn(8)]
		}
		before := snapshot()
		r, ok := call(nr, addr, length, uintptr(a2), uintptr(a3))
		if !ok {
			refused++
			require.Equal(t, before, snapshot(), "call %d: refused %d(%#x, %#x, %d, %#x) changed the space", i, nr, addr, length, a2, a3)
			end := addr + uintptr(mm.PageRoundUp(uint64(length)))
			require.True(t, a3&unix.MAP_ANONYMOUS == 0 && nr == unix.SYS_MMAP || holdsPageOrDevice(addr, end),
				"call %d: refused %d(%#x, %#x) over a range with no page and no device memory", i, nr, addr, length)
			continue
		}
		after := snapshot()
		restore(before)
		var want int64
		switch nr {
		case unix.SYS_MMAP:
			want = mmap(addr, length, a2, a3, -1, 0)
		case unix.SYS_MUNMAP:
			want = munmap(addr, length)
		case unix.SYS_MPROTECT:
			want = mprotect(addr, length, a2)
		default:
			want = madvise(addr, length, a2)
		}
		require.Equal(t, want, r, "call %d: %d(%#x, %#x, %d, %#x)", i, nr, addr, length, a2, a3)
		require.Equal(t, after, snapshot(), "call %d: %d(%#x, %#x, %d, %#x): the kernel lock's path left another space", i, nr, addr, length, a2, a3)
		served++
		if r < 0 {
			failed++
		} else if before.committed != after.committed || len(before.areas) != len(after.areas) {
			equalNonZero++
		}
	}
	t.Logf("served %d (%d errors, %d that changed the areas' count or the charge), refused %d", served, failed, equalNonZero, refused)
	assert.Greater(t, served, 5000)
	assert.Greater(t, refused, 1000)
	assert.Greater(t, failed, 500)
	assert.Greater(t, equalNonZero, 500)
}

// TestAdviseFree: a madvise that gives touched pages back beside the
// other locks (AdviseFree) checks its range in Linux's order first:
// unknown advice, a range past the areas and device memory answer
// Linux's errno, having changed nothing; a range whose pages are all
// gone answers 0. Its batches (frameBatch, without the TLB
// invalidation, a ring-0 instruction) unmap the present pages 64 at a
// time, count the lazily charged ones and free the frames; a page
// touched again reads as zero. The shootdown and the wait for the calls
// beside are the boot tests' (qemu/memstress_test.go).
func TestAdviseFree(t *testing.T) {
	newSpace(t, 256)
	c := &percpu.CPU{ID: 0}
	const pages = 100 // more than a batch
	anon := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	r, ok := mmapCall(0, pages*mm.PageSize, unix.PROT_READ|unix.PROT_WRITE, anon)
	require.True(t, ok)
	lazy := uintptr(r)
	r, ok = mmapCall(window, 4*mm.PageSize, unix.PROT_READ|unix.PROT_WRITE, anon|unix.MAP_FIXED)
	require.True(t, ok)
	whole := uintptr(r)
	for p := uintptr(0); p < pages-10; p++ {
		touch(t, lazy+p*mm.PageSize)
		pa, _, ok := mm.KPT.Lookup(lazy + p*mm.PageSize)
		require.True(t, ok)
		vm.Frames.Page(pa)[7] = 0x5a
	}
	touch(t, whole+3*mm.PageSize)

	before := snapshot()
	assert.Equal(t, int64(-abi.EINVAL), AdviseFree(c, 0, whole, mm.PageSize, 12345), "unknown advice")
	assert.Equal(t, int64(-abi.ENOMEM), AdviseFree(c, 0, whole, 5*mm.PageSize, unix.MADV_DONTNEED), "a range past the area")
	assert.Zero(t, AdviseFree(c, 0, whole, 3*mm.PageSize, unix.MADV_DONTNEED), "no page there")
	assert.Equal(t, before, snapshot(), "a madvise with nothing to give back changed the space")
	require.True(t, vm.VMAs.Insert(whole+4*mm.PageSize, whole+5*mm.PageSize, unix.PROT_READ|mm.ProtDevice))
	before = snapshot()
	assert.Equal(t, int64(-abi.EINVAL), AdviseFree(c, 0, whole, 5*mm.PageSize, unix.MADV_DONTNEED), "device memory in the range")
	assert.Equal(t, before, snapshot(), "a refused madvise changed the space")

	free := vm.Frames.FreeCount()
	var b frameBatch
	n, charged, next := b.unmap(lazy, lazy+pages*mm.PageSize, true)
	assert.Equal(t, len(b), n, "a full batch first")
	assert.Equal(t, uint64(len(b))*mm.PageSize, charged, "each page of the lazily charged area counted")
	assert.Equal(t, lazy+uintptr(len(b))*mm.PageSize, next, "the next batch starts at the next present page")
	b.free(n)
	n, charged, next = b.unmap(next, lazy+pages*mm.PageSize, true)
	assert.Equal(t, pages-10-len(b), n, "the rest")
	assert.Equal(t, uint64(n)*mm.PageSize, charged)
	assert.Equal(t, lazy+pages*mm.PageSize, next, "none left")
	b.free(n)
	for va := lazy; va < lazy+pages*mm.PageSize; va += mm.PageSize {
		_, _, ok := mm.KPT.Lookup(va)
		require.False(t, ok, "page %#x left mapped", va)
	}
	assert.Equal(t, free+pages-10, vm.Frames.FreeCount(), "the frames freed")
	touch(t, lazy+5*mm.PageSize)
	pa, _, ok := mm.KPT.Lookup(lazy + 5*mm.PageSize)
	require.True(t, ok)
	assert.Zero(t, vm.Frames.Page(pa)[7], "a page given back reads as zero")

	n, charged, _ = b.unmap(whole, whole+4*mm.PageSize, true)
	assert.Equal(t, 1, n)
	assert.Zero(t, charged, "an area charged whole stays charged")
	b.free(n)
}

// TestZapOpen: while a call under the files lock that was in progress at
// an AdviseFree batch's shootdown goes on (zapMarks), an unmap, a
// protection change or a MAP_FIXED over an accessible range that holds
// no page goes to the kernel lock's path (the call may have checked a
// page the madvise gave back, and faults it in again from the area);
// over a PROT_NONE range, and once the call has ended, they are served.
func TestZapOpen(t *testing.T) {
	newSpace(t, 256)
	saved := percpu.NOnline
	percpu.NOnline = 2
	t.Cleanup(func() { percpu.NOnline = saved; zapMarks = klock.Sections{} })
	anon := unix.MAP_PRIVATE | unix.MAP_ANONYMOUS
	_, ok := mmapCall(window, 8*mm.PageSize, unix.PROT_READ|unix.PROT_WRITE, anon|unix.MAP_FIXED)
	require.True(t, ok)
	_, ok = mmapCall(window+8*mm.PageSize, 8*mm.PageSize, unix.PROT_NONE, anon|unix.MAP_FIXED)
	require.True(t, ok)

	other := &percpu.CPU{ID: 1}
	since := klock.Files.RLock(other) // a call beside, in progress at the mark
	zapMarks.Mark()
	before := snapshot()
	for _, c := range []struct {
		name string
		r    func() (int64, bool)
	}{
		{"munmap", func() (int64, bool) { return call(unix.SYS_MUNMAP, window, 2*mm.PageSize, 0, 0) }},
		{"mprotect", func() (int64, bool) { return call(unix.SYS_MPROTECT, window, 2*mm.PageSize, unix.PROT_READ, 0) }},
		{"MAP_FIXED", func() (int64, bool) {
			return mmapCall(window, 2*mm.PageSize, unix.PROT_READ, anon|unix.MAP_FIXED)
		}},
	} {
		_, ok := c.r()
		assert.False(t, ok, "%s of an accessible range while a call marked goes on", c.name)
		assert.Equal(t, before, snapshot(), "%s changed the space it refused", c.name)
	}
	r, ok := call(unix.SYS_MUNMAP, window+8*mm.PageSize, 2*mm.PageSize, 0, 0)
	assert.True(t, ok, "a PROT_NONE range: nothing to fault in")
	assert.Zero(t, r)
	klock.Files.Release(other, true, since, 0)
	r, ok = call(unix.SYS_MUNMAP, window, 2*mm.PageSize, 0, 0)
	assert.True(t, ok, "the call marked has ended")
	assert.Zero(t, r)
}
