package fdcalls

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/sysinfo"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// The system calls on descriptors of files, directories, pipes and
// character devices: reads and writes at the description's offset or a
// given one, directory listing, dup, pipes, locks, sizes and syncs.
// Context (every function here): trap, kernel lock held, or the files
// lock alone where the function says so (the file paths of
// kernel/filetrap.go); none allocates.

// descRead reads from a file, pipe or device; off < 0 means at (and
// advancing) the description's offset. A pipe with nothing in it blocks t
// unless nonblock.
// Context: trap, kernel lock held; does not allocate.
func descRead(t sched.TID, f *fdtab.File, buf, n uintptr, off int64) int64 {
	d := vfs.DescOf(f)
	if !fsys.CanRead(d) {
		return -abi.EBADF
	}
	switch f.Kind {
	case fdtab.KindPipe:
		if off >= 0 {
			return -abi.ESPIPE
		}
		return vfs.WaitPipeIf(t, int(d.Pipe), pipeReadNow(f.Nonblock, d, buf, n))
	case fdtab.KindDev:
		return devRead(vfs.Root.Rdev(d.Ino), buf, n)
	case fdtab.KindProcFD:
		return -int64(unix.EISDIR)
	}
	return fileRead(d, buf, n, off)
}

// fileRead reads from a file of the root file system that d (open for
// reading) describes; off < 0 means at (and advancing) the description's
// offset. A directory is EISDIR.
// Context: trap, files lock held; does not allocate.
func fileRead(d *vfs.Desc, buf, n uintptr, off int64) int64 {
	if vfs.Root.IsDir(d.Ino) {
		return -int64(unix.EISDIR)
	}
	pos := off
	if off < 0 {
		pos = d.Off
	}
	k := uintptr(max(min(int64(n), vfs.Root.Size(d.Ino)-pos), 0))
	b, ok := vm.UserBytes(buf, k, true)
	if !ok {
		return -abi.EFAULT
	}
	m := vfs.ReadMem()
	got, e := vfs.Root.Read(&m, d.Ino, pos, b)
	if e != 0 {
		return -int64(e)
	}
	if off < 0 {
		d.Off += int64(got)
	}
	return int64(got)
}

// descWrite writes to a file, pipe or device (see descRead for off).
// Context: trap, kernel lock held; does not allocate.
func descWrite(t sched.TID, f *fdtab.File, buf, n uintptr, off int64) int64 {
	d := vfs.DescOf(f)
	if !fsys.CanWrite(d) {
		return -abi.EBADF
	}
	switch f.Kind {
	case fdtab.KindPipe:
		if off >= 0 {
			return -abi.ESPIPE
		}
		return vfs.WaitPipeIf(t, int(d.Pipe), pipeWriteNow(f.Nonblock, d, buf, n, false))
	case fdtab.KindDev:
		switch vfs.Root.Rdev(d.Ino) {
		case fsys.DevFull:
			return -abi.ENOSPC
		case fsys.DevKmsg:
			return kmsgWrite(buf, n)
		}
		return int64(n)
	}
	return fileWrite(d, buf, n, off, false)
}

// fileWrite writes to a file of the root file system that d (open for
// writing) describes (see fileRead for off); a description opened
// O_APPEND writes at the file's size, pwrite64 too, as on Linux
// (pwrite(2), BUGS), and write(2)'s offset ends past what it wrote (a
// write of nothing leaves it). Under the
// files lock held shared (FileCall) its pages are charged
// first (vfs.ReserveMem; an append's for its bytes at any offset, the
// size being read under the lock) and it holds the file's data lock, so
// that appends beside each other land one after the other: NotFileCall,
// having changed nothing, for a write larger than vfs.MaxSharedWrite
// (before the program's memory is faulted in) and where the charge does
// not fit. Context: trap, files lock held; does not allocate.
func fileWrite(d *vfs.Desc, buf, n uintptr, off int64, shared bool) int64 {
	if shared && n > vfs.MaxSharedWrite {
		return NotFileCall
	}
	b, ok := vm.UserBytes(buf, n, false)
	if !ok {
		return -abi.EFAULT
	}
	pos := off
	if off < 0 {
		pos = d.Off
	}
	appends := d.Flags&unix.O_APPEND != 0 // pwrite64 too, as on Linux (pwrite(2), BUGS)
	if appends && !shared {
		pos = vfs.Root.Size(d.Ino)
	}
	var m fs.Mem
	if shared {
		charged := pos
		if appends {
			charged = fs.PageSize - 1 // the size is read again under the lock: the most pages the bytes span anywhere
		}
		if m, ok = vfs.ReserveMem(charged, len(b)); !ok {
			return NotFileCall
		}
		vfs.Root.LockData(d.Ino)
		if appends {
			pos = vfs.Root.SizeHeld(d.Ino)
		}
		m.Now = vfs.RealtimeNs() // under the lock: one file's writes stamp in their order
	} else {
		m = vfs.Mem()
	}
	put, e := vfs.Root.Write(&m, d.Ino, pos, b)
	if shared {
		vfs.Root.UnlockData(d.Ino)
		m.Taken -= m.Budget // ReserveMem charged the budget: Done gives back what the write did not take
	}
	vfs.Done(&m)
	if put == 0 && e != 0 {
		return -int64(e)
	}
	if off < 0 && put > 0 {
		d.Off = pos + int64(put)
	}
	return int64(put)
}

