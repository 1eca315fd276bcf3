package fdcalls

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/console"
	"github.com/gometal/gometal/kernel/devices"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/kfiles"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// OpenStdio opens descriptors 0, 1 and 2 on the console's three streams.
// Context: boot, before startProgram; does not allocate.
func OpenStdio() {
	for fd := range 3 {
		fdtab.Files[fd] = fdtab.File{Kind: fdtab.KindConsole, Stream: uint8(fd)}
	}
}

// SysWrite writes to the console or an eventfd. Context: trap, kernel
// lock held (as every sys* handler: doSyscall calls them).
func SysWrite(t sched.TID, fd int, buf, n uintptr) int64 {
	f := fdtab.Get(fd)
	if f == nil {
		return -abi.EBADF
	}
	switch f.Kind {
	case fdtab.KindFile, fdtab.KindPipe, fdtab.KindDev, fdtab.KindProcFD:
		return descWrite(t, f, buf, n, -1)
	case fdtab.KindSocket:
		io := socket.SockIO{T: t, Nr: unix.SYS_WRITE, Buf: buf, N: n}
		return socket.SockSend(f.Socket, &io, nil)
	case fdtab.KindConsole:
		if qi := console.VconQueueOf(f.Stream); qi >= 0 {
			return console.VconWrite(t, qi, f.Nonblock, buf, n)
		}
		b, ok := vm.UserBytes(buf, n, false)
		if !ok {
			return -abi.EFAULT
		}
		klog.ConsoleWrite(b)
		return int64(n)
	case fdtab.KindEventfd:
		return eventfdWrite(fd, f, buf, n)
	}
	return -abi.EINVAL
}

// SysRead reads from a socket, the network control file, the console, a
// memory file, an interrupt descriptor or an eventfd; console and
// interrupt reads may block t. Context: trap, kernel lock held; does not allocate.
func SysRead(t sched.TID, fd int, buf, n uintptr) int64 {
	f := fdtab.Get(fd)
	if f == nil {
		return -abi.EBADF
	}
	switch f.Kind {
	case fdtab.KindFile, fdtab.KindPipe, fdtab.KindDev, fdtab.KindProcFD:
		return descRead(t, f, buf, n, -1)
	case fdtab.KindSocket:
		io := socket.SockIO{T: t, Nr: unix.SYS_READ, Buf: buf, N: n}
		var from socket.SockAddr
		var trunc bool
		return socket.SockRecv(f.Socket, &io, &from, &trunc)
	case fdtab.KindNetCtl:
		return socket.NetCtlRead(buf, n)
	case fdtab.KindConsole:
		return console.Read(t, f, buf, n)
	case fdtab.KindMemFile:
		return kfiles.Read(f, buf, n)
	case fdtab.KindIRQ:
		return devices.IRQRead(t, f, buf, n)
	case fdtab.KindEventfd:
		return eventfdRead(f, buf, n)
	}
	return -abi.EINVAL
}

// SysClose releases fd and whatever it holds (an epoll instance, a memory
// file, an interrupt line, a socket, the network control file).
// Context: trap, kernel lock held; does not allocate.
func SysClose(fd int) int64 {
	f := fdtab.Get(fd)
	if f == nil {
		return -abi.EBADF
	}
	if f.Kind == fdtab.KindEpoll {
		releaseEpoll(f.Epoll)
	}
	if f.Kind == fdtab.KindMemFile {
		kfiles.Files[f.MemFile].Used = false
	}
	if f.Kind == fdtab.KindIRQ {
		devices.CloseIRQ(f)
	}
	epollForgetFD(fd)
	if f.Kind == fdtab.KindSocket {
		socket.ReleaseSocketFD(fd, f.Socket)
	}
	if f.Kind == fdtab.KindUnix {
		socket.UnixRelease(f.Socket)
	}
	if f.Kind == fdtab.KindNetlink {
		socket.NlSocks[f.Socket].Used = false
	}
	if f.Kind == fdtab.KindNetCtl {
		socket.CloseNetCtl()
	}
	g := *f
	fdtab.Free(f) // first: a flag call without the files lock sees it closed, not its description going
	if vfs.HasDesc(g.Kind) {
		vfs.CloseDesc(&g)
	}
	return 0
}

