package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// The file-descriptor table. Descriptors 0, 1 and 2 are the console; the
// program can make eventfds, epoll instances and sockets, and open the
// kernel's files and devices.
const maxFDs = 1024

const (
	fdFree uint8 = iota
	fdConsole
	fdEventfd
	fdEpoll
	fdMemFile // a read-only kernel file (memfile.go)
	fdDevMem  // /dev/mem (devmem.go)
	fdIRQ     // /dev/irq (irqfd.go)
	fdSocket  // a socket (socket.go)
	fdNetCtl  // /dev/netctl, the network stack's side (netctl.go)
	fdFile    // a file or directory of the root file system (files.go)
	fdPipe    // one end of a pipe
	fdDev     // a memory device: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom
	fdProcFD  // the directory /proc/self/fd
	fdUnix    // a Unix-domain socket (unixsock.go)
	fdNetlink // a route netlink socket (netlink.go)
)

type file struct {
	kind     uint8
	cloexec  bool
	nonblock bool
	count    uint64    // eventfd counter
	seq      uint64    // bumped on every readiness change, for edge triggering
	epoll    int       // index in epolls for fdEpoll
	memFile  int       // index in memFiles for fdMemFile
	vector   uint8     // fdIRQ: its interrupt vector
	reader   sched.TID // fdIRQ: a thread blocked reading it
	socket   int       // fdSocket: slot in sockets; fdUnix: slot in usocks
	desc     int32     // fdFile, fdPipe, fdDev, fdProcFD: the open file description
	ino      fs.Ino    // fdMemFile: the file's inode (for fstat)
	stream   uint8     // fdConsole: 0 stdin, 1 stdout, 2 stderr (its virtio console port)
}

// files is the descriptor table. It starts zero (in .bss, not 72 KiB of
// the image file); openStdio gives it the console's 0, 1 and 2 at boot.
var files [maxFDs]file

// openStdio opens descriptors 0, 1 and 2 on the console's three streams.
// Context: boot, before startProgram; does not allocate.
func openStdio() {
	for fd := range 3 {
		files[fd] = file{kind: fdConsole, stream: uint8(fd)}
	}
}

func getFile(fd int) *file {
	if fd < 0 || fd >= maxFDs || files[fd].kind == fdFree {
		return nil
	}
	return &files[fd]
}

// allocFD returns the lowest free descriptor, or -1.
// Context: trap, kernel lock held; does not allocate. Not inlined: every
// call that opens a descriptor uses it, cheaper as one copy
// (docs/performance.md, "Image size").
//
//go:noinline
func allocFD(kind uint8, flags int) int {
	for fd := range int(min(uint64(maxFDs), nofileLimit)) {
		if files[fd].kind == fdFree {
			files[fd] = file{kind: kind, cloexec: flags&unix.O_CLOEXEC != 0, nonblock: flags&unix.O_NONBLOCK != 0, reader: noThread}
			return fd
		}
	}
	return -1
}

// sysWrite writes to the console or an eventfd. Context: trap, kernel
// lock held (as every sys* handler: doSyscall calls them).
func sysWrite(t sched.TID, fd int, buf, n uintptr) int64 {
	f := getFile(fd)
	if f == nil {
		return -abi.EBADF
	}
	switch f.kind {
	case fdFile, fdPipe, fdDev, fdProcFD:
		return descWrite(t, f, buf, n, -1)
	case fdSocket:
		io := sockIO{t: t, nr: unix.SYS_WRITE, buf: buf, n: n}
		return sockSend(f.socket, &io, nil)
	case fdConsole:
		if qi := vconQueueOf(f.stream); qi >= 0 {
			return vconWrite(t, qi, f.nonblock, buf, n)
		}
		b, ok := vm.UserBytes(buf, n, false)
		if !ok {
			return -abi.EFAULT
		}
		klog.ConsoleWrite(b)
		return int64(n)
	case fdEventfd:
		if n < 8 {
			return -abi.EINVAL
		}
		v, ok := vm.UserRead64(buf)
		if !ok {
			return -abi.EFAULT
		}
		if v == 1<<64-1 {
			return -abi.EINVAL
		}
		if f.count+v < f.count || f.count+v == 1<<64-1 {
			return -abi.EAGAIN // would overflow; a blocking write would wait
		}
		f.count += v
		f.seq++
		epollNotify(fd)
		return 8
	}
	return -abi.EINVAL
}

// sysRead reads from a socket, the network control file, the console, a
// memory file, an interrupt descriptor or an eventfd; console and
// interrupt reads may block t. Context: trap, kernel lock held; does not allocate.
func sysRead(t sched.TID, fd int, buf, n uintptr) int64 {
	f := getFile(fd)
	if f == nil {
		return -abi.EBADF
	}
	switch f.kind {
	case fdFile, fdPipe, fdDev, fdProcFD:
		return descRead(t, f, buf, n, -1)
	case fdSocket:
		io := sockIO{t: t, nr: unix.SYS_READ, buf: buf, n: n}
		var from sockAddr
		var trunc bool
		return sockRecv(f.socket, &io, &from, &trunc)
	case fdNetCtl:
		return netCtlRead(buf, n)
	case fdConsole:
		return consoleRead(t, f, buf, n)
	case fdMemFile:
		return memFileRead(f, buf, n)
	case fdIRQ:
		return irqRead(t, f, buf, n)
	case fdEventfd:
		if n < 8 {
			return -abi.EINVAL
		}
		if f.count == 0 {
			return -abi.EAGAIN // the runtime's eventfd is non-blocking
		}
		if !vm.UserWrite64(buf, f.count) {
			return -abi.EFAULT
		}
		f.count = 0
		f.seq++
		return 8
	}
	return -abi.EINVAL
}