// devRead reads a memory device: nothing from /dev/null, zeros from
// /dev/zero and /dev/full, random bytes from /dev/random and /dev/urandom.
// Context: trap, kernel lock held; does not allocate.
func devRead(rdev uint32, buf, n uintptr) int64 {
	if rdev == fsys.DevNull || rdev == fsys.DevKmsg {
		return 0
	}
	n = min(n, 1<<25)
	b, ok := vm.UserBytes(buf, n, true)
	if !ok {
		return -abi.EFAULT
	}
	if rdev == fsys.DevRandom || rdev == fsys.DevURandom {
		sysinfo.FillRandom(b)
	} else {
		clear(b)
	}
	return int64(n)
}

// pipeReadNow moves bytes out of a pipe without waiting: vfs.WouldBlock
// where a read of a blocking end must wait for some (descRead then
// waits: vfs.WaitPipeIf), having changed nothing. It holds
// the pipe's lock (fs.Pipes.Lock) while it looks at and empties the
// ring: calls on the pipe may run beside it (the files lock held
// shared). It stamps no time (vfs.ReadMem): a pipe has none.
// Context: trap, files lock held; does not allocate.
func pipeReadNow(nonblock bool, d *vfs.Desc, buf, n uintptr) int64 {
	p := int(d.Pipe)
	vfs.Pipes.Lock(p)
	k, r := uintptr(min(n, uintptr(vfs.Pipes.Buffered(p)))), int64(0)
	if _, writers := vfs.Pipes.Ends(p); n > 0 && k == 0 {
		switch {
		case writers == 0:
		case nonblock:
			r = -abi.EAGAIN
		default:
			r = vfs.WouldBlock
		}
	} else if b, ok := vm.UserBytes(buf, k, true); !ok {
		r = -abi.EFAULT
	} else {
		m := vfs.ReadMem()
		got, _ := vfs.Pipes.Read(&m, p, b)
		r = int64(got)
	}
	vfs.Pipes.Unlock(p)
	if r > 0 {
		vfs.PipeChanged(p)
	}
	return r
}

// pipeWriteNow moves bytes into a pipe without waiting
// (vfs.PipeWriteNow; shared: beside other calls, the files lock held
// shared): vfs.WouldBlock where a write to a blocking end must wait for
// room (descWrite then waits: vfs.WaitPipeIf); EPIPE once no reader is
// left.
// Context: trap, files lock held; does not allocate.
func pipeWriteNow(nonblock bool, d *vfs.Desc, buf, n uintptr, shared bool) int64 {
	b, ok := vm.UserBytes(buf, n, false)
	if !ok {
		return -abi.EFAULT
	}
	return vfs.PipeWriteNow(int(d.Pipe), nonblock, b, shared)
}

// SysPread64 and SysPwrite64 read and write at an offset, leaving the
// description's offset alone.
// Context: trap, kernel lock held; does not allocate.
func SysPread64(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	fd, buf, n, off := int(a[0]), a[1], a[2], int64(a[3])
	f := fdtab.Get(fd)
	switch { // Linux's order: the offset, the descriptor, whether it seeks
	case off < 0:
		return -abi.EINVAL
	case f == nil:
		return -abi.EBADF
	case !vfs.HasDesc(f.Kind):
		return -abi.ESPIPE
	}
	return descRead(t, f, buf, n, off)
}

