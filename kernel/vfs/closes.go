package vfs

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klock"
)

// Closes under the files lock held shared (issue 18). A close frees its
// descriptor at once (CloseShared), but not a description whose last
// reference it held: another CPU's call that found the descriptor before
// the close may still be using it, as on Linux a call that got its file
// before close(2) goes on with it. CloseShared marks such a description
// closed (its Refs below zero, so no open takes it) and puts it on the
// closed list; its end (its file's open count, which may free an
// unlinked file, and its slot) waits for the next hold of the files lock
// that is alone: an exclusive one, or a shared one that finds no other
// CPU under the lock when it ends (Reclaim). So a program on one thread
// ends each description at its close, as before (another CPU's call at
// that instant, the kernel's own work say, defers it to the next hold
// alone), and the close of a descriptor whose file holds no record locks
// never holds the files lock exclusively (package kernel's fileTrap).
// A pipe end's close (not a FIFO's) runs beside others the same way
// (package fdcalls' closeStreamShared), but the end itself ends at the
// close (DropShared), so that the pipe's readers see the end of file and
// its writers EPIPE then, as on Linux; only the pipe's freeing, once no
// end is left, waits with the description (closePipeEnd, Reclaim).
//
// closedHead heads the closed list: 1 + the index of the description
// closed last, 0 when none. Each closed description's Refs holds the
// complement of the next one's (^next, ^0 for none): below zero, so no
// open takes it (AllocDesc takes a description with no reference).
var closedHead atomic.Int32

// CloseShared closes descriptor fd, open on description d, under the
// files lock held shared, and reports whether it did: FreeShared, then
// DropShared. It answers false, having changed nothing, where fd no
// longer names d (another CPU's close of the number came first, or a
// close and an open gave it to another file): the caller sends the call
// to the locked path, which closes what fd names then or answers EBADF.
// Context: trap, files lock held shared; does not allocate.
func CloseShared(fd int, d int32) bool {
	if !FreeShared(fd, d, fdtab.KindFile) {
		return false
	}
	ClosesBeside.Add(1)
	DropShared(d, fdtab.KindFile)
	return true
}

// FreeShared frees descriptor fd if it is still one of kind open on
// description d (a socket's descriptor: 0, socket.CloseFD), and reports
// whether it did, with one compare-and-swap of its flag word
// (fdtab.LoadFlags: a flag call beside, without the files lock, makes it
// try again) that keeps the description's index with the free kind, so
// that a call beside that read the kind before the close and the index
// after it still finds d, whole until its end; the other fields stay
// until an open takes the slot (fdtab.AllocDesc clears them, but the
// socket a socket's descriptor named). The
// callers beside others count the close (ClosesBeside).
// Context: trap, files lock held; does not allocate.
func FreeShared(fd int, d int32, kind uint8) bool {
	for {
		w, _ := fdtab.LoadFlags(fd)
		if w.Kind() != kind || w.Desc() != d {
			return false
		}
		if fdtab.SwapFlags(fd, w, fdtab.FlagWord(uint32(d))) {
			return true
		}
	}
}

// DropShared drops a freed descriptor's reference (FreeShared) to
// description d, of a descriptor of kind. With the last, it ends a pipe
// end's description's end at once (closePipeEnd: its readers see the end
// of file, its writers EPIPE, as on Linux) and puts d on the closed list,
// for its end at the next hold alone (Reclaim).
// Context: trap, files lock held; does not allocate.
func DropShared(d int32, kind uint8) {
	refs := &Descs[d].Refs
	for {
		r := atomic.LoadInt32(refs) // at least 1: a descriptor named d until its free
		next := r - 1
		if r == 1 {
			next = ^0 // closed: no open takes it
		}
		if atomic.CompareAndSwapInt32(refs, r, next) {
			if r == 1 { // the last reference: no other call changes refs now
				if kind == fdtab.KindPipe {
					closePipeEnd(&Descs[d])
				}
				pushClosed(d + 1)
			}
			return
		}
	}
}

// closePipeEnd ends the end of its pipe that d, a pipe end's description
// closed beside others (not a FIFO's: its inode and FifoPipe are the
// locked path's), held, under the pipe's lock, and records the change
// for the pipe's waiters and watchers (PipeChanged). If no end is left,
// the pipe is freed with d's end (d.FreesPipe, Reclaim): a call beside
// that found one of its descriptors before the close may still use it.
// Context: trap, files lock held; does not allocate.
func closePipeEnd(d *Desc) {
	p := int(d.Pipe)
	d.FreesPipe = EndPipeEnd(p, d.Reader)
	PipeChanged(p)
}