// SysFcntl duplicates descriptors, gets and sets the close-on-exec flag
// and the status flags (FcntlFlags), takes record locks and
// reports a pipe's size. Context: trap, kernel lock held; does not
// allocate.
func SysFcntl(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	fd, cmd, arg := int(int32(a[0])), int(int32(a[1])), a[2]
	if r, ok := FcntlFlags(fd, cmd, arg, false); ok {
		return r
	}
	f := fdtab.Get(fd)
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		return SysDupFrom(fd, int(arg), cmd == unix.F_DUPFD_CLOEXEC)
	case unix.F_GETLK, unix.F_SETLK, unix.F_SETLKW, unix.F_OFD_GETLK, unix.F_OFD_SETLK, unix.F_OFD_SETLKW:
		return sysFcntlLock(t, f, fd, cmd, arg)
	case unix.F_GETPIPE_SZ, unix.F_SETPIPE_SZ:
		if f.Kind != fdtab.KindPipe {
			return -abi.EBADF
		}
		return fs.PipeSize
	}
	return -abi.EINVAL
}

// FcntlFlags serves fcntl(2)'s descriptor flag commands (F_GETFD,
// F_SETFD, F_GETFL, F_SETFL) on a descriptor of any kind, and EBADF for
// a bad descriptor, reporting whether it did; the other commands are
// SysFcntl's. They read and write the descriptor table and the open file
// descriptions only: package kernel's fileTrap serves them under the
// files lock alone, held shared, beside other CPUs' calls (the runtime
// asks F_GETFL of the standard streams at its start, and sets
// O_NONBLOCK on each end of every os.Pipe), or, on a file's descriptor,
// without it (FcntlFlagsUnlocked) where it can. The descriptor's flags
// change by compare-and-swap of its flag word (fdtab.SetFlag), as
// FcntlFlagsUnlocked's do, so two flag calls on one descriptor on two
// CPUs lose neither change. Beside others (shared) an F_SETFL that
// changes a flag of the open file description (descSetFlags: dup shares
// it, and the writes beside read O_APPEND), or a socket's, answers
// fsys.RunAlone, having changed nothing, and runs again alone
// (setFileFlags).
// Context: trap, files lock held; does not allocate.
func FcntlFlags(fd, cmd int, arg uintptr, shared bool) (int64, bool) {
	// In one load: another flag call may swap the word beside; 0 (free)
	// out of range. d is looked at only for the kinds with a description.
	w, _ := fdtab.LoadFlags(fd)
	kind, d := w.Kind(), vfs.DescAt(w.Desc())
	if kind == fdtab.KindFree {
		return -abi.EBADF, true
	}
	switch cmd {
	case unix.F_GETFD:
		return int64(w&fdtab.FlagCloexec/fdtab.FlagCloexec) * unix.FD_CLOEXEC, true // the flag's bit, a shift
	case unix.F_SETFD:
		fdtab.SetFlag(fd, w, fdtab.FlagCloexec, arg&unix.FD_CLOEXEC != 0)
		return 0, true
	case unix.F_GETFL:
		fl := int64(unix.O_RDWR)
		switch {
		case vfs.HasDesc(kind):
			fl = int64(d.Flags) // its status flags (fsys.NewDescFD)
		case kind == fdtab.KindMemFile:
			fl = abi.OLargefile // a kernel file under /proc, opened for reading only (kfiles.Open), as Linux's
		}
		return fl | int64(w&fdtab.FlagNonblock/fdtab.FlagNonblock)*unix.O_NONBLOCK, true
	case unix.F_SETFL:
		if kind == fdtab.KindFile && d.Flags&unix.O_PATH != 0 {
			return -abi.EBADF, true // an O_PATH descriptor opened beside since PathHide looked: Linux's EBADF
		}
		if arg&unix.O_DIRECT != 0 && !directIO(kind, d) {
			return -abi.EINVAL, true // Linux: O_DIRECT only where the file can do it
		}
		if !setFileFlags(fd, w, d, arg, shared) {
			return fsys.RunAlone, true
		}
		return 0, true
	}
	return 0, false
}

// directIO reports whether F_SETFL may set O_DIRECT on a descriptor of
// kind and description d: a regular file's (the memory file system, as
// Linux's tmpfs) or a pipe's (Linux's packet mode, which gometal accepts
// without implementing it, as pipe2's O_DIRECT). Context: trap, files
// lock held; does not allocate.
func directIO(kind uint8, d *vfs.Desc) bool {
	return kind == fdtab.KindPipe || kind == fdtab.KindFile && vfs.Root.IsRegular(d.Ino)
}