// SysPwrite64 writes at an offset. Context: trap, kernel lock held.
func SysPwrite64(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	fd, buf, n, off := int(a[0]), a[1], a[2], int64(a[3])
	f := fdtab.Get(fd)
	switch { // Linux's order: the offset, the descriptor, whether it seeks
	case off < 0:
		return -abi.EINVAL
	case f == nil:
		return -abi.EBADF
	case !vfs.HasDesc(f.Kind):
		return -abi.ESPIPE
	}
	return descWrite(t, f, buf, n, off)
}

// descSeek moves a file's or directory's offset (SEEK_DATA and
// SEEK_HOLE treat the whole file as data); devices stay at 0; pipes are
// ESPIPE: d is the description of a descriptor of kind.
// Context: trap, files lock held; does not allocate.
func descSeek(kind uint8, d *vfs.Desc, off int64, whence int) int64 {
	switch kind {
	case fdtab.KindPipe:
		return -abi.ESPIPE
	case fdtab.KindDev:
		return 0
	}
	size := vfs.Root.Size(d.Ino)
	var pos int64
	switch whence {
	case unix.SEEK_SET:
		pos = off
	case unix.SEEK_CUR:
		pos = d.Off + off
	case unix.SEEK_END:
		pos = size + off
	case unix.SEEK_DATA:
		if off >= size || off < 0 {
			return -int64(unix.ENXIO)
		}
		pos = off
	case unix.SEEK_HOLE:
		if off >= size || off < 0 {
			return -int64(unix.ENXIO)
		}
		pos = size
	default:
		return -abi.EINVAL
	}
	if pos < 0 {
		return -abi.EINVAL
	}
	d.Off = pos
	return pos
}

// SysGetdents64 lists a directory from the description's position.
// Context: trap, kernel lock held; does not allocate.
func SysGetdents64(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	fd, buf, count := int(a[0]), a[1], a[2]
	f := fdtab.Get(fd)
	if f == nil {
		return -abi.EBADF
	}
	if f.Kind == fdtab.KindProcFD {
		return procFDList(vfs.DescOf(f), buf, count)
	}
	if f.Kind != fdtab.KindFile {
		return -int64(unix.ENOTDIR)
	}
	return fileGetdents(vfs.DescOf(f), buf, count)
}

// fileGetdents lists the directory d describes from its position; a file
// that is not a directory is ENOTDIR.
// Context: trap, files lock held; does not allocate.
func fileGetdents(d *vfs.Desc, buf uintptr, count uintptr) int64 {
	if !vfs.Root.IsDir(d.Ino) {
		return -int64(unix.ENOTDIR)
	}
	b, ok := vm.UserBytes(buf, min(count, 1<<20), true)
	if !ok {
		return -abi.EFAULT
	}
	m := vfs.ReadMem()
	n, short := 0, false
	vfs.Root.RLockData(d.Ino) // creates and unlinks in it may run beside (fs.FS.ReadDir)
	for {
		ent, more := vfs.Root.ReadDir(&m, d.Ino, d.Off)
		if !more {
			break
		}
		k := fs.PutDirent64(b[n:], &ent)
		if k == 0 {
			short = n == 0 // the buffer holds not even the next entry
			break
		}
		n += k
		d.Off = ent.Next
	}
	vfs.Root.RUnlockData(d.Ino)
	if short {
		return -abi.EINVAL
	}
	return int64(n)
}

// procFDList lists /proc/self/fd: ".", "..", then one link per open
// descriptor.
// Context: trap, kernel lock held; does not allocate.
func procFDList(d *vfs.Desc, buf, count uintptr) int64 {
	b, ok := vm.UserBytes(buf, min(count, 1<<20), true)
	if !ok {
		return -abi.EFAULT
	}
	n := 0
	for ; d.Off < 2+fdtab.MaxFDs; d.Off++ {
		var ent fs.Dirent
		var digits [20]byte
		switch {
		case d.Off < 2:
			ent = fs.Dirent{Ino: d.Ino, Type: unix.DT_DIR, Name: dots[:d.Off+1]}
		case fdtab.Files[d.Off-2].Kind == fdtab.KindFree:
			continue
		default:
			ent = fs.Dirent{Ino: fs.Ino(1000 + d.Off), Type: unix.DT_LNK, Name: klog.Decimal(&digits, uint64(d.Off-2))}
		}
		ent.Next = d.Off + 1
		k := fs.PutDirent64(b[n:], &ent)
		if k == 0 {
			if n == 0 {
				return -abi.EINVAL
			}
			break
		}
		n += k
	}
	return int64(n)
}

