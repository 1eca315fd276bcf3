package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// The file layer's glue: the in-memory root file system (kernel/fs), the
// open file descriptions that descriptors of files, pipes and devices
// point at (shared by dup), the working directory and umask, and the
// waiting for pipes and locks. The file system's logic is in kernel/fs;
// this file copies paths and bytes between it and the program.

var (
	rootfs fs.FS
	pipes  fs.Pipes
	cwd    = fs.RootIno
	umask  = uint32(0o022)
	// fsPages counts the pages the file system and the pipes hold once
	// the program runs; fsMaxPages caps them, as tmpfs's size= does
	// (half of the program's memory, like tmpfs's default), so that a full
	// file system leaves the program memory to run in.
	fsPages, fsMaxPages int64
)

// maxDescs bounds the open file descriptions of files, pipes and devices.
const maxDescs = 1024

// A desc is an open file description: what open(2) or pipe(2) made,
// shared by the descriptors dup(2) makes of it.
type desc struct {
	refs   int32
	ino    fs.Ino
	off    int64
	flags  int   // open flags: access mode, O_APPEND, O_PATH
	pipe   int32 // fdtab.KindPipe: the pipe
	reader bool  // fdtab.KindPipe: the read end
}

var descs [maxDescs]desc

// Character devices (major 1, as Linux numbers its memory devices).
const (
	devNull    = 1<<8 | 3
	devZero    = 1<<8 | 5
	devFull    = 1<<8 | 7
	devRandom  = 1<<8 | 8
	devURandom = 1<<8 | 9
	devKmsg    = 1<<8 | 11 // each write is one kernel log line (the kernel's goroutines log through it)
	// kernelFileMark in a regular file's rdev makes it one of the
	// kernel's generated files (memfile.go): its low bits say which.
	kernelFileMark = 0x8000
	// procFDMark marks the directory /proc/self/fd.
	procFDMark = 0x4000
)

// fsMem returns the page source of one file-system call: the frame
// allocator, with what the commit limit still allows as the budget (at
// boot, before the limit is set, every free frame).
// Context: trap or boot; does not allocate.
func fsMem() fs.Mem {
	m := fs.Mem{Frames: &vm.Frames, Budget: int64(vm.Frames.FreeCount())}
	if vm.CommitLimit != 0 {
		m.Budget = int64(vm.CommitLimit-min(vm.Committed, vm.CommitLimit)) / int64(fs.PageSize)
		m.Budget = max(min(m.Budget, fsMaxPages-fsPages), 0)
	}
	rootfs.Now = realtimeNs()
	return m
}

// fsDone charges the pages a call took (or gave back) to the commit.
// Context: trap or boot; does not allocate. Not inlined: after every
// file-system call, cheaper as one copy (docs/performance.md, "Image
// size").
//
//go:noinline
func fsDone(m *fs.Mem) {
	if vm.CommitLimit == 0 {
		return
	}
	fsPages += m.Taken
	if m.Taken >= 0 {
		vm.Committed += uint64(m.Taken) * fs.PageSize
	} else {
		vm.Committed -= min(vm.Committed, uint64(-m.Taken)*fs.PageSize)
	}
}

// realtimeNs returns the wall-clock time in nanoseconds since the epoch.
// Context: trap, kernel lock held; does not allocate.
func realtimeNs() int64 { return clock.WallAtBoot() + clock.Nanotime() }

// allocDesc takes a free open file description with one reference.
// Context: trap; does not allocate.
func allocDesc(ino fs.Ino, flags int) int32 {
	for i := range descs {
		if descs[i].refs == 0 {
			descs[i] = desc{refs: 1, ino: ino, flags: flags}
			return int32(i)
		}
	}
	return -1
}

// newDescFD makes a descriptor of kind for a new description of ino.
// Context: trap; does not allocate.
func newDescFD(kind uint8, ino fs.Ino, flags int) int64 {
	d := allocDesc(ino, flags)
	if d < 0 {
		return -abi.ENFILE
	}
	fd := fdtab.Alloc(kind, flags)
	if fd < 0 {
		descs[d].refs = 0
		return -abi.EMFILE
	}
	fdtab.Files[fd].Desc = d
	if ino != 0 {
		rootfs.Hold(ino)
	}
	return int64(fd)
}

// descOf returns the description behind f (files, pipes, devices).
// Context: trap, kernel lock held; does not allocate.
func descOf(f *fdtab.File) *desc { return &descs[f.Desc] }

// hasDesc reports whether descriptors of kind point at a description.
// Context: trap, kernel lock held; does not allocate.
func hasDesc(kind uint8) bool {
	return kind == fdtab.KindFile || kind == fdtab.KindPipe || kind == fdtab.KindDev || kind == fdtab.KindProcFD
}