// FcntlFlagsUnlocked is FcntlFlags for a descriptor of the root file
// system's files (fdtab.KindFile) without the files lock (fdtab's
// FlagWord): F_GETFD, F_SETFD, F_GETFL, and an F_SETFL that leaves the
// description's flags (descSetFlags) as they are (the Go runtime's
// O_NONBLOCK on and off around each open). It reports false for another command or kind, for a descriptor
// whose word changed while it looked (a close, an open or another flag
// call on it: the swap fails), for an F_SETFL that changes a flag of the
// description (descSetFlags), which dup shares, and for an F_SETFL on
// an O_PATH descriptor (Linux: EBADF, PathHide): the caller serves the
// call under the files lock (FcntlFlags). A program that closes and
// reopens a descriptor while another thread runs fcntl on it may have
// the call act on either file, as on Linux.
// Context: trap, no lock held; does not allocate.
func FcntlFlagsUnlocked(fd, cmd int, arg uintptr) (int64, bool) {
	w, ok := fdtab.LoadFlags(fd)
	if !ok || w.Kind() != fdtab.KindFile {
		return 0, false
	}
	switch cmd {
	case unix.F_GETFD:
		return int64(w&fdtab.FlagCloexec/fdtab.FlagCloexec) * unix.FD_CLOEXEC, true // the flag's bit, a shift
	case unix.F_SETFD:
		return 0, fdtab.SwapFlags(fd, w, w.Set(fdtab.FlagCloexec, arg&unix.FD_CLOEXEC != 0))
	case unix.F_GETFL:
		fl, ok := descFlags(fd, w)
		return int64(fl) | int64(w&fdtab.FlagNonblock/fdtab.FlagNonblock)*unix.O_NONBLOCK, ok
	case unix.F_SETFL:
		fl, ok := descFlags(fd, w)
		next := w.Set(fdtab.FlagNonblock, arg&unix.O_NONBLOCK != 0)
		if !ok || (fl^int(arg))&descSetFlags != 0 || fl&unix.O_PATH != 0 || !fdtab.SwapFlags(fd, w, next) {
			return 0, false
		}
		// The word, and with it Desc, was unchanged up to the swap; a
		// description closed and made again under the same index
		// meanwhile could differ in the description's flags or be an
		// O_PATH one: the flag is taken back, and the locked path
		// answers (sets both, or refuses with EBADF or EINVAL).
		if fl, _ = descFlags(fd, next); fl&unix.O_PATH != 0 || (fl^int(arg))&descSetFlags != 0 {
			fdtab.SwapFlags(fd, next, w)
			return 0, false
		}
		return 0, true
	}
	return 0, false
}

// descSetFlags are the flags F_SETFL changes on a file's description
// (setFileFlags), which dup shares: an F_SETFL that changes one takes the
// files lock.
const descSetFlags = unix.O_APPEND | unix.O_NOATIME | unix.O_DIRECT

// descFlags returns the status flags that F_GETFL shows (fsys.NewDescFD)
// of the description that fd's word w names, read
// without the files lock, and false if fd's word is no longer w (a
// close, an open or a flag call meanwhile: the locked path answers).
// Context: trap, no lock held; does not allocate. Not inlined: its
// copies at its callers cost the image more than the calls (issue 16's
// budget).
//
//go:noinline
func descFlags(fd int, w fdtab.FlagWord) (int, bool) {
	d := w.Desc()
	if d < 0 || int(d) >= len(vfs.Descs) {
		return 0, false
	}
	fl := vfs.Descs[d].Flags
	now, _ := fdtab.LoadFlags(fd)
	return int(fl), now == w
}

// setFileFlags is F_SETFL on descriptor fd, whose word was w and
// description d: O_APPEND and O_NOATIME on the open file description, and O_DIRECT on a regular file's (directIO
// said it may; a pipe's is accepted but not kept, as pipe2's), and
// O_NONBLOCK on the descriptor (on every descriptor of the socket for a
// socket, which dup shares). O_ASYNC is not kept: there is no SIGIO.
// Beside other CPUs' calls (shared) it changes nothing and reports
// false where the description's flags would change (dup shares them,
// and the writes beside read O_APPEND) and for a socket (the loop over
// its descriptors runs alone; the Go runtime opens its sockets
// non-blocking and sets no flag on them).
// Context: trap, files lock held; does not allocate.
func setFileFlags(fd int, w fdtab.FlagWord, d *vfs.Desc, arg uintptr, shared bool) bool {
	on, kind := arg&unix.O_NONBLOCK != 0, w.Kind()
	switch {
	case kind == fdtab.KindSocket || kind == fdtab.KindUnix:
		if shared {
			return false
		}
		sock := fdtab.Files[fd].Socket
		for o := range fdtab.Files { // alone: no socket descriptor changes, and no flag call on one runs without the lock
			if fdtab.Files[o].Kind == kind && fdtab.Files[o].Socket == sock {
				fdtab.Files[o].Nonblock = on
			}
		}
		return true
	case vfs.HasDesc(kind):
		keep := int32(descSetFlags)
		if kind != fdtab.KindFile {
			keep &^= unix.O_DIRECT // a pipe's is accepted, not kept
		}
		if (d.Flags^int32(arg))&keep != 0 {
			if shared {
				return false
			}
			d.Flags = d.Flags&^keep | int32(arg)&keep
		}
	}
	fdtab.SetFlag(fd, w, fdtab.FlagNonblock, on)
	return true
}