var dots = [2]byte{'.', '.'}

// dupable reports whether descriptors of kind can be duplicated: those
// that point at a shared description, the console and sockets.
// Context: trap, kernel lock held; does not allocate.
func dupable(kind uint8) bool {
	return vfs.HasDesc(kind) || kind == fdtab.KindConsole || kind == fdtab.KindSocket || kind == fdtab.KindUnix
}

// dupTo makes newfd a duplicate of oldfd (closing what newfd was).
// Context: trap, kernel lock held; does not allocate.
func dupTo(oldfd, newfd int, cloexec bool) int64 {
	f := fdtab.Get(oldfd)
	if f == nil || newfd < 0 || newfd >= fdtab.MaxFDs || uint64(newfd) >= fdtab.NofileLimit {
		return -abi.EBADF
	}
	if !dupable(f.Kind) {
		return -abi.EINVAL // epoll and eventfd descriptors are not shared descriptions yet
	}
	if oldfd == newfd {
		return int64(newfd)
	}
	if fdtab.Files[newfd].Kind != fdtab.KindFree {
		SysClose(newfd)
	}
	nf := *f
	nf.Cloexec = cloexec
	fdtab.Install(newfd, nf)
	if vfs.HasDesc(f.Kind) {
		vfs.Descs[f.Desc].Refs++
	}
	if f.Kind == fdtab.KindSocket {
		socket.Sockets[f.Socket].ExtraFDs++
	}
	if f.Kind == fdtab.KindUnix {
		socket.Usocks().Ref(f.Socket)
	}
	return int64(newfd)
}

// SysDup3 is dup2 and dup3 (EINVAL for the same descriptor in dup3).
// Context: trap, kernel lock held; does not allocate.
func SysDup3(oldfd, newfd, flags int, dup3 bool) int64 {
	if dup3 && (oldfd == newfd || flags&^unix.O_CLOEXEC != 0) {
		return -abi.EINVAL
	}
	if !dup3 && oldfd == newfd {
		if fdtab.Get(oldfd) == nil {
			return -abi.EBADF
		}
		return int64(newfd)
	}
	return dupTo(oldfd, newfd, flags&unix.O_CLOEXEC != 0)
}

// SysDupFrom is dup and F_DUPFD: the lowest free descriptor >= from.
// Context: trap, kernel lock held; does not allocate.
func SysDupFrom(oldfd, from int, cloexec bool) int64 {
	if fdtab.Get(oldfd) == nil {
		return -abi.EBADF
	}
	if from < 0 || uint64(from) >= fdtab.NofileLimit {
		return -abi.EINVAL
	}
	for fd := from; uint64(fd) < min(fdtab.NofileLimit, fdtab.MaxFDs); fd++ {
		if fdtab.Files[fd].Kind == fdtab.KindFree {
			return dupTo(oldfd, fd, cloexec)
		}
	}
	return -abi.EMFILE
}

// SysPipe2 makes a pipe: fds[0] reads, fds[1] writes (pipe(2) comes as
// pipe2 with no flags: package kernel's legacyCalls), with the files
// lock held exclusively or (shared) shared: package kernel's fileTrap
// serves every pipe2 beside other calls (makePipe). The two numbers go
// to fds, faulted in first (EFAULT, having made nothing), once both
// descriptors are made. Errors in Linux's order: the flags (EINVAL),
// fds, then the tables (ENFILE, EMFILE).
// Context: trap, files lock held; does not allocate.
func SysPipe2(fds uintptr, flags int, shared bool) int64 {
	if flags&^(unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_DIRECT) != 0 {
		return -abi.EINVAL
	}
	b, ok := vm.UserBytes(fds, 8, true)
	if !ok {
		return -abi.EFAULT
	}
	r, w := makePipe(flags, shared)
	if r < 0 {
		return r
	}
	binary.LittleEndian.PutUint32(b, uint32(r))
	binary.LittleEndian.PutUint32(b[4:], uint32(w))
	return 0
}