// lockOwner is the owner of a description's OFD and flock locks.
// Context: trap, kernel lock held; does not allocate.
func lockOwner(d int32) int32 { return d + 1 }

// closeDesc drops fd's reference to its description and, with the last
// one, releases the file, the pipe end and the locks.
// Context: trap; does not allocate.
func closeDesc(f *fdtab.File) {
	d := descOf(f)
	if f.Kind == fdtab.KindFile {
		if rootfs.HasLocks(d.ino) { // POSIX: any close drops the process's record locks
			rootfs.DropLocks(d.ino, fs.ProcessOwner)
			wakeKey(lockKey(d.ino))
		}
	}
	d.refs--
	if d.refs > 0 {
		return
	}
	m := fsMem()
	switch f.Kind {
	case fdtab.KindPipe:
		pipes.Close(&m, int(d.pipe), d.reader)
		pipeChanged(int(d.pipe))
		if d.ino != 0 { // a FIFO: forget its pipe once both ends closed
			if r, w := pipes.Ends(int(d.pipe)); r <= 0 && w <= 0 {
				fifoPipe[d.ino] = 0
			}
			rootfs.Drop(&m, d.ino)
		}
	default:
		if rootfs.HasLocks(d.ino) {
			rootfs.DropLocks(d.ino, lockOwner(f.Desc))
			wakeKey(lockKey(d.ino))
		}
		if d.ino != 0 {
			rootfs.Drop(&m, d.ino)
		}
	}
	fsDone(&m)
	*d = desc{}
}

// Wait keys of the futex table for the kernel's own waits: kernel
// addresses, so no program futex word can collide with them, each kind in
// its own 2^40-byte range so no two kinds collide either (keyRanges).
const (
	pipeKeyBase      = 0xffff_f000_0000_0000 // pipeKey: readers and writers of a pipe
	lockKeyBase      = 0xffff_f100_0000_0000 // lockKey: waiters for a file lock
	unixKeyBase      = 0xffff_f200_0000_0000 // unixKey: a Unix socket's waiters
	vconWriteKeyBase = 0xffff_f300_0000_0000 // a console transmit queue's writers (vconio.go)
	fifoKeyBase      = 0xffff_f400_0000_0000 // fifoKey: openers of a FIFO waiting for the other end
	keyRange         = 0x100_0000_0000
)

// pipeKey is the wait key of pipe p. Context: any; does not allocate.
func pipeKey(p int) uintptr { return pipeKeyBase + uintptr(p)*8 }

// lockKey is the wait key of the locks of ino. Context: any; does not allocate.
func lockKey(ino fs.Ino) uintptr { return lockKeyBase + uintptr(ino)*8 }

// waitKey blocks t on key until wakeKey, after which t executes its
// system call again. Context: trap, kernel lock held.
func waitKey(t sched.TID, key uintptr) int64 {
	threadtab.Threads[t].RestartNr = threadtab.Threads[t].Regs.AX
	thread.Futexes.Wait(t, key)
	thread.Block(t, threadtab.WaitFutex)
	return blocked
}

// wakeKey restarts every thread waiting on key.
// Context: trap, kernel lock held; does not allocate.
func wakeKey(key uintptr) {
	for w := thread.Futexes.WakeOne(key); w != noThread; w = thread.Futexes.WakeOne(key) {
		threadtab.Threads[w].Wait = threadtab.WaitNone
		thread.Restart(w)
	}
}

// pipeChanged tells the waiters and the epoll instances watching either
// end of pipe p that its state changed. Context: trap.
func pipeChanged(p int) {
	wakeKey(pipeKey(p))
	for fd := range fdtab.Files {
		if fdtab.Files[fd].Kind == fdtab.KindPipe && descs[fdtab.Files[fd].Desc].pipe == int32(p) {
			fdtab.Files[fd].Seq++
			epollNotify(fd)
		}
	}
}

// pipeReadiness returns the epoll events of a pipe end.
// Context: trap; does not allocate.
func pipeReadiness(d *desc) uint32 {
	p := int(d.pipe)
	readers, writers := pipes.Ends(p)
	if d.reader {
		r := uint32(0)
		if pipes.Readable(p) {
			r |= unix.EPOLLIN
		}
		if writers == 0 {
			r |= unix.EPOLLHUP
		}
		return r
	}
	r := uint32(0)
	if pipes.Writable(p) {
		r |= unix.EPOLLOUT
	}
	if readers == 0 {
		r |= unix.EPOLLERR
	}
	return r
}

