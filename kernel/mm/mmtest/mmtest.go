// Package mmtest gives host tests a frame allocator over host memory
// standing in for physical memory: kernel/mm's Frames reaches a frame
// through its direct map (DirectBase), which here points into a
// page-aligned host buffer. Only tests import it.
package mmtest

import (
	"runtime"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/kernel/mm"
)

// Base is the physical address of the first frame.
const Base = 0x100000

// Frames returns an allocator of pages frames over a host buffer that
// stays alive until the test ends.
func Frames(t testing.TB, pages int) *mm.Frames {
	t.Helper()
	f := new(mm.Frames)
	Into(t, f, pages)
	return f
}

// Into makes *f an allocator of pages fresh frames (for a package's own
// variable, such as kernel/vm's Frames).
func Into(t testing.TB, f *mm.Frames, pages int) {
	t.Helper()
	buf := make([]byte, (pages+1)*mm.PageSize)
	t.Cleanup(func() { runtime.KeepAlive(buf) })
	start := (uintptr(unsafe.Pointer(&buf[0])) + mm.PageSize - 1) &^ (mm.PageSize - 1)
	*f = mm.Frames{DirectBase: start - Base}
	if !f.AddRange(Base, Base+uint64(pages)*mm.PageSize) {
		t.Fatalf("mmtest: %d frames do not fit one range", pages)
	}
}