// makePipe makes a pipe and its two ends' descriptors, r reading and w
// writing, with the pipe2 flags: the pipe, its two descriptions and its
// two descriptors each claimed atomically (fs.Pipes.New,
// fsys.NewPipeFDs), as calls beside make and close others. Where a table
// is full it gives back what it made and answers r ENFILE or EMFILE,
// or, beside others (shared), fsys.RunAlone: pipes and descriptions
// closed beside others wait for a hold alone (vfs.Reclaim), which
// package kernel's fileTrap then takes, ending them before it runs the
// call again. Once the read end's descriptor is made, a call beside may
// have found it: where the write end's cannot be made, the write end
// ends and that descriptor is closed as a close beside others would
// (closeStreamShared), unless a close beside came first, whose description
// then frees the pipe.
// Context: trap, files lock held; does not allocate.
func makePipe(flags int, shared bool) (r, w int64) {
	p, e := vfs.Pipes.New()
	r = -int64(e)
	if e == 0 {
		var rd int32
		r, w, rd = fsys.NewPipeFDs(p, flags)
		if r < 0 { // nothing made but the pipe, which nothing names
			var none fs.Mem // no page yet
			vfs.Pipes.Free(&none, p)
		} else if w < 0 {
			if vfs.EndPipeEnd(p, false) { // the write end that never was; the read end's close beside came first: its description is on the closed list
				vfs.Descs[rd].FreesPipe = true
			} else {
				closeStreamShared(int(r), rd)
			}
			r, w = w, 0
		}
	}
	if r < 0 && shared {
		r = fsys.RunAlone
	}
	return r, w
}

// closeStreamShared is close(2) of pipe end or Internet socket fd beside
// other calls (the files lock held shared; package kernel's fileTrap
// sends every close of either here, StreamCallOn), if a pipe end's fd is
// open on description want (-1: any): it frees the descriptor and drops
// it from every epoll interest list under the lists' lock (vfs.FreeShared
// or socket.CloseFD, and epollForgetFD), so that an epoll_ctl or an
// epoll look beside, which look at the descriptor under that lock, come
// wholly before or after. A pipe end's description's reference is then
// dropped (vfs.DropShared: the last ends the pipe's end at once, and the
// description, and a pipe with no end left, at the next hold alone); a
// socket is closed under its own lock (socket.CloseFD). It answers
// NotFileCall, having changed nothing, for a FIFO's end (its inode and
// the pipe it maps to are the locked path's), for a socket that
// CloseFD leaves to the locked path, and where fd no longer names
// that pipe end or socket (a close beside came first): the locked path
// closes what fd names then, or answers EBADF.
// Context: trap, files lock held; does not allocate.
func closeStreamShared(fd int, want int32) int64 {
	w, ok := fdtab.LoadFlags(fd)
	pipe := w.Kind() == fdtab.KindPipe
	if pipe {
		d := vfs.DescAt(w.Desc())
		ok = ok && (want < 0 || w.Desc() == want) && d.Ino == 0 && !vfs.BothEnds(d)
	}
	if !ok || !pipe && w.Kind() != fdtab.KindSocket {
		return NotFileCall
	}
	spin.LockWord(&fdtab.EpollHeld)
	var freed bool
	if pipe {
		freed = vfs.FreeShared(fd, w.Desc(), fdtab.KindPipe)
	} else {
		freed = socket.CloseFD(fd, fdtab.Files[fd].Socket)
	}
	if freed {
		epollForgetFD(fd)
	}
	spin.UnlockWord(&fdtab.EpollHeld)
	if !freed {
		return NotFileCall
	}
	vfs.ClosesBeside.Add(1)
	if pipe {
		vfs.DropShared(w.Desc(), fdtab.KindPipe)
	}
	return 0
}

// SysFtruncate sets an open file's size (it must be open for writing),
// on the locked path; package kernel's fileTrap serves it on a file's
// descriptor under the files lock alone (FileCall: truncateDesc).
// Context: trap, files lock and kernel lock held; does not allocate.
func SysFtruncate(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	fd, length := int(a[0]), int64(a[1])
	f := fdtab.Get(fd)
	switch { // Linux's order: the length, then the descriptor
	case length < 0:
		return -abi.EINVAL
	case f == nil:
		return -abi.EBADF
	case f.Kind != fdtab.KindFile:
		return -abi.EINVAL
	}
	return truncateDesc(vfs.DescOf(f), length, false)
}