// sysClose releases fd and whatever it holds (an epoll instance, a memory
// file, an interrupt line, a socket, the network control file).
// Context: trap, kernel lock held; does not allocate.
func sysClose(fd int) int64 {
	f := getFile(fd)
	if f == nil {
		return -abi.EBADF
	}
	if f.kind == fdEpoll {
		epolls[f.epoll].used = false
	}
	if f.kind == fdMemFile {
		memFiles[f.memFile].used = false
	}
	if f.kind == fdIRQ {
		closeIRQ(f)
	}
	epollForgetFD(fd)
	if f.kind == fdSocket {
		releaseSocketFD(fd, f.socket)
	}
	if f.kind == fdUnix {
		unixRelease(f.socket)
	}
	if f.kind == fdNetlink {
		nlSocks[f.socket].used = false
	}
	if f.kind == fdNetCtl {
		closeNetCtl()
	}
	if hasDesc(f.kind) {
		closeDesc(f)
	}
	*f = file{}
	return 0
}

// sysFcntl duplicates descriptors, gets and sets the close-on-exec,
// append and non-blocking flags, takes record locks and reports a pipe's
// size. Context: trap, kernel lock held; does not allocate.
func sysFcntl(t sched.TID, fd, cmd int, arg uintptr) int64 {
	f := getFile(fd)
	if f == nil {
		return -abi.EBADF
	}
	switch cmd {
	case unix.F_DUPFD, unix.F_DUPFD_CLOEXEC:
		return sysDupFrom(fd, int(arg), cmd == unix.F_DUPFD_CLOEXEC)
	case unix.F_GETFD:
		if f.cloexec {
			return unix.FD_CLOEXEC
		}
		return 0
	case unix.F_SETFD:
		f.cloexec = arg&unix.FD_CLOEXEC != 0
		return 0
	case unix.F_GETFL:
		fl := int64(unix.O_RDWR)
		if hasDesc(f.kind) {
			fl = int64(descOf(f).flags & (unix.O_ACCMODE | unix.O_APPEND | unix.O_PATH))
		}
		if f.nonblock {
			fl |= unix.O_NONBLOCK
		}
		return fl
	case unix.F_SETFL:
		f.nonblock = arg&unix.O_NONBLOCK != 0
		if f.kind == fdSocket || f.kind == fdUnix { // O_NONBLOCK belongs to the socket, which dup shares
			for o := range files {
				if files[o].kind == f.kind && files[o].socket == f.socket {
					files[o].nonblock = f.nonblock
				}
			}
		}
		if hasDesc(f.kind) {
			d := descOf(f)
			d.flags = d.flags&^unix.O_APPEND | int(arg)&unix.O_APPEND
		}
		return 0
	case unix.F_GETLK, unix.F_SETLK, unix.F_SETLKW, unix.F_OFD_GETLK, unix.F_OFD_SETLK, unix.F_OFD_SETLKW:
		return sysFcntlLock(t, f, fd, cmd, arg)
	case unix.F_GETPIPE_SZ, unix.F_SETPIPE_SZ:
		if f.kind != fdPipe {
			return -abi.EBADF
		}
		return fs.PipeSize
	}
	return -abi.EINVAL
}

// sysEventfd is eventfd2(2): a new eventfd descriptor whose counter starts
// at initval; other flags than EFD_CLOEXEC, EFD_NONBLOCK and EFD_SEMAPHORE
// get EINVAL. Context: trap, kernel lock held; does not allocate.
func sysEventfd(initval uint64, flags int) int64 {
	if flags&^(unix.EFD_CLOEXEC|unix.EFD_NONBLOCK|unix.EFD_SEMAPHORE) != 0 {
		return -abi.EINVAL
	}
	fd := allocFD(fdEventfd, flags)
	if fd < 0 {
		return -abi.EMFILE
	}
	files[fd].count = initval
	return int64(fd)
}

// sysFstat fills the struct stat at st. Context: trap, kernel lock held;
// does not allocate.
func sysFstat(fd int, st uintptr) int64 {
	f := getFile(fd)
	if f == nil {
		return -abi.EBADF
	}
	s, e := descStat(f)
	if e != 0 {
		return e
	}
	b, ok := vm.UserBytes(st, fs.StatSize, true)
	if !ok {
		return -abi.EFAULT
	}
	fs.PutStat(b, &s)
	return 0
}

