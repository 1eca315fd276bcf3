// Package vfs is the file layer's state below the sockets, as data and
// small functions: the in-memory root file system's instance (Root) and
// the pipes (Pipes), the working directory and umask, the pages they are
// charged (Mem, Done), the open file descriptions that descriptors of
// files, pipes and devices point at (Descs, shared by dup; CloseDesc
// drops one), the FIFOs' pipes, and the wait keys the kernel's own waits
// use in the futex table (WaitKey, WakeKey). The file system's logic is
// kernel/fs; the system calls on paths and descriptors, and the dispatch
// by descriptor kind, are package kernel's (docs/kernel-layout.md).
//
// Trap context (docs/trap-context.md): nothing here allocates.
package vfs

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

var (
	Root  fs.FS
	Pipes fs.Pipes
	// Cwd is the working directory (an fs.Ino) and Umask the
	// file-mode creation mask; both are loaded and stored atomically
	// but at boot (package fsys's SetCwd, fdcalls.SysUmask): chdir,
	// fchdir and umask run beside the calls that read them (the files
	// lock held shared).
	Cwd   = int32(fs.RootIno)
	Umask = uint32(0o022)
	// Pages counts the pages the file system and the pipes hold once
	// the program runs; MaxPages caps them, as tmpfs's size= does
	// (half of the program's memory, like tmpfs's default), so that a full
	// file system leaves the program memory to run in. Pages changes by
	// atomic adds: writes run beside each other (ReserveMem).
	Pages, MaxPages int64
)

// MaxDescs bounds the open file descriptions of files, pipes and devices.
const MaxDescs = 1024

// A Desc is an open file description: what open(2) or pipe(2) made,
// shared by the descriptors dup(2) makes of it.
type Desc struct {
	Refs   int32
	Ino    fs.Ino
	Off    int64
	Flags  int32 // status flags, as F_GETFL shows them but O_NONBLOCK (fsys.NewDescFD's statusFlags)
	Pipe   int32 // fdtab.KindPipe: the pipe
	Reader bool  // fdtab.KindPipe: the read end (false for both ends of a FIFO opened O_RDWR: BothEnds)
	// FreesPipe is set when a close beside others (DropShared) ended the
	// last end of Pipe: Reclaim frees the pipe with this description.
	FreesPipe bool
	// offsetHeld is 1 while a call that holds the files lock shared moves
	// Off (LockOffset: spin.LockWord).
	offsetHeld uint32
}

// Descs is the table of open file descriptions.
var Descs [MaxDescs]Desc

// Mem returns the page source of one file-system call (ReadMem) and
// sets the file system's clock for the times the call stamps.
// Context: trap or boot, files lock held exclusively; does not
// allocate.
func Mem() fs.Mem {
	Stamp()
	return ReadMem()
}

// Stamp sets the file system's clock (fs.FS.Now) to the time of day: the
// change time, and the other times a call that changes a file stamps,
// are read from it. Mem stamps for the calls that may take pages, and
// AttrNow for chmod and chown when they run alone (beside other calls
// they, and utimensat, stamp their own instants: fs.Mem.Now).
// Context: trap or boot, files lock held exclusively; does not allocate.
func Stamp() { Root.Now = RealtimeNs() }

// ReadMem returns the page source of a file-system call that only reads
// (under the files lock held shared, beside other such calls: it stores
// nothing): the frame allocator, with what the commit limit still allows
// as the budget (at boot, before the limit is set, every free frame).
// Context: trap or boot, files lock held; does not allocate.
func ReadMem() fs.Mem {
	m := fs.Mem{Frames: &vm.Frames, Budget: int64(vm.Frames.FreeCount())}
	if vm.CommitLimit != 0 {
		m.Budget = int64(vm.CommitLimit-min(vm.Committed(), vm.CommitLimit)) / int64(fs.PageSize)
		m.Budget = max(min(m.Budget, MaxPages-atomic.LoadInt64(&Pages)), 0)
	}
	return m
}

// Done charges the pages a call took (or gave back) to the commit.
// Context: trap or boot; does not allocate. Not inlined: after every
// file-system call, cheaper as one copy (docs/performance.md, "Image
// size").
//
//go:noinline
func Done(m *fs.Mem) {
	if vm.CommitLimit == 0 {
		return
	}
	atomic.AddInt64(&Pages, m.Taken)
	if m.Taken >= 0 {
		vm.Commit(uint64(m.Taken) * fs.PageSize)
	} else {
		vm.Uncommit(uint64(-m.Taken) * fs.PageSize)
	}
}

