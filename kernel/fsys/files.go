package fsys

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"golang.org/x/sys/unix"
)

// The file layer's glue: the in-memory root file system (kernel/fs), the
// open file descriptions that descriptors of files, pipes and devices
// point at (shared by dup), the working directory and umask, and the
// waiting for pipes and locks. The file system's logic is in kernel/fs;
// this file copies paths and bytes between it and the program.

// Character devices (major 1, as Linux numbers its memory devices).
const (
	DevNull    = 1<<8 | 3
	DevZero    = 1<<8 | 5
	DevFull    = 1<<8 | 7
	DevRandom  = 1<<8 | 8
	DevURandom = 1<<8 | 9
	DevKmsg    = 1<<8 | 11 // each write is one kernel log line (the kernel's goroutines log through it)
	// KernelFileMark in a regular file's rdev makes it one of the
	// kernel's generated files (kernel/memfile.go): its low bits say which.
	KernelFileMark = 0x8000
	// ProcFDMark marks the directory /proc/self/fd.
	ProcFDMark = 0x4000
)

// CanRead reports whether d was opened for reading. Context: any; does
// not allocate.
func CanRead(d *vfs.Desc) bool {
	return d.Flags&unix.O_PATH == 0 && d.Flags&unix.O_ACCMODE != unix.O_WRONLY
}

// statusFlags returns the status flags a new description of ino keeps,
// those Linux's open keeps in the file's f_flags and F_GETFL shows
// (with the descriptor's O_NONBLOCK, which fdtab keeps): the open's
// flags without those that act only at the open (O_CREAT, O_EXCL,
// O_NOCTTY, O_TRUNC) and the descriptor's (O_CLOEXEC, O_NONBLOCK), with
// O_LARGEFILE, which every open on a 64-bit kernel adds; an O_PATH
// open's keeps O_PATH, O_DIRECTORY and O_NOFOLLOW only, and a pipe's
// (no inode: pipe2) its access mode only (Linux's write end keeps
// pipe2's O_DIRECT too, packet mode, which gometal accepts but does not
// implement, so F_GETFL does not claim it). Bits Linux does not know
// (abi.ValidOpenFlags) go, and __O_SYNC brings O_DSYNC, as in Linux's
// open. Measured on Linux 6.18 (Go's
// unix.FcntlInt): a file opened O_RDWR|O_APPEND shows 0x8402, a
// directory opened O_DIRECTORY 0x18000, /dev/null opened O_WRONLY
// 0x8001, O_PATH alone 0x200000, a pipe's read end 0 (0x800 with
// O_NONBLOCK). Context: trap; does not allocate.
func statusFlags(ino fs.Ino, flags int) int {
	flags &= abi.ValidOpenFlags
	switch {
	case ino == 0:
		return flags & unix.O_ACCMODE
	case flags&unix.O_PATH != 0:
		return flags & (unix.O_PATH | unix.O_DIRECTORY | unix.O_NOFOLLOW)
	case flags&abi.OSync != 0:
		flags |= unix.O_DSYNC
	}
	return flags&^(unix.O_CREAT|unix.O_EXCL|unix.O_NOCTTY|unix.O_TRUNC|unix.O_CLOEXEC|unix.O_NONBLOCK) | abi.OLargefile
}

// CanWrite reports whether d was opened for writing. Context: any; does not allocate.
func CanWrite(d *vfs.Desc) bool {
	return d.Flags&unix.O_PATH == 0 && d.Flags&unix.O_ACCMODE != unix.O_RDONLY
}

// NewDescFD makes a descriptor of kind for a new description of ino,
// with the open (or pipe2) flags, which give the descriptor its
// O_CLOEXEC and O_NONBLOCK and the description its status flags
// (statusFlags). Context: trap; does not allocate.
func NewDescFD(kind uint8, ino fs.Ino, flags int) int64 {
	d := vfs.AllocDesc(ino, statusFlags(ino, flags))
	if d < 0 {
		return -abi.ENFILE
	}
	fd := fdtab.AllocDesc(kind, flags, d)
	if fd < 0 {
		vfs.FreeDesc(d)
		return -abi.EMFILE
	}
	if ino != 0 {
		vfs.Root.Hold(ino)
	}
	return int64(fd)
}

// NewPipeFDs makes the two ends' descriptions and descriptors of pipe
// p, with the pipe2 flags (NewDescFD): r reads, w writes. Both
// descriptions come first, each naming its pipe end before its
// descriptor is made (pipe2 runs beside other calls, and one of them may
// find a descriptor by its number at once); rd is the read end's. r
// below zero is the errno (ENFILE, EMFILE), with nothing made; w below
// zero is EMFILE, with the read end's descriptor made: the caller closes
// it. Context: trap, files lock held; does not allocate.
func NewPipeFDs(p int, flags int) (r, w int64, rd int32) {
	rd = vfs.AllocDesc(0, statusFlags(0, unix.O_RDONLY|flags))
	wd := vfs.AllocDesc(0, statusFlags(0, unix.O_WRONLY|flags))
	if rd < 0 || wd < 0 {
		freeDescs(rd, wd)
		return -abi.ENFILE, 0, -1
	}
	vfs.Descs[rd].Pipe, vfs.Descs[rd].Reader = int32(p), true
	vfs.Descs[wd].Pipe = int32(p)
	if r = int64(fdtab.AllocDesc(fdtab.KindPipe, flags, rd)); r < 0 {
		freeDescs(rd, wd)
		return -abi.EMFILE, 0, -1
	}
	if w = int64(fdtab.AllocDesc(fdtab.KindPipe, flags, wd)); w < 0 {
		freeDescs(-1, wd)
		return r, -abi.EMFILE, rd
	}
	return r, w, rd
}