// copyPath copies the NUL-terminated path at addr into p.
// Context: trap, kernel lock held; does not allocate.
func copyPath(addr uintptr, p *fs.Path) int64 {
	p.N = 0
	for p.N < len(p.Buf) {
		chunk := min(uintptr(len(p.Buf)-p.N), 4096-(addr+uintptr(p.N))%4096)
		chunk = vm.UserPrefix(addr+uintptr(p.N), chunk, false) // the string may end right before kernel state
		b, ok := vm.UserBytes(addr+uintptr(p.N), chunk, false)
		if !ok || chunk == 0 {
			return -abi.EFAULT
		}
		for _, c := range b {
			if c == 0 {
				return 0
			}
			p.Buf[p.N] = c
			p.N++
		}
	}
	return -abi.ENAMETOOLONG
}

// startDir returns the directory a relative path starts from: the working
// directory for AT_FDCWD, otherwise the directory dirfd has open.
// Context: trap; does not allocate.
func startDir(dirfd int) (fs.Ino, int64) {
	if dirfd == unix.AT_FDCWD {
		return cwd, 0
	}
	f := fdtab.Get(dirfd)
	if f == nil {
		return 0, -abi.EBADF
	}
	if f.Kind != fdtab.KindFile {
		return 0, -abi.ENOTDIR
	}
	ino := descOf(f).ino
	if !rootfs.IsDir(ino) {
		return 0, -abi.ENOTDIR
	}
	return ino, 0
}

// resolveAt copies the path at addr and resolves it from dirfd.
// AT_EMPTY_PATH with an empty path names dirfd's own file.
// Context: trap, kernel lock held; does not allocate.
func resolveAt(m *fs.Mem, dirfd int, addr uintptr, p *fs.Path, follow, emptyPath bool) (fs.Found, int64) {
	return resolveFrom(m, dirfd, addr, p, follow, emptyPath, false)
}

// resolveEntryAt resolves the path at addr for a call that makes or
// removes its last component's entry (fs.ResolveEntry).
// Context: trap, kernel lock held; does not allocate.
func resolveEntryAt(m *fs.Mem, dirfd int, addr uintptr, p *fs.Path) (fs.Found, int64) {
	return resolveFrom(m, dirfd, addr, p, false, false, true)
}

// resolveFrom is resolveAt and resolveEntryAt.
// Context: trap, kernel lock held; does not allocate.
func resolveFrom(m *fs.Mem, dirfd int, addr uintptr, p *fs.Path, follow, emptyPath, entry bool) (fs.Found, int64) {
	if e := copyPath(addr, p); e != 0 {
		return fs.Found{}, e
	}
	if p.N == 0 && emptyPath {
		if dirfd == unix.AT_FDCWD {
			return fs.Found{Ino: cwd}, 0
		}
		f := fdtab.Get(dirfd)
		if f == nil {
			return fs.Found{}, -abi.EBADF
		}
		if !hasDesc(f.Kind) || descOf(f).ino == 0 {
			return fs.Found{}, -abi.EBADF // a pipe or device: stat it with fstat
		}
		return fs.Found{Ino: descOf(f).ino}, 0
	}
	start := cwd
	if p.N > 0 && p.Buf[0] != '/' {
		var e int64
		if start, e = startDir(dirfd); e != 0 {
			return fs.Found{}, e
		}
	}
	var found fs.Found
	var e fs.Errno
	if entry {
		found, e = rootfs.ResolveEntry(m, start, p)
	} else {
		found, e = rootfs.Resolve(m, start, p, follow)
	}
	if e != 0 {
		return fs.Found{}, -int64(e)
	}
	return found, 0
}

// errno converts a file-system error into a system call result.
// Context: trap, kernel lock held; does not allocate.
func errno(e fs.Errno) int64 { return -int64(e) }

// errnoNames names the errors the file layer reports in log lines.
var errnoNames = [...]struct {
	e    unix.Errno
	name string
}{
	{unix.ENOENT, "ENOENT"}, {unix.ENOTDIR, "ENOTDIR"}, {unix.EEXIST, "EEXIST"},
	{unix.ENOSPC, "ENOSPC"}, {unix.ENAMETOOLONG, "ENAMETOOLONG"}, {unix.EISDIR, "EISDIR"},
	{unix.ELOOP, "ELOOP"}, {unix.ENOTEMPTY, "ENOTEMPTY"}, {unix.EINVAL, "EINVAL"},
	{unix.EFBIG, "EFBIG"}, {unix.EPERM, "EPERM"}, {unix.EMLINK, "EMLINK"},
}

// errnoName returns the name of the negated errno e ("errno" if unknown).
// Context: any; does not allocate. Not inlined (image size).
//
//go:noinline
func errnoName(e int64) string {
	for _, n := range errnoNames {
		if int64(n.e) == -e {
			return n.name
		}
	}
	return "errno"
}