// MaxSharedWrite is the largest write ReserveMem charges for (1 MiB):
// its charge is held while it writes, even where it overwrites pages
// the file has, so a larger write holds the files lock exclusively and
// charges what it takes, and at any instant the writes beside each
// other hold at most MaxSharedWrite and their index pages per CPU more
// than they take.
const MaxSharedWrite = 1 << 20

// ReserveMem returns the page source of a write of n bytes at off that
// runs beside other calls (the files lock held shared): it charges the
// most pages such a write can take (the data pages it spans and the
// index pages above them: fs.WritePages) to Pages and to the commit
// before the write, so that writes side by side cannot together pass
// MaxPages or CommitLimit; the caller then takes the budget off m.Taken,
// so that Done gives back what the write did not take. It reports false,
// having charged nothing, for a write larger than MaxSharedWrite and
// where the charge does not fit: the write then goes to the path that
// holds the files lock exclusively (Mem), which writes as much as fits,
// as tmpfs does. The caller sets the time the write stamps (fs.Mem.Now)
// under the file's data lock.
// Context: trap, files lock held shared; does not allocate.
func ReserveMem(off int64, n int) (fs.Mem, bool) {
	if n > MaxSharedWrite {
		return fs.Mem{}, false
	}
	return reservePages(fs.WritePages(off, n))
}

// reservePages charges budget pages to Pages and the commit (ReserveMem)
// and returns the page source that may take them; false, having charged
// nothing, where they do not fit. Context: trap, files lock held
// shared; does not allocate.
func reservePages(budget int64) (fs.Mem, bool) {
	m := fs.Mem{Frames: &vm.Frames, Budget: budget}
	if vm.CommitLimit == 0 {
		return m, true // the boot: nothing is charged yet
	}
	for {
		p := atomic.LoadInt64(&Pages)
		if p+m.Budget > MaxPages {
			return m, false
		}
		if atomic.CompareAndSwapInt64(&Pages, p, p+m.Budget) {
			break
		}
	}
	if !vm.TryCommit(uint64(m.Budget)*fs.PageSize, 0) {
		atomic.AddInt64(&Pages, -m.Budget)
		return m, false
	}
	return m, true
}

// ReserveEntry returns the page source of a call beside others (the
// files lock held shared) that may add an entry to a directory (an
// open that creates, mkdir, mknod, link, symlink, rename): ReserveMem's
// charge for one page anywhere in a file and the index pages above it,
// and one more page (a new symbolic link's target, fs.FS.Symlink),
// marked as beside others, with the time of day to stamp (fs.Mem.Now). As after ReserveMem, the caller
// takes the budget off m.Taken before Done; false, having charged
// nothing, where the charge does not fit.
// Context: trap, files lock held shared; does not allocate.
func ReserveEntry() (fs.Mem, bool) {
	m, fits := ReserveMem(0, 2*fs.PageSize) // two pages and their index pages
	m.Now = sharedNow()
	return m, fits
}

// SharedMem returns the page source of a call beside others (the files
// lock held shared) that takes no page (an open that creates nothing,
// an unlink, which may give pages back): ReadMem's, marked as beside
// others, with the time of day to stamp (fs.Mem.Now). Context: trap, files lock held shared;
// does not allocate.
func SharedMem() fs.Mem {
	m := ReadMem()
	m.Now = sharedNow()
	return m
}

// AttrNow returns the instant a call that changes only an inode's
// attributes (chmod, chown: fs.FS.SetAttr) stamps: beside others
// (shared) its own, else 0, with the file system's clock stamped
// (Stamp). Context: trap, files lock held (shared: held shared); does
// not allocate.
func AttrNow(shared bool) int64 {
	if shared {
		return sharedNow()
	}
	Stamp()
	return 0
}

// sharedNow returns the time of day for a call beside others to stamp
// (fs.Mem.Now, which says the call is one: never 0).
// Context: trap; does not allocate.
func sharedNow() int64 { return max(RealtimeNs(), 1) }

// RealtimeNs returns the wall-clock time in nanoseconds since the epoch.
// Context: trap; does not allocate. Not inlined: one copy for Stamp and
// the writes beside others (issue 16's budget).
//
//go:noinline
func RealtimeNs() int64 { return clock.WallAtBoot() + clock.Nanotime() }