// EndPipeEnd ends one open description of pipe p's read end (reader) or
// write end under the pipe's lock (fs.Pipes.CloseEnd), beside the
// pipe's reads and writes, and reports whether no end is left: the
// pipe is then freed with the description that held the last end, at
// the next hold alone (Desc.FreesPipe, Reclaim).
// Context: trap, files lock held; does not allocate.
func EndPipeEnd(p int, reader bool) bool {
	Pipes.Lock(p)
	last := Pipes.CloseEnd(p, reader)
	Pipes.Unlock(p)
	return last
}

// pushClosed puts the closed descriptions from 1+index first on (linked
// through their Refs: closedHead) in front of the closed list.
// Context: trap, files lock held; does not allocate. Not inlined: one
// copy for CloseShared and Reclaim (issue 16's budget).
//
//go:noinline
func pushClosed(first int32) {
	last := first
	for atomic.LoadInt32(&Descs[last-1].Refs) < ^0 { // ^0: the last
		last = ^atomic.LoadInt32(&Descs[last-1].Refs)
	}
	for {
		head := closedHead.Load()
		atomic.StoreInt32(&Descs[last-1].Refs, ^head)
		if closedHead.CompareAndSwap(head, first) {
			return
		}
	}
}

// ClosesBeside counts the closes made under the files lock held shared
// (of files and directories, CloseShared, and of pipe ends and Internet
// sockets, package fdcalls' closeStreamShared),
// for /proc/gometal/sched's file_close_beside line: one word for all
// CPUs, as package kernel's fileCallsLockFree.
var ClosesBeside atomic.Uint64

// HasLeftovers reports whether closes, unlinks or rmdirs made beside
// others wait for their end (Reclaim). Context: any; does not allocate.
func HasLeftovers() bool { return ClosesPending() || Root.HasOrphans() }

// ClosesPending reports whether descriptions closed under the files
// lock held shared wait for their end (CloseShared, Reclaim), for
// HasLeftovers. Context: any; does not allocate.
func ClosesPending() bool { return closedHead.Load() != 0 }

// Reclaim ends what calls beside others left, the descriptions closed
// last (CloseShared) and the files unlinked last and the directories
// removed (fs.FS.TakeOrphans), if the caller holds the files lock
// exclusively (shared false) or shared and its hold is the only one. It
// takes both lists off before it looks at the holders: then every call
// that found one of those descriptions by its descriptor, or one of
// those files by its name, did so before the close or the unlink, and
// has ended; a call that comes in after can find neither. It frees the
// orphans first (fs.FS.FreeOrphans: none is left on a list; one that a
// description below still holds goes at that description's end), then
// ends each closed description: its file's open (fs.FS.Drop, which frees
// a file with no link and no other open: beside others it puts it on
// the orphan list, as another CPU's call may have found it by a name
// since, so a second round frees it), the pipe whose last end it held
// (Desc.FreesPipe), then its slot. Their pages go
// back. Beside another hold it puts both lists back. Every exclusive
// hold calls it before its call frees or makes a file, and so does a
// shared hold that ends alone (package kernel's fileTrap), so a program
// on one thread gets a closed file and an unlinked one's space back at
// the close or the unlink, as on Linux.
// Context: trap, files lock held (shared: held shared); does not
// allocate. Not inlined: every exclusive hold calls it (issue 16's
// budget).
//
//go:noinline
func Reclaim(shared bool) {
	for round := 0; round < 2 && HasLeftovers(); round++ {
		closed := closedHead.Swap(0)
		orphans := Root.TakeOrphans()
		if shared && !klock.Files.SharedAlone() { // a call beside may hold what was left
			if closed != 0 {
				pushClosed(closed)
			}
			Root.PutBackOrphans(orphans)
			return
		}
		m := ReadMem()
		if shared {
			m.Now = sharedNow() // beside calls that came in since: Drop puts a file that goes on the orphan list
		}
		Root.FreeOrphans(&m, orphans)
		for closed != 0 {
			d := &Descs[closed-1]
			closed = ^atomic.LoadInt32(&d.Refs)
			if d.Ino != 0 {
				Root.Drop(&m, d.Ino)
			}
			if d.FreesPipe { // a pipe whose last end d held (closePipeEnd)
				Pipes.Free(&m, int(d.Pipe))
			}
			d.Ino, d.FreesPipe = 0, false
			atomic.StoreInt32(&d.Refs, 0) // free: an open beside may take it now
		}
		Done(&m)
	}
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
