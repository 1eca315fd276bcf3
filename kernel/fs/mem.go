package fs

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/mm"
)

// PageSize is the size of a data page.
const PageSize = mm.PageSize

// Mem is where one call gets its pages: the frame allocator and a budget.
// The caller sets Budget to the pages it may still commit (the kernel: what
// its commit limit leaves) and, after the call, adds Taken (pages taken
// less pages given back, possibly negative) to its own accounting. A call
// that would exceed the budget fails with ENOSPC, as a full tmpfs does.
type Mem struct {
	Frames *mm.Frames
	Budget int64
	Taken  int64
	// Now is the time a write stamps (FS.Write): a call's own, since
	// writes run beside each other and FS.Now is one word for all.
	Now int64
}

// alloc returns a zeroed page, or 0 when the budget or memory is spent.
// Context: trap or boot; does not allocate.
func (m *Mem) alloc() uint64 {
	if m.Taken >= m.Budget {
		return 0
	}
	pa := m.Frames.Alloc()
	if pa != 0 {
		m.Taken++
	}
	return pa
}

// free gives a page back. Context: trap or boot; does not allocate.
// Not inlined: its copies cost the image 160 bytes (issue 16's budget).
//
//go:noinline
func (m *Mem) free(pa uint64) {
	m.Frames.Free(pa)
	m.Taken--
}

// page returns the page at pa through the direct map. Context: any.
func (m *Mem) page(pa uint64) *[PageSize]byte { return m.Frames.Page(pa) }

// index returns the page at pa as an index page of 512 page addresses.
// Context: any.
func (m *Mem) index(pa uint64) *[512]uint64 {
	return (*[512]uint64)(unsafe.Pointer(m.Frames.Page(pa)))
}