// AllocDesc takes a free open file description with one reference. It
// claims the description with one compare-and-swap of its references,
// from none to one: opens run beside each other (the files lock held
// shared). The caller gives a description it cannot use back with
// FreeDesc. Context: trap; does not allocate. Not inlined: pipe2 takes
// two (issue 16's budget).
//
//go:noinline
func AllocDesc(ino fs.Ino, flags int) int32 {
	for i := range Descs {
		if d := &Descs[i]; atomic.LoadInt32(&d.Refs) == 0 && atomic.CompareAndSwapInt32(&d.Refs, 0, 1) { // a locked instruction only where it may win
			d.Ino, d.Off, d.Flags, d.Pipe, d.Reader, d.offsetHeld = ino, 0, int32(flags), 0, false, 0
			return int32(i)
		}
	}
	return -1
}

// FreeDesc gives back description d, which AllocDesc took and nothing
// else refers to. Context: trap; does not allocate.
func FreeDesc(d int32) { atomic.StoreInt32(&Descs[d].Refs, 0) }

// DescOf returns the description behind f (files, pipes, devices).
// Context: trap, files lock held; does not allocate. Not inlined: its
// copies at forty callers cost the image more than the calls (issue
// 16's budget).
//
//go:noinline
func DescOf(f *fdtab.File) *Desc { return &Descs[f.Desc] }

// DescAt returns description d, the index a descriptor's flag word
// holds (fdtab.FlagWord.Desc), which the calls beside others read in one
// load rather than through DescOf. A word's index is below MaxDescs: the
// mask only spares a bounds check.
// Context: any; does not allocate.
func DescAt(d int32) *Desc { return &Descs[d&(MaxDescs-1)] }

// HasDesc reports whether descriptors of kind point at a description.
// Context: trap, files lock held; does not allocate. Not inlined: its
// copies at its callers cost the image more than the calls (issue 16's
// budget).
//
//go:noinline
func HasDesc(kind uint8) bool {
	return kind == fdtab.KindFile || kind == fdtab.KindPipe || kind == fdtab.KindDev || kind == fdtab.KindProcFD
}

// LockOwner is the owner of a description's OFD and flock locks.
// Context: trap, kernel lock held; does not allocate.
func LockOwner(d int32) int32 { return d + 1 }

// CloseDesc drops fd's reference to its description and, with the last
// one, releases the file, the pipe end and the locks.
// Context: trap; does not allocate.
func CloseDesc(f *fdtab.File) {
	d := DescOf(f)
	if f.Kind == fdtab.KindPipe {
		closePipeDesc(d)
		return
	}
	if f.Kind == fdtab.KindFile && Root.HasLocks(d.Ino) { // POSIX: any close drops the process's record locks
		Root.DropLocks(d.Ino, fs.ProcessOwner)
		WakeKey(LockKey(d.Ino))
	}
	if d.Refs == 1 && Root.HasLocks(d.Ino) { // the last reference: the description's OFD and flock locks
		Root.DropLocks(d.Ino, LockOwner(f.Desc))
		WakeKey(LockKey(d.Ino))
	}
	CloseFileDesc(d)
}

// BothEnds reports whether d, a pipe end's description, holds both ends
// of its pipe: a FIFO opened O_RDWR (its Reader is false; it counts as a
// reader and a writer). Context: any; does not allocate.
func BothEnds(d *Desc) bool { return d.Flags&unix.O_ACCMODE == unix.O_RDWR }

// closePipeDesc drops a reference to d, a pipe end's description, and
// with the last one closes that end.
// Context: trap, kernel and files locks held; does not allocate.
func closePipeDesc(d *Desc) {
	d.Refs--
	if d.Refs > 0 {
		return
	}
	m := Mem()
	Pipes.Close(&m, int(d.Pipe), d.Reader)
	if BothEnds(d) {
		Pipes.Close(&m, int(d.Pipe), true)
	}
	PipeChanged(int(d.Pipe))
	if d.Ino != 0 { // a FIFO: forget its pipe once both ends closed
		if r, w := Pipes.Ends(int(d.Pipe)); r <= 0 && w <= 0 {
			FifoPipe[d.Ino] = 0
		}
		Root.Drop(&m, d.Ino)
	}
	Done(&m)
	*d = Desc{}
}

// CloseFileDesc drops a reference to d, a description of a file,
// directory or device, and, with the last one, the file: CloseDesc's end
// for a descriptor whose file holds no record locks, on the locked path
// (package kernel's fileTrap closes a file's descriptor through
// CloseShared instead).
// Context: trap, files lock held exclusively; does not allocate.
func CloseFileDesc(d *Desc) {
	d.Refs--
	if d.Refs > 0 {
		return
	}
	m := Mem()
	if d.Ino != 0 {
		Root.Drop(&m, d.Ino)
	}
	Done(&m)
	*d = Desc{}
}