// truncateDesc is ftruncate(2) of the file of description d (EINVAL
// unless it is open for writing) to length, under the files lock held
// exclusively or (shared) shared, beside other calls: the file changes
// under its data lock (fs.FS.Truncate), and a kernel file's truncation
// answers fsys.RunAlone, having changed nothing.
// Context: trap, files lock held; does not allocate.
func truncateDesc(d *vfs.Desc, length int64, shared bool) int64 {
	if length < 0 || !fsys.CanWrite(d) {
		return -abi.EINVAL
	}
	return fsys.TruncateIno(d.Ino, length, shared)
}

// SysFallocate reserves pages (modes 0 and FALLOC_FL_KEEP_SIZE), under
// the files lock held exclusively (the locked path, or a run alone) or
// shared (package kernel's fileTrap), beside other calls: then its pages
// are charged first (vfs.ReserveMem, as a write's), the file's data lock
// keeps its reads and writes apart (fs.FS.Allocate), and a call with a
// bad range, one larger than vfs.MaxSharedWrite, one whose charge does
// not fit and one on a kernel file answer fsys.RunAlone, having changed
// nothing, and run again alone.
// Context: trap, files lock held (and the kernel lock on the locked path); does not allocate.
func SysFallocate(c *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	fd, mode, off, n := int(a[0]), int(int32(a[1])), int64(a[2]), int64(a[3])
	// One load: beside others a close and an open may give fd to another
	// file meanwhile. A description stays whole while the hold lasts
	// (vfs.CloseShared).
	w, _ := fdtab.LoadFlags(fd)
	kind, d := w.Kind(), vfs.DescAt(w.Desc())
	if kind == fdtab.KindFree || (vfs.HasDesc(kind) && !fsys.CanWrite(d)) {
		return -abi.EBADF
	}
	switch {
	case kind == fdtab.KindPipe:
		return -abi.ESPIPE
	case kind != fdtab.KindFile:
		return -abi.ENODEV
	case mode&^unix.FALLOC_FL_KEEP_SIZE != 0:
		return -int64(unix.EOPNOTSUPP)
	}
	var m fs.Mem
	shared := !klock.Files.HeldBy(c)
	if shared {
		fits := false
		if off >= 0 && n > 0 && n <= vfs.MaxSharedWrite { // else alone: EINVAL, or a charge too large to take beforehand
			m, fits = vfs.ReserveMem(off, int(n))
		}
		if !fits {
			return fsys.RunAlone
		}
		m.Now = vfs.RealtimeNs()
	} else {
		m = vfs.Mem() // stamps the file system's clock: alone only
	}
	e := vfs.Root.Allocate(&m, d.Ino, off, n, mode != 0)
	if shared {
		m.Taken -= m.Budget // ReserveMem charged the budget: Done gives back what the call did not take
	}
	vfs.Done(&m)
	if e == fs.NeedsExclusive {
		return fsys.RunAlone
	}
	return -int64(e)
}

// SysFsync is fsync, fdatasync and syncfs: memory is the file system.
// Context: trap, kernel lock held; does not allocate.
func SysFsync(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	fd := int(a[0])
	f := fdtab.Get(fd)
	switch {
	case f == nil:
		return -abi.EBADF
	case f.Kind == fdtab.KindSocket || f.Kind == fdtab.KindPipe || f.Kind == fdtab.KindEpoll:
		return -abi.EINVAL
	}
	return 0
}

