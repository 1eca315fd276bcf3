package mm

import (
	"sync/atomic"
	"unsafe"
)

// MaxRanges bounds the number of usable RAM ranges the allocator tracks.
const MaxRanges = 32

type frameRange struct{ next, end uint64 }

// Frames allocates 4 KiB physical frames. Fresh frames come from the RAM
// ranges in address order (a bump pointer per range); freed frames go on a
// list threaded through the frames themselves. The zero value is empty.
//
// Alloc, AllocContiguous, Free and FreeCount may run on several CPUs at
// once (a page fault under the memory lock, a socket buffer under the
// kernel lock): they take the allocator's own leaf lock, held for a few
// instructions and never while anything else is taken or awaited, so it
// needs no rank. AddRange and Reserve are boot-time only.
type Frames struct {
	// DirectBase is added to a physical address to reach it.
	DirectBase uintptr
	mu         leafLock
	ranges     [MaxRanges]frameRange
	nranges    int
	freeHead   uint64 // physical address of the first freed frame; 0 if none
	freeCount  uint64
	total      uint64
}

// AddRange makes [start, end) available, trimmed to whole pages. Frame 0 is
// never handed out (0 marks the end of the free list).
func (f *Frames) AddRange(start, end uint64) bool {
	start = PageRoundUp(start)
	end = PageRoundDown(end)
	if start == 0 {
		start = PageSize
	}
	if end <= start || f.nranges == MaxRanges {
		return false
	}
	f.ranges[f.nranges] = frameRange{start, end}
	f.nranges++
	f.total += (end - start) / PageSize
	return true
}

// Reserve removes [start, end) from the fresh ranges (for memory the kernel
// already uses). It must be called before the first Alloc.
// Context: boot; does not allocate.
func (f *Frames) Reserve(start, end uint64) {
	start, end = PageRoundDown(start), PageRoundUp(end)
	for i := 0; i < f.nranges; i++ {
		r := f.ranges[i]
		if end <= r.next || start >= r.end {
			continue
		}
		lo, hi := max(start, r.next), min(end, r.end)
		f.total -= (hi - lo) / PageSize
		switch {
		case lo == r.next && hi == r.end:
			f.ranges[i].end = r.next // empty
		case lo == r.next:
			f.ranges[i].next = hi
		case hi == r.end:
			f.ranges[i].end = lo
		default: // split in two
			if f.nranges == MaxRanges {
				f.ranges[i].end = lo // lose the upper part rather than fail
				f.total -= (r.end - hi) / PageSize
				continue
			}
			f.ranges[i].end = lo
			f.ranges[f.nranges] = frameRange{hi, r.end}
			f.nranges++
		}
	}
}

// Alloc returns a zeroed frame's physical address, or 0 when memory is
// exhausted.
// Context: trap or boot, with or without the kernel's locks; does not
// allocate.
func (f *Frames) Alloc() uint64 {
	f.mu.lock()
	pa := f.take()
	f.mu.unlock()
	if pa != 0 {
		clear(f.Page(pa)[:]) // the frame is this caller's now: no lock needed
	}
	return pa
}

// take removes a frame from the free list or a fresh range and returns
// it, or 0. Context: any, f.mu held; does not allocate.
func (f *Frames) take() uint64 {
	var pa uint64
	if f.freeHead != 0 {
		pa = f.freeHead
		f.freeHead = *f.word(pa)
		f.freeCount--
	} else {
		for i := 0; i < f.nranges; i++ {
			if f.ranges[i].next < f.ranges[i].end {
				pa = f.ranges[i].next
				f.ranges[i].next += PageSize
				break
			}
		}
	}
	return pa
}

// AllocContiguous returns the physical address of n consecutive zeroed
// frames, taken from one range's fresh frames, or 0. It is meant for boot
// (a DMA pool), before the fresh frames are used up.
// Context: boot; does not allocate.
func (f *Frames) AllocContiguous(n uint64) uint64 {
	var pa uint64
	f.mu.lock()
	for i := 0; i < f.nranges; i++ {
		r := &f.ranges[i]
		if r.end-r.next >= n*PageSize {
			pa = r.next
			r.next += n * PageSize
			break
		}
	}
	f.mu.unlock()
	for k := uint64(0); pa != 0 && k < n; k++ {
		clear(f.Page(pa + k*PageSize)[:])
	}
	return pa
}

// Free returns a frame obtained from Alloc. Context: any, interrupts
// off in the kernel; does not allocate.
func (f *Frames) Free(pa uint64) {
	f.mu.lock()
	*f.word(pa) = f.freeHead
	f.freeHead = pa
	f.freeCount++
	f.mu.unlock()
}

// FreeCount returns the number of frames Alloc can still hand out.
// Context: any, interrupts off in the kernel; does not allocate.
func (f *Frames) FreeCount() uint64 {
	f.mu.lock()
	n := f.freeCount
	for i := 0; i < f.nranges; i++ {
		n += (f.ranges[i].end - f.ranges[i].next) / PageSize
	}
	f.mu.unlock()
	return n
}

// leafLock is a spinlock for state that several CPUs update briefly and
// that takes no other lock while held (the frame allocator). Kernel code
// runs with interrupts off, so the holder is never interrupted.
type leafLock struct{ held atomic.Uint32 }

// lock takes l, spinning while another CPU holds it.
// Context: any, interrupts off in the kernel; does not allocate.
//
// Not inlined: its loops at each of a dozen callers cost the image more
// than the calls (issue 16's budget).
//
//go:noinline
func (l *leafLock) lock() {
	for !l.held.CompareAndSwap(0, 1) {
		for l.held.Load() != 0 {
		}
	}
}

// unlock releases l. Context: any; does not allocate.
func (l *leafLock) unlock() { l.held.Store(0) }

// Total returns the number of frames the allocator manages.
func (f *Frames) Total() uint64 { return f.total }

// Page returns the frame at pa as a byte array through the direct map.
func (f *Frames) Page(pa uint64) *[PageSize]byte {
	return (*[PageSize]byte)(direct(f.DirectBase, pa))
}

func (f *Frames) word(pa uint64) *uint64 { return (*uint64)(direct(f.DirectBase, pa)) }

// direct returns the direct-map address of physical address pa.
func direct(base uintptr, pa uint64) unsafe.Pointer {
	v := base + uintptr(pa)
	return *(*unsafe.Pointer)(unsafe.Pointer(&v))
}