// Wait keys of the futex table for the kernel's own waits: kernel
// addresses, so no program futex word can collide with them, each kind in
// its own 2^40-byte range so no two kinds collide either (keyRanges).
const (
	PipeKeyBase      = 0xffff_f000_0000_0000 // pipeKey: readers and writers of a pipe
	LockKeyBase      = 0xffff_f100_0000_0000 // lockKey: waiters for a file lock
	UnixKeyBase      = 0xffff_f200_0000_0000 // unixKey: a Unix socket's waiters
	VconWriteKeyBase = 0xffff_f300_0000_0000 // a console transmit queue's writers (vconio.go)
	FifoKeyBase      = 0xffff_f400_0000_0000 // fifoKey: openers of a FIFO waiting for the other end
	KeyRange         = 0x100_0000_0000
)

// PipeKey is the wait key of pipe p. Context: any; does not allocate.
func PipeKey(p int) uintptr { return PipeKeyBase + uintptr(p)*8 }

// LockKey is the wait key of the locks of ino. Context: any; does not allocate.
func LockKey(ino fs.Ino) uintptr { return LockKeyBase + uintptr(ino)*8 }

// WaitKey blocks t on key until WakeKey, after which t executes its
// system call again. Context: trap, kernel lock held.
func WaitKey(t sched.TID, key uintptr) int64 {
	threadtab.Threads[t].RestartNr = threadtab.Threads[t].Regs.AX
	thread.Futexes.Wait(t, key)
	thread.Block(t, threadtab.WaitFutex)
	return thread.Blocked
}

// WakeKey restarts every thread waiting on key.
// Context: trap, kernel lock held; does not allocate.
func WakeKey(key uintptr) {
	for w := thread.Futexes.WakeOne(key); w != sched.None; w = thread.Futexes.WakeOne(key) {
		threadtab.Threads[w].Wait = threadtab.WaitNone
		thread.Restart(w)
	}
}

// Pipes whose waiters must be woken (PipeChanged), as a set of pipe
// numbers: recorded under the files lock, alone or with the kernel lock, and acted
// on under both (WakeRecordedPipes, from package kernel's socketEvents,
// at the end of the system call or, for a call under the files lock
// alone, on the kernel lock's path it then takes: RecordsNeedKernel).
// pipeWaited marks the pipes a thread may wait on: set when one starts
// waiting (WaitPipe, under both locks), cleared when WakeRecordedPipes
// wakes the pipe's waiters. A waiter that leaves otherwise (a signal, on
// the kernel lock's path alone) leaves its bit set: the pipe's next change
// then takes the kernel lock's path once for nothing, never the other way.
var (
	pipeWakes, pipeWaited fdtab.Set
	PipeWakePending       atomic.Bool // pipeWakes may be non-empty; read without the files lock
)

// PipeChanged records that pipe p's state changed: for the threads
// waiting on it, if any may be (pipeWaited), and for the epoll instances
// watching either end's descriptors (fdtab.Notify). Package kernel acts
// on both records under both locks (socketEvents). Calls on other pipes,
// eventfds and files may run beside it (the files lock held shared): it
// reads each descriptor's kind and description in one load (a close or
// an open beside may change a file's), and bumps the sequence and adds
// the records atomically. No thread starts waiting on p meanwhile:
// that holds the files lock exclusively (WaitPipe).
// Context: trap, files lock held; does not allocate.
func PipeChanged(p int) {
	if pipeWaited.Has(p) {
		pipeWakes.Add(p)
		PipeWakePending.Store(true)
	}
	for fd := range fdtab.Files {
		if w, _ := fdtab.LoadFlags(fd); w.Kind() == fdtab.KindPipe && Descs[w.Desc()].Pipe == int32(p) {
			atomic.AddUint64(&fdtab.Files[fd].Seq, 1)
			fdtab.Notify(fd)
		}
	}
}

// WaitPipeIf makes t wait until pipe p changes (WaitPipe) if r, the
// answer of a read or write of it that does not wait (PipeWriteNow,
// package fdcalls' pipeReadNow), is WouldBlock, and else returns r: the
// read(2) and write(2) of a blocking pipe end, and sendfile into one.
// Context: trap, kernel and files locks held; does not allocate.
func WaitPipeIf(t sched.TID, p int, r int64) int64 {
	if r == WouldBlock {
		return WaitPipe(t, p)
	}
	return r
}