// SysNoFastCopy is copy_file_range(2), splice(2) and tee(2) (nr, with
// arguments a), which gometal does not implement: after the checks Linux
// 6.18 makes first, in each call's order, it answers EINVAL, as Linux
// for descriptors it cannot copy between in the kernel; Go then falls
// back to reads and writes. splice: a length of 0 answers 0, then the
// flags, then the two descriptors (EBADF); tee: the flags, a length of
// 0, the descriptors; copy_file_range: the descriptors, the offsets'
// pointers (EFAULT), then the flags. Flags are a C unsigned int: the
// upper half of the register is not looked at. Context: trap, kernel
// lock held; does not allocate.
func SysNoFastCopy(nr uint64, a *[6]uintptr) int64 {
	const spliceFAll = 0xf // SPLICE_F_MOVE|SPLICE_F_NONBLOCK|SPLICE_F_MORE|SPLICE_F_GIFT
	in, out := int(int32(a[0])), int(int32(a[2]))
	switch nr {
	case unix.SYS_SPLICE:
		if a[4] == 0 {
			return 0
		}
		if uint32(a[5])&^spliceFAll != 0 {
			return -abi.EINVAL
		}
	case unix.SYS_TEE:
		if uint32(a[3])&^spliceFAll != 0 {
			return -abi.EINVAL
		}
		if a[2] == 0 {
			return 0
		}
		out = int(int32(a[1]))
	}
	if fdtab.Get(in) == nil || fdtab.Get(out) == nil {
		return -abi.EBADF
	}
	if nr == unix.SYS_COPY_FILE_RANGE {
		for _, off := range [2]uintptr{a[1], a[3]} {
			if off == 0 {
				continue // no offset: the descriptor's own
			}
			if _, ok := vm.UserRead64(off); !ok {
				return -abi.EFAULT
			}
		}
	}
	return -abi.EINVAL // copy_file_range's flags, and every copy gometal leaves to reads and writes
}

// SysFadvise is fadvise64(2) of length n with advice: memory is the file
// system, as Linux's tmpfs, where the advice changes nothing once its
// arguments pass Linux's checks: EBADF for a bad descriptor (an O_PATH
// one too, PathHide), ESPIPE for a pipe or FIFO, EINVAL for a
// negative length or an advice beyond POSIX_FADV_NOREUSE.
// Context: trap, kernel lock held; does not allocate.
func SysFadvise(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	fd, n, advice := int(int32(a[0])), int64(a[2]), int(int32(a[3]))
	f := fdtab.Get(fd)
	switch {
	case f == nil:
		return -abi.EBADF
	case f.Kind == fdtab.KindPipe:
		return -abi.ESPIPE
	case n < 0 || uint(advice) > unix.FADV_NOREUSE:
		return -abi.EINVAL
	}
	return 0
}

// SysFchmod changes an open file's permission bits, under the files
// lock held exclusively or shared (this CPU not its exclusive holder:
// fsys.SetAttrFD). Context: trap, files lock held (and the kernel lock
// on the locked path).
func SysFchmod(c *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	return fsys.SetAttrFD(c, int(a[0]), uint32(a[1])&0o7777, -1, -1)
}

// SysFchown changes an open file's owner, as SysFchmod.
// Context: trap, files lock held (and the kernel lock on the locked path).
func SysFchown(c *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	return fsys.SetAttrFD(c, int(a[0]), fs.KeepMode, int32(a[1]), int32(a[2]))
}

// SysFstatfs describes the file system of an open descriptor.
// Context: trap, files lock held (and the kernel lock on the locked path); does not allocate.
func SysFstatfs(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	fd, buf := int(a[0]), a[1]
	if fdtab.Get(fd) == nil {
		return -abi.EBADF
	}
	return fsys.SysStatfs(buf)
}

// struct flock (amd64): l_type, l_whence (int16), l_start, l_len (int64),
// l_pid (int32).
const flockSize = 32

