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
// (Four fields: the compiler keeps such a struct in registers, and it is
// passed and copied at dozens of call sites.)
type Mem struct {
	Frames *mm.Frames
	Budget int64
	Taken  int64
	// Now is the call's own instant, for a call that runs beside others
	// (the kernel's files lock held shared: see Shared), and 0 for a
	// call alone, which stamps FS.Now: FS.Now is one word for all CPUs.
	Now int64
}

// Shared reports whether m's call runs beside others (the kernel's files
// lock held shared), which its caller says by setting Now: it stamps Now
// rather than FS.Now, declines what it cannot do beside them
// (NeedsExclusive), and a file it unlinks last or a directory it
// removes, or one with no link whose last open it ends (Drop), waits on
// the orphan list (Reclaim) rather than going at once, since a call
// beside it may have found the inode by its name just before the name
// went.
// Context: any; does not allocate.
func (m *Mem) Shared() bool { return m.Now != 0 }

// now returns the instant a call that changes files stamps: m.Now for a
// call beside others (Mem.Shared), else FS.Now.
// Context: any; does not allocate.
func (fs *FS) now(m *Mem) int64 {
	if m.Shared() {
		return m.Now
	}
	return fs.Now
}

// stampOf returns the instant a change of ip stamps: fs.now(m), but for
// a call beside others (Mem.Shared), whose instant was read before it
// took ip's data lock, no earlier than ip's change time, so that the
// changes of one inode stamp in the order they are made.
// Context: any, ip's data lock held beside others; does not allocate.
//
// Not inlined: one copy for its callers (issue 16's image budget).
//
//go:noinline
func (fs *FS) stampOf(m *Mem, ip *inode) int64 {
	if now := fs.now(m); !m.Shared() || now >= ip.ctime {
		return now
	}
	return ip.ctime
}

// NoPages as a Mem's Budget lets the call take no page at all: a pipe
// write beside other calls (the kernel's files lock held shared) first
// tries so, as most find their ring's pages taken already; one that
// would take a page answers ENOMEM, having written nothing
// (Pipes.Write), and the kernel runs it again with its pages charged
// first (its vfs.PipeWriteNow).
const NoPages = -1

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