// WouldBlock is the answer of PipeWriteNow (and of the pipe reads and
// the stream sockets' sends and receives built the same way) for a call
// that must wait: the caller holds the kernel lock and waits
// (WaitPipeIf), or, under the files lock alone, which serves only
// descriptors opened O_NONBLOCK, gets it only where an F_SETFL beside
// cleared the flag since its look (the files lock held shared), having
// moved nothing, and sends the call to the kernel lock's path, which
// waits (package kernel's fileTrap).
const WouldBlock = int64(-1) << 41

// RunAlone is the answer of a call beside others (the files lock held
// shared) that must run alone, having changed nothing a program can see:
// PipeWriteNow's for a write whose pages' charge does not fit, package
// fdcalls' pipe2 where a table is full, fsys's opens',
// mkdirs', mknods', links', symlinks', unlinks', renames' and
// truncations' (fsys.RunAlone). Package kernel's fileTrap runs
// the call again under the files lock held exclusively.
const RunAlone int64 = -1<<32 - 3

// PipeWriteNow moves b into pipe p, as much as fits, without waiting:
// WouldBlock where a write to a blocking end must wait for room (the
// caller then waits: WaitPipeIf), having changed nothing; EAGAIN instead
// for a non-blocking one; EPIPE once no reader is left. It holds the pipe's
// lock (fs.Pipes.Lock): calls on the pipe may run beside it (shared: the
// files lock held shared). Beside them it first tries taking no page
// (fs.NoPages), as a write into a ring's pages taken before needs none;
// one that would take a page (a pipe takes each at its first fill)
// writes nothing then, and runs again with the pages it may take charged
// first (reservePages, as a file's write beside others: ReserveMem), or answers
// RunAlone, having written nothing, where the charge does not fit: the
// path alone writes what fits. It stamps no time (ReadMem): a pipe has
// none. Context: trap, files lock held; does not allocate.
func PipeWriteNow(p int, nonblock bool, b []byte, shared bool) int64 {
	m := ReadMem()
	if shared {
		m.Budget = fs.NoPages
	}
	put, e := pipeWrite(&m, p, b)
	if e == unix.ENOMEM && shared {
		fits := false
		if m, fits = reservePages(int64(min(len(b)/fs.PageSize+2, fs.PipeSize/fs.PageSize))); !fits { // the pages n bytes may touch at any place in the ring
			return RunAlone
		}
		put, e = pipeWrite(&m, p, b)
		m.Taken -= m.Budget // reservePages charged the budget: Done gives back what the write did not take
	}
	Done(&m)
	switch {
	case e == unix.EAGAIN && !nonblock:
		return WouldBlock
	case e != 0:
		return -int64(e)
	}
	PipeChanged(p)
	return int64(put)
}

// pipeWrite is fs.Pipes.Write of b into pipe p under the pipe's lock.
// Context: trap, files lock held; does not allocate.
func pipeWrite(m *fs.Mem, p int, b []byte) (int, fs.Errno) {
	Pipes.Lock(p)
	put, e := Pipes.Write(m, p, b)
	Pipes.Unlock(p)
	return put, e
}

// WaitPipe blocks t until pipe p changes (WaitKey), marking the pipe
// waited on (pipeWaited). Context: trap, kernel and files locks held;
// does not allocate.
func WaitPipe(t sched.TID, p int) int64 {
	pipeWaited.Add(p)
	return WaitKey(t, PipeKey(p))
}

// WakeRecordedPipes restarts the threads waiting on every pipe that
// PipeChanged recorded, and clears the records.
// Context: trap, kernel and files locks held; does not allocate.
func WakeRecordedPipes() {
	if !PipeWakePending.Load() {
		return
	}
	PipeWakePending.Store(false)
	for p := pipeWakes.Take(); p >= 0; p = pipeWakes.Take() {
		pipeWaited.Remove(p)
		WakeKey(PipeKey(p))
	}
}

// FifoPipe maps an inode to its pipe plus one (0: none open): 16 bits,
// half the memory of an int32 per inode, as there are fs.MaxPipes pipes
// (fifoPipeFits fails the build if they outgrow it).
var FifoPipe [fs.MaxInodes]uint16

// fifoPipeFits is FifoPipe's largest entry: a constant that overflows
// uint16, and so fails to compile, if fs.MaxPipes does not fit.
const fifoPipeFits uint16 = fs.MaxPipes + 1