// freeDescs gives back the descriptions a and b that are not below zero,
// which AllocDesc took and nothing else refers to.
// Context: trap; does not allocate.
func freeDescs(a, b int32) {
	if a >= 0 {
		vfs.FreeDesc(a)
	}
	if b >= 0 {
		vfs.FreeDesc(b)
	}
}

// PipeReadiness returns the epoll events of a pipe end, or of both ends
// for a FIFO opened O_RDWR (vfs.BothEnds), as Linux's pipe_poll: a
// reader's EPOLLIN while bytes are held and EPOLLHUP once no writer is
// left, a writer's EPOLLOUT while the pipe has room and EPOLLERR once no
// reader is left. (Linux gives a FIFO's reader EPOLLHUP only after a
// writer has come and gone since the reader opened; here any time no
// writer is open.) Reads and writes of the pipe may move its ring
// beside it (an epoll_wait that does not wait, under the files lock
// held shared, fdcalls.EpollWaitNow): it reads the ring's count without
// the pipe's lock, a word, as Linux's pipe_poll reads its ring's head
// and tail, so some count it had an instant before (readiness is an
// instant old by the time the program acts on it anyway), and the ends'
// counts atomically (a close beside may end one: fs.Pipes.CloseEnd).
// Context: trap, files lock held; does not allocate.
func PipeReadiness(d *vfs.Desc) uint32 {
	p := int(d.Pipe)
	readers, writers := vfs.Pipes.Ends(p)
	both := vfs.BothEnds(d)
	r := uint32(0)
	if d.Reader || both {
		if vfs.Pipes.Buffered(p) > 0 {
			r |= unix.EPOLLIN
		}
		if writers == 0 {
			r |= unix.EPOLLHUP
		}
	}
	if !d.Reader || both {
		if vfs.Pipes.HasRoom(p) {
			r |= unix.EPOLLOUT
		}
		if readers == 0 {
			r |= unix.EPOLLERR
		}
	}
	return r
}

// copyPath copies the NUL-terminated path at addr into p.
// Context: trap, files lock held; does not allocate.
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
		return fs.Ino(atomic.LoadInt32(&vfs.Cwd)), 0
	}
	f := fdtab.Get(dirfd)
	if f == nil {
		return 0, -abi.EBADF
	}
	if f.Kind != fdtab.KindFile {
		return 0, -abi.ENOTDIR
	}
	ino := vfs.DescOf(f).Ino
	if !vfs.Root.IsDir(ino) {
		return 0, -abi.ENOTDIR
	}
	return ino, 0
}

// resolveAt copies the path at addr and resolves it from dirfd.
// AT_EMPTY_PATH with an empty path names dirfd's own file.
// Context: trap, files lock held; does not allocate.
func resolveAt(m *fs.Mem, dirfd int, addr uintptr, p *fs.Path, follow, emptyPath bool) (fs.Found, int64) {
	return resolveFrom(m, dirfd, addr, p, follow, emptyPath, false)
}

// resolveEntryAt resolves the path at addr for a call that makes or
// removes its last component's entry (fs.ResolveEntry).
// Context: trap, files lock held; does not allocate.
func resolveEntryAt(m *fs.Mem, dirfd int, addr uintptr, p *fs.Path) (fs.Found, int64) {
	return resolveFrom(m, dirfd, addr, p, false, false, true)
}

// resolveFrom is resolveAt and resolveEntryAt.
// Context: trap, files lock held; does not allocate.
func resolveFrom(m *fs.Mem, dirfd int, addr uintptr, p *fs.Path, follow, emptyPath, entry bool) (fs.Found, int64) {
	if e := copyPath(addr, p); e != 0 {
		return fs.Found{}, e
	}
	if p.N == 0 && emptyPath {
		if dirfd == unix.AT_FDCWD {
			return fs.Found{Ino: fs.Ino(atomic.LoadInt32(&vfs.Cwd))}, 0
		}
		f := fdtab.Get(dirfd)
		if f == nil {
			return fs.Found{}, -abi.EBADF
		}
		if !vfs.HasDesc(f.Kind) || vfs.DescOf(f).Ino == 0 {
			return fs.Found{}, -abi.EBADF // a pipe or device: stat it with fstat
		}
		return fs.Found{Ino: vfs.DescOf(f).Ino}, 0
	}
	start := fs.Ino(atomic.LoadInt32(&vfs.Cwd))
	if p.N > 0 && p.Buf[0] != '/' {
		var e int64
		if start, e = startDir(dirfd); e != 0 {
			return fs.Found{}, e
		}
	}
	var found fs.Found
	var e fs.Errno
	if entry {
		found, e = vfs.Root.ResolveEntry(m, start, p)
	} else {
		found, e = vfs.Root.Resolve(m, start, p, follow)
	}
	if e != 0 {
		return fs.Found{}, -int64(e)
	}
	return found, 0
}

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

// ErrnoName returns the name of the negated errno e ("errno" if unknown).
// Context: any; does not allocate. Not inlined (image size).
//
//go:noinline
func ErrnoName(e int64) string {
	for _, n := range errnoNames {
		if int64(n.e) == -e {
			return n.name
		}
	}
	return "errno"
}