// SysEventfd is eventfd2(2): a new eventfd descriptor whose counter starts
// at initval, whose reads take 1 at a time with EFD_SEMAPHORE (File.Stream
// 1); other flags than EFD_CLOEXEC, EFD_NONBLOCK and EFD_SEMAPHORE
// get EINVAL. Context: trap, kernel lock held; does not allocate.
func SysEventfd(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	initval, flags := uint64(uint32(a[0])), int(a[1])
	if flags&^(unix.EFD_CLOEXEC|unix.EFD_NONBLOCK|unix.EFD_SEMAPHORE) != 0 {
		return -abi.EINVAL
	}
	fd := fdtab.Alloc(fdtab.KindEventfd, flags)
	if fd < 0 {
		return -abi.EMFILE
	}
	fdtab.Files[fd].Count = initval
	fdtab.Files[fd].Stream = uint8(flags & unix.EFD_SEMAPHORE)
	return int64(fd)
}

// SysFstat fills the struct stat at st. Context: trap, kernel lock held;
// does not allocate.
func SysFstat(fd int, st uintptr) int64 {
	f := fdtab.Get(fd)
	if f == nil {
		return -abi.EBADF
	}
	s, e := DescStat(f)
	if e != 0 {
		return e
	}
	return putStat(&s, st)
}

// putStat writes s to the program's struct stat at st.
// Context: trap, files lock held; does not allocate.
func putStat(s *fs.Stat, st uintptr) int64 {
	b, ok := vm.UserBytes(st, fs.StatSize, true)
	if !ok {
		return -abi.EFAULT
	}
	fs.PutStat(b, s)
	return 0
}

// DescStat describes an open descriptor as stat(2) does: its file's
// attributes for files, directories and devices; a character device for
// the console; a socket; a read-only regular file (with its size) for a
// kernel file; a FIFO for pipes and the rest. Context: trap, kernel lock
// held; does not allocate.
func DescStat(f *fdtab.File) (fs.Stat, int64) {
	if f.Kind == fdtab.KindFile || f.Kind == fdtab.KindDev || f.Kind == fdtab.KindProcFD {
		s, e := vfs.Root.Stat(vfs.DescOf(f).Ino)
		return s, -int64(e)
	}
	mode := uint32(unix.S_IFIFO | 0o600)
	var size int64
	switch f.Kind {
	case fdtab.KindConsole:
		mode = unix.S_IFCHR | 0o620
	case fdtab.KindSocket, fdtab.KindUnix, fdtab.KindNetlink:
		mode = unix.S_IFSOCK | 0o777
	case fdtab.KindMemFile:
		if s, e := vfs.Root.Stat(f.Ino); e == 0 { // the same identity as stat(2) of its path
			s.Size = int64(kfiles.Files[f.MemFile].N)
			return s, 0
		}
		mode = unix.S_IFREG | 0o444
		size = int64(kfiles.Files[f.MemFile].N)
	}
	now := vfs.RealtimeNs()
	return fs.Stat{Mode: mode, Nlink: 1, Size: size, Atime: now, Mtime: now, Ctime: now}, 0
}

