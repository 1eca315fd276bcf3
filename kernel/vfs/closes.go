package vfs

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klock"
)

// Closes beside other calls (issue 18). A close under the files lock held
// shared frees its descriptor at once (CloseShared), but not a
// description whose last reference it held: another CPU's call that found
// the descriptor before the close may still be using it, as on Linux a
// call that got its file before close(2) goes on with it. CloseShared
// marks such a description closed (Refs closedRefs, so no open takes it)
// and counts it in closedCount; the description's end (its file's open
// count, which may free an unlinked file, and its slot) waits for the
// next hold of the files lock held exclusively (Reclaim), where no call
// runs beside, neither one that may still use the description nor an
// open or unlink of its file. A close takes the lock exclusively itself
// where no other CPU holds it or waits for it (package kernel's
// fileTrap), so the closes of a program on one thread end at once, but
// where the kernel's own work holds the lock just then (a console
// interrupt, say).
var closedCount atomic.Int32

// closedRefs is the Refs of a description closed beside other calls
// that waits for its end (Reclaim).
const closedRefs = -1

// CloseShared closes descriptor fd, open on description d, under the
// files lock held shared, and reports whether it did. It frees the
// descriptor with one compare-and-swap of its flag word (fdtab.LoadFlags:
// a flag call beside makes it try again) that keeps the description's
// index with the free kind, so that a call beside that read the kind
// before the close and the index after it still finds d, whole until its
// end; the other fields stay until an open takes the slot
// (fdtab.AllocDesc clears them). It then drops one reference to d; with
// the last, it marks d closed, for its end at the next exclusive hold
// (Reclaim). It answers false, having changed nothing, where fd no
// longer names d (another CPU's close of the number came first, or a
// close and an open gave it to another file): the caller sends the call
// to the locked path, which closes what fd names then or answers EBADF.
// Context: trap, files lock held shared; does not allocate.
func CloseShared(fd int, d int32) bool {
	for {
		w, _ := fdtab.LoadFlags(fd)
		if w.Kind() != fdtab.KindFile || w.Desc() != d {
			return false
		}
		if fdtab.SwapFlags(fd, w, fdtab.FlagWord(uint32(d))) {
			break
		}
	}
	ClosesBeside.Add(1)
	refs := &Descs[d].Refs
	for {
		r := atomic.LoadInt32(refs) // at least 1: fd named d until the swap
		next := r - 1
		if r == 1 {
			next = closedRefs // no open takes it
		}
		if atomic.CompareAndSwapInt32(refs, r, next) {
			if next == closedRefs {
				closedCount.Add(1)
			}
			return true
		}
	}
}

// ClosesBeside counts the closes made beside other calls (CloseShared),
// for /proc/gometal/sched's file_close_beside line: one word for all
// CPUs, as package kernel's fileCallsLockFree.
var ClosesBeside atomic.Uint64

// HasLeftovers reports whether closes, unlinks or rmdirs made beside
// others wait for their end (Reclaim). Context: any; does not allocate.
func HasLeftovers() bool { return ClosesPending() || Root.HasOrphans() }

// ClosesPending reports whether descriptions closed beside other calls
// wait for their end (CloseShared): an open beside others that would find
// no free description runs alone instead, which ends them first (package
// fsys's OpenFile). Context: any; does not allocate.
func ClosesPending() bool { return closedCount.Load() != 0 }

// Reclaim ends what calls beside others left: the files unlinked last
// and the directories removed (fs.FS.TakeOrphans) and, under the files lock held exclusively (shared
// false), the descriptions closed last (CloseShared). It takes the
// orphan list off before it looks at the holders: if the caller holds
// the lock exclusively, or shared and its hold is the only one, every
// call that found one of those files by its name did so before the
// unlink, and has ended; a call that comes in after cannot find them. It
// then frees the orphans first (fs.FS.FreeOrphans: none is left on a
// list; one that a description below still holds goes at that
// description's end), and, held exclusively, ends each closed
// description: its file's open (fs.FS.Drop, which frees a file with no
// link and no other open), then its slot. Their pages go back. Beside
// another hold it puts the orphans back. Every exclusive hold calls it
// before its call frees or makes a file, and a shared hold that ends
// alone (package kernel's fileTrap), so a program on one thread gets an
// unlinked file's space back at the unlink, as on Linux. A shared hold
// leaves the closes: their files' opens and unlinks may run beside.
// Context: trap, files lock held (shared: held shared); does not
// allocate. Not inlined: every exclusive hold calls it (issue 16's
// budget).
//
//go:noinline
func Reclaim(shared bool) {
	if !HasLeftovers() {
		return
	}
	orphans := Root.TakeOrphans()
	if shared && !klock.Files.SharedAlone() { // a call beside may hold what was left
		Root.PutBackOrphans(orphans)
		return
	}
	m := ReadMem()
	Root.FreeOrphans(&m, orphans)
	for i := range Descs {
		if shared || closedCount.Load() == 0 {
			break
		}
		if d := &Descs[i]; d.Refs == closedRefs {
			closedCount.Add(-1)
			if d.Ino != 0 {
				Root.Drop(&m, d.Ino)
			}
			*d = Desc{}
		}
	}
	Done(&m)
}

// DescLeft reports whether a description is free for an open.
// Context: trap; does not allocate.
func DescLeft() bool {
	for i := range Descs {
		if atomic.LoadInt32(&Descs[i].Refs) == 0 {
			return true
		}
	}
	return false
}