// sysFcntlLock is F_GETLK, F_SETLK, F_SETLKW and their OFD forms; F_GETLK
// writes its answer into the struct flock at arg.
// Context: trap, kernel lock held; does not allocate.
func sysFcntlLock(t sched.TID, f *fdtab.File, fd, cmd int, arg uintptr) int64 {
	if f.Kind != fdtab.KindFile {
		return -abi.EINVAL
	}
	d := vfs.DescOf(f)
	b, ok := vm.UserBytes(arg, flockSize, cmd == unix.F_GETLK || cmd == unix.F_OFD_GETLK)
	if !ok {
		return -abi.EFAULT
	}
	_ = b[flockSize-1] // one bounds check for the reads and writes below (issue 16's budget)
	le := binary.LittleEndian
	typ, whence := int(int16(le.Uint16(b[0:]))), int(int16(le.Uint16(b[2:])))
	start, length := int64(le.Uint64(b[8:])), int64(le.Uint64(b[16:]))
	ofd := cmd == unix.F_OFD_GETLK || cmd == unix.F_OFD_SETLK || cmd == unix.F_OFD_SETLKW
	if ofd && le.Uint32(b[24:]) != 0 {
		return -abi.EINVAL
	}
	owner := fs.ProcessOwner
	if ofd {
		owner = vfs.LockOwner(f.Desc)
	}
	lo, hi, e := lockRange(d, whence, start, length)
	if e != 0 {
		return e
	}
	switch cmd {
	case unix.F_GETLK, unix.F_OFD_GETLK:
		if typ != fs.ReadLock && typ != fs.WriteLock {
			return -abi.EINVAL
		}
		// The answer: F_UNLCK alone when nothing is in the way, else the
		// conflicting lock from byte 0 of the file, with pid 1 for the
		// program's lock and -1 for an open file description's.
		c, busy := vfs.Root.TestLock(d.Ino, owner, false, typ, lo, hi)
		if !busy {
			le.PutUint16(b[0:], unix.F_UNLCK)
			return 0
		}
		ctyp, pid := uint16(unix.F_RDLCK), int32(-1)
		if c.Write {
			ctyp = unix.F_WRLCK
		}
		if c.Owner == fs.ProcessOwner {
			pid = 1
		}
		clen := c.End - c.Start // the conflicting lock's length
		if c.End == fs.ToEnd {
			clen = 0
		}
		le.PutUint16(b[0:], ctyp)
		le.PutUint16(b[2:], unix.SEEK_SET)
		le.PutUint64(b[8:], uint64(c.Start))
		le.PutUint64(b[16:], uint64(clen))
		le.PutUint32(b[24:], uint32(pid))
		return 0
	}
	switch {
	case typ == fs.ReadLock && !fsys.CanRead(d), typ == fs.WriteLock && !fsys.CanWrite(d):
		return -abi.EBADF
	}
	fe := vfs.Root.SetLock(d.Ino, owner, false, typ, lo, hi)
	if fe == unix.EAGAIN && (cmd == unix.F_SETLKW || cmd == unix.F_OFD_SETLKW) {
		return vfs.WaitKey(t, vfs.LockKey(d.Ino))
	}
	if fe == 0 && typ == fs.Unlock {
		vfs.WakeKey(vfs.LockKey(d.Ino))
	}
	return -int64(fe)
}

// lockRange turns a struct flock's whence, start and length into [lo, hi).
// Context: trap, kernel lock held; does not allocate.
func lockRange(d *vfs.Desc, whence int, start, length int64) (int64, int64, int64) {
	switch whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		start += d.Off
	case unix.SEEK_END:
		start += vfs.Root.Size(d.Ino)
	default:
		return 0, 0, -abi.EINVAL
	}
	lo, hi := start, fs.ToEnd
	switch {
	case length > 0:
		hi = start + length
	case length < 0:
		lo, hi = start+length, start
	}
	if lo < 0 {
		return 0, 0, -abi.EINVAL
	}
	return lo, hi, 0
}

// SysFlock takes or releases a whole-file lock of the description.
// Context: trap, kernel lock held; does not allocate.
func SysFlock(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	fd, op := int(a[0]), int(int32(a[1]))
	// Linux's order: LOCK_MAND (gone since 5.15) is accepted without
	// effect, an unknown operation is EINVAL, then the descriptor.
	const lockMand = 32
	if op&lockMand != 0 {
		return 0
	}
	typ := fs.Unlock
	switch op &^ unix.LOCK_NB {
	case unix.LOCK_SH:
		typ = fs.ReadLock
	case unix.LOCK_EX:
		typ = fs.WriteLock
	case unix.LOCK_UN:
	default:
		return -abi.EINVAL
	}
	f := fdtab.Get(fd)
	if f == nil {
		return -abi.EBADF
	}
	if f.Kind != fdtab.KindFile {
		return -abi.EINVAL
	}
	ino := vfs.DescOf(f).Ino
	fe := vfs.Root.SetLock(ino, vfs.LockOwner(f.Desc), true, typ, 0, fs.ToEnd)
	if fe == unix.EAGAIN && op&unix.LOCK_NB == 0 {
		return vfs.WaitKey(t, vfs.LockKey(ino))
	}
	if fe == 0 && typ == fs.Unlock {
		vfs.WakeKey(vfs.LockKey(ino))
	}
	return -int64(fe)
}

// SysUmask sets the file-mode creation mask and returns the old one,
// atomically: it runs beside the creates that read it (the files lock
// held shared). Context: trap, files lock held (and the kernel lock on
// the locked path); does not allocate.
func SysUmask(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	return int64(atomic.SwapUint32(&vfs.Umask, uint32(a[0])&0o777))
}