// descStat describes an open descriptor as stat(2) does: its file's
// attributes for files, directories and devices; a character device for
// the console; a socket; a read-only regular file (with its size) for a
// kernel file; a FIFO for pipes and the rest. Context: trap, kernel lock
// held; does not allocate.
func descStat(f *file) (fs.Stat, int64) {
	if f.kind == fdFile || f.kind == fdDev || f.kind == fdProcFD {
		s, e := rootfs.Stat(descOf(f).ino)
		return s, errno(e)
	}
	mode := uint32(unix.S_IFIFO | 0o600)
	var size int64
	switch f.kind {
	case fdConsole:
		mode = unix.S_IFCHR | 0o620
	case fdSocket, fdUnix, fdNetlink:
		mode = unix.S_IFSOCK | 0o777
	case fdMemFile:
		if s, e := rootfs.Stat(f.ino); e == 0 { // the same identity as stat(2) of its path
			s.Size = int64(memFiles[f.memFile].n)
			return s, 0
		}
		mode = unix.S_IFREG | 0o444
		size = int64(memFiles[f.memFile].n)
	}
	now := realtimeNs()
	return fs.Stat{Mode: mode, Nlink: 1, Size: size, Atime: now, Mtime: now, Ctime: now}, 0
}

// sysIoctl serves interrupt descriptors, the network control file and a
// socket's SIOCINQ; anything else is ENOTTY. Context: trap, kernel lock held; does not allocate.
func sysIoctl(fd int, req uint, arg uintptr) int64 {
	f := getFile(fd)
	if f == nil {
		return -abi.EBADF
	}
	if f.kind == fdIRQ {
		return irqIoctl(f, req, arg)
	}
	if f.kind == fdNetCtl {
		return netCtlIoctl(req, arg)
	}
	if f.kind == fdPipe && req == unix.SIOCINQ {
		if !vm.UserWrite32(arg, uint32(pipes.Buffered(int(descOf(f).pipe)))) {
			return -abi.EFAULT
		}
		return 0
	}
	if f.kind == fdUnix && (req == unix.SIOCINQ || req == unix.SIOCOUTQ) {
		n := uint32(0)
		if req == unix.SIOCINQ {
			n = uint32(usocks().Buffered(f.socket))
		}
		if !vm.UserWrite32(arg, n) {
			return -abi.EFAULT
		}
		return 0
	}
	if f.kind == fdSocket && req == unix.SIOCINQ {
		if !vm.UserWrite32(arg, sockets[f.socket].rx.n) {
			return -abi.EFAULT
		}
		return 0
	}
	return -abi.ENOTTY
}

// sysLseek seeks in a memory file; anything else is ESPIPE.
// Context: trap, kernel lock held; does not allocate.
func sysLseek(fd int, off int64, whence int) int64 {
	f := getFile(fd)
	if f == nil {
		return -abi.EBADF
	}
	if f.kind == fdMemFile {
		return memFileSeek(f, off, whence)
	}
	if hasDesc(f.kind) {
		return descSeek(f, off, whence)
	}
	if f.kind == fdConsole {
		return -abi.ESPIPE
	}
	return -abi.ESPIPE
}

// sysReadv reads into the iovecs at iov: any number for a socket; for the
// other descriptors one read per iovec until one comes up short (only the
// first may wait). Context: trap, kernel lock held; does not allocate.
func sysReadv(t sched.TID, fd int, iov uintptr, cnt int) int64 {
	f := getFile(fd)
	if f == nil {
		return -abi.EBADF
	}
	if f.kind == fdSocket {
		return sockReadv(t, f.socket, iov, cnt)
	}
	return rwv(t, fd, iov, cnt, false)
}

// sysWritev writes the iovecs at iov. Context: trap, kernel lock held;
// does not allocate.
func sysWritev(t sched.TID, fd int, iov uintptr, cnt int) int64 {
	f := getFile(fd)
	if f == nil {
		return -abi.EBADF
	}
	if f.kind == fdSocket {
		return sockWritev(t, f.socket, iov, cnt)
	}
	return rwv(t, fd, iov, cnt, true)
}

// rwv reads or writes iovec by iovec through sysRead or sysWrite; after
// the first, a call that would wait or fails ends the transfer with what
// was done. Context: trap, kernel lock held; does not allocate.
func rwv(t sched.TID, fd int, iov uintptr, cnt int, write bool) int64 {
	if cnt < 0 || cnt > maxIovecs {
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
			r = sysWrite(t, fd, uintptr(base), uintptr(n))
		} else {
			r = sysRead(t, fd, uintptr(base), uintptr(n))
		}
		if r == blocked || r < 0 {
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
	switch getFile(fd).kind {
	case fdFile, fdDev, fdMemFile:
		return true
	case fdConsole:
		if write {
			qi := vconQueueOf(getFile(fd).stream)
			return qi < 0 || !vconQ[qi].Full()
		}
		return consoleReadable()
	}
	if write {
		return readiness(fd)&(unix.EPOLLOUT|unix.EPOLLERR) != 0
	}
	return readiness(fd)&(unix.EPOLLIN|unix.EPOLLHUP) != 0
}