// SysIoctl serves interrupt descriptors, the network control file and a
// socket's SIOCINQ; anything else is ENOTTY. Context: trap, kernel lock held; does not allocate.
func SysIoctl(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	fd, req, arg := int(a[0]), uint(a[1]), a[2]
	f := fdtab.Get(fd)
	if f == nil {
		return -abi.EBADF
	}
	if f.Kind == fdtab.KindIRQ {
		return devices.IRQIoctl(f, req, arg)
	}
	if f.Kind == fdtab.KindNetCtl {
		return socket.NetCtlIoctl(req, arg)
	}
	if f.Kind == fdtab.KindPipe && req == unix.SIOCINQ {
		if !vm.UserWrite32(arg, uint32(vfs.Pipes.Buffered(int(vfs.DescOf(f).Pipe)))) {
			return -abi.EFAULT
		}
		return 0
	}
	if f.Kind == fdtab.KindUnix && (req == unix.SIOCINQ || req == unix.SIOCOUTQ) {
		n := uint32(0)
		if req == unix.SIOCINQ {
			n = uint32(socket.Usocks().Buffered(f.Socket))
		}
		if !vm.UserWrite32(arg, n) {
			return -abi.EFAULT
		}
		return 0
	}
	if f.Kind == fdtab.KindSocket && req == unix.SIOCINQ {
		if !vm.UserWrite32(arg, socket.Sockets[f.Socket].Rx.N) {
			return -abi.EFAULT
		}
		return 0
	}
	return -abi.ENOTTY
}

// SysLseek seeks in a memory file; anything else is ESPIPE.
// Context: trap, kernel lock held; does not allocate.
func SysLseek(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	fd, off, whence := int(a[0]), int64(a[1]), int(a[2])
	f := fdtab.Get(fd)
	if f == nil {
		return -abi.EBADF
	}
	if f.Kind == fdtab.KindMemFile {
		return kfiles.Seek(f, off, whence)
	}
	if vfs.HasDesc(f.Kind) {
		return descSeek(f.Kind, vfs.DescOf(f), off, whence)
	}
	if f.Kind == fdtab.KindConsole {
		return -abi.ESPIPE
	}
	return -abi.ESPIPE
}

// SysReadv reads into the iovecs at iov: any number for a socket; for the
// other descriptors one read per iovec until one comes up short (only the
// first may wait). Context: trap, kernel lock held; does not allocate.
func SysReadv(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	fd, iov, cnt := int(a[0]), a[1], int(a[2])
	f := fdtab.Get(fd)
	if f == nil {
		return -abi.EBADF
	}
	if f.Kind == fdtab.KindSocket {
		return socket.SockReadv(t, f.Socket, iov, cnt)
	}
	return rwv(t, fd, iov, cnt, false)
}

// SysWritev writes the iovecs at iov. Context: trap, kernel lock held;
// does not allocate.
func SysWritev(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	fd, iov, cnt := int(a[0]), a[1], int(a[2])
	f := fdtab.Get(fd)
	if f == nil {
		return -abi.EBADF
	}
	if f.Kind == fdtab.KindSocket {
		return socket.SockWritev(t, f.Socket, iov, cnt)
	}
	return rwv(t, fd, iov, cnt, true)
}

// rwv reads or writes iovec by iovec through SysRead or SysWrite; after
// the first, a call that would wait or fails ends the transfer with what
// was done. Context: trap, kernel lock held; does not allocate.
func rwv(t sched.TID, fd int, iov uintptr, cnt int, write bool) int64 {
	if cnt < 0 || cnt > socket.MaxIovecs {
		return -abi.EINVAL
	}
	if vm.IovecsKernelState(iov, cnt, !write) {
		return -abi.EFAULT
	}
	var total int64
	for k := range cnt {
		base, ok1 := vm.UserRead64(iov + uintptr(k)*16)
		n, ok2 := vm.UserRead64(iov + uintptr(k)*16 + 8)
		if !ok1 || !ok2 {
			return -abi.EFAULT
		}
		if n == 0 {
			continue
		}
		if total > 0 && !readyFor(fd, write) {
			break
		}
		var r int64
		if write {
			r = SysWrite(t, fd, uintptr(base), uintptr(n))
		} else {
			r = SysRead(t, fd, uintptr(base), uintptr(n))
		}
		if r == thread.Blocked || r < 0 {
			if total > 0 {
				break
			}
			return r
		}
		total += r
		if uint64(r) < n {
			break
		}
	}
	return total
}

// readyFor reports whether a read (or write) of fd would not wait.
// Context: trap, kernel lock held; does not allocate.
func readyFor(fd int, write bool) bool {
	switch fdtab.Get(fd).Kind {
	case fdtab.KindFile, fdtab.KindDev, fdtab.KindMemFile:
		return true
	case fdtab.KindConsole:
		if write {
			qi := console.VconQueueOf(fdtab.Get(fd).Stream)
			return qi < 0 || console.TxRoom(qi)
		}
		return console.Readable()
	}
	if write {
		return readiness(fd)&(unix.EPOLLOUT|unix.EPOLLERR) != 0
	}
	return readiness(fd)&(unix.EPOLLIN|unix.EPOLLHUP) != 0
}
