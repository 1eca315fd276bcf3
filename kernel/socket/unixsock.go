package socket

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Unix-domain sockets: the glue between the program's socket calls on
// AF_UNIX descriptors and the socket table in kernel/fs (usocks), which
// holds the logic. Names in the file system are socket inodes made by
// bind; a descriptor (kind fdtab.KindUnix) holds one reference to its socket, as
// does a message carrying it (SCM_RIGHTS). Waiting uses the wait keys of
// files.go: a reader waits on its socket's key, a writer on the key of
// the socket it sends to. Context (every function here): trap, kernel
// lock held; none allocates.

// The socket table and the staging buffer live in frames taken the first
// time a program needs them (unixTables), not in the image's static data:
// together about 750 KiB that a program without Unix sockets never pays
// for (hello's memory floor, issue 16).
var usocksAddr, unixBufAddr uintptr // 0 until unixTables

// UnixTables takes the Unix-domain socket table and the staging buffer
// from contiguous frames, charged to the commit, unless done already. It
// reports false when memory is short (the call then fails with ENOMEM).
// Context: trap, kernel lock held; does not allocate.
func UnixTables() bool {
	if usocksAddr != 0 {
		return true
	}
	tablePages := (unixTableBytes + mm.PageSize - 1) / mm.PageSize
	bufPages := (uint64(fs.UnixMaxDgram) + mm.PageSize - 1) / mm.PageSize
	n := uint64(tablePages) + bufPages
	if !vm.CommitFits(n*mm.PageSize, 0) {
		return false
	}
	pa := vm.Frames.AllocContiguous(n)
	if pa == 0 {
		return false
	}
	vm.Commit(n * mm.PageSize)
	usocksAddr = vm.PhysToVirt(pa)
	unixBufAddr = usocksAddr + uintptr(tablePages)*mm.PageSize
	return true
}

// Usocks is the table of Unix-domain sockets; unixTables must have
// succeeded (every caller holds a Unix socket or has just made sure).
// Context: trap, kernel lock held.
// Not inlined: its copies at some sixty callers cost the image 480 bytes (issue 16's budget).
//
//go:noinline
func Usocks() *fs.UnixSockets { return (*fs.UnixSockets)(ptr(usocksAddr)) }

// UnixBuf carries one call's bytes between the program's buffers and a
// socket's queue or a file (the kernel lock serialises its users).
// Context: trap, kernel lock held.
// Not inlined: its copies cost the image 288 bytes (issue 16's budget).
//
//go:noinline
func UnixBuf() []byte { return unsafeSlice(unixBufAddr, fs.UnixMaxDgram) }

// UnixKey is the wait key of Unix socket i. Context: any; does not allocate.
func UnixKey(i int) uintptr { return vfs.UnixKeyBase + uintptr(i)*8 }

// UnixCall reports whether system call nr with first argument a0 is a
// socket call on a Unix-domain socket (or makes one).
// Context: trap, kernel lock held; does not allocate.
func UnixCall(nr uint64, a0 uintptr) bool {
	switch nr {
	case unix.SYS_SOCKET, unix.SYS_SOCKETPAIR:
		return a0 == unix.AF_UNIX
	case unix.SYS_READ, unix.SYS_WRITE, unix.SYS_READV, unix.SYS_WRITEV,
		unix.SYS_BIND, unix.SYS_LISTEN, unix.SYS_CONNECT, unix.SYS_ACCEPT4,
		unix.SYS_SHUTDOWN, unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME, unix.SYS_SETSOCKOPT,
		unix.SYS_GETSOCKOPT, unix.SYS_SENDTO, unix.SYS_RECVFROM, unix.SYS_SENDMSG, unix.SYS_RECVMSG:
		f := fdtab.Get(int(a0))
		return f != nil && f.Kind == fdtab.KindUnix
	}
	return false
}

// UnixSyscall runs socket call nr on a Unix-domain socket. connect(2):
// a datagram socket takes its peer (AF_UNSPEC drops it); a stream or
// seqpacket socket connects at once to a listener, waiting (or EAGAIN)
// while the listener's queue is full. accept4(2) takes a listening
// socket's next connection.
// Context: trap, kernel lock held; does not allocate.
func UnixSyscall(t sched.TID, nr uint64, a0, a1, a2, a3, a4, a5 uintptr) int64 {
	fd := int(a0)
	i := fdtab.Files[fd&(fdtab.MaxFDs-1)].Socket
	io := SockIO{T: t, Nr: nr, Buf: a1, N: a2} // read, write; the others' below
	// sendto's name, recvfrom's (its length's address in Namelen), the
	// header of sendmsg and recvmsg
	var m Msghdr
	switch nr {
	case unix.SYS_READV, unix.SYS_WRITEV:
		io = SockIO{T: t, Nr: nr, Iov: a1, Iovcnt: int(a2)}
	case unix.SYS_RECVFROM, unix.SYS_SENDTO:
		io.Flags, m.Name, m.Namelen = int(a3), a4, a5
	case unix.SYS_RECVMSG, unix.SYS_SENDMSG:
		io = SockIO{T: t, Nr: nr, Flags: int(a2)}
		var ok bool
		if m, ok = ReadMsghdr(a1, &io); !ok {
			return -abi.EFAULT
		}
	}
	switch nr {
	case unix.SYS_SOCKET, unix.SYS_SOCKETPAIR:
		return unixSocket(int(a1), int(a2), nr == unix.SYS_SOCKETPAIR, a3)
	case unix.SYS_READ, unix.SYS_RECVFROM, unix.SYS_READV:
		return unixRecv(fd, i, &io, 0, &m)
	case unix.SYS_RECVMSG:
		return unixRecv(fd, i, &io, a1, &m)
	case unix.SYS_WRITE, unix.SYS_WRITEV, unix.SYS_SENDTO, unix.SYS_SENDMSG:
		return unixSend(fd, i, &io, &m)
	case unix.SYS_BIND:
		return unixBind(i, a1, a2)
	case unix.SYS_LISTEN:
		e := Usocks().Listen(i, int(int32(a1)))
		UnixNotify(i)
		return -int64(e)
	case unix.SYS_CONNECT:
		dgram := Usocks().Type(i) == unix.SOCK_DGRAM
		if dgram && a2 >= 2 {
			if fam, ok := vm.UserBytes(a1, 2, false); ok && fam[0] == unix.AF_UNSPEC && fam[1] == 0 {
				Usocks().Disconnect(i)
				UnixNotify(i)
				return 0
			}
		}
		j, e := unixLookup(i, a1, a2)
		if e != 0 {
			return e
		}
		if Usocks().Passcred(i) {
			Usocks().Autobind(i)
		}
		if dgram {
			e := Usocks().ConnectDgram(i, j)
			UnixNotify(i)
			return -int64(e)
		}
		_, ce := Usocks().Connect(i, j)
		if ce == unix.EAGAIN && !fdtab.Files[fd].Nonblock {
			return vfs.WaitKey(t, UnixKey(j))
		}
		if ce != 0 {
			return -int64(ce)
		}
		UnixNotify(j)
		UnixNotify(i)
		return 0
	case unix.SYS_ACCEPT4: // accept too (legacyCalls)
		flags := int(a3)
		if flags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
			return -abi.EINVAL
		}
		nfd := fdtab.Alloc(fdtab.KindUnix, OpenFlags(flags))
		if nfd < 0 {
			return -abi.EMFILE
		}
		c, e := Usocks().Accept(i)
		if e != 0 {
			fdtab.Files[nfd] = fdtab.File{}
			if e == unix.EAGAIN && !fdtab.Files[fd].Nonblock {
				return vfs.WaitKey(t, UnixKey(i))
			}
			return -int64(e)
		}
		fdtab.Files[nfd].Socket = c
		UnixNotify(i)
		pn, _ := Usocks().PeerName(c)
		if r := writeUnixSockaddr(pn, a1, a2, 2); r != 0 {
			// close(2) of the new descriptor, which no epoll instance can
			// watch yet: what sysClose does for a Unix socket's
			UnixRelease(c)
			fdtab.Files[nfd] = fdtab.File{}
			return r
		}
		return int64(nfd)
	case unix.SYS_SHUTDOWN:
		e := Usocks().Shutdown(i, int(a1))
		unixNotifyAround(i)
		return -int64(e)
	case unix.SYS_GETSOCKNAME:
		return writeUnixSockaddr(Usocks().Name(i), a1, a2, 2)
	case unix.SYS_GETPEERNAME:
		a, e := Usocks().PeerName(i)
		if e != 0 {
			return -int64(e)
		}
		return writeUnixSockaddr(a, a1, a2, 2)
	case unix.SYS_SETSOCKOPT, unix.SYS_GETSOCKOPT:
		return unixSockopt(i, nr == unix.SYS_SETSOCKOPT, int(a1), int(a2), a3, a4)
	}
	return -abi.ENOSYS
}

// unixSocket is socket(AF_UNIX, typ, proto), or with pair
// socketpair(AF_UNIX, typ, proto, sv). SOCK_RAW makes a datagram
// socket, as on Linux.
// Context: trap, kernel lock held; does not allocate.
func unixSocket(typ, proto int, pair bool, sv uintptr) int64 {
	if typ&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC|0xf) != 0 {
		return -abi.EINVAL
	}
	if proto != 0 && proto != unix.AF_UNIX {
		return -abi.EPROTONOSUPPORT
	}
	st := typ & 0xf
	if st > unix.SOCK_PACKET {
		return -abi.EINVAL // beyond SOCK_MAX
	}
	if st == unix.SOCK_RAW {
		st = unix.SOCK_DGRAM
	}
	if !UnixTables() {
		return -abi.ENOMEM
	}
	if !pair {
		i, fe := Usocks().New(st)
		if fe != 0 {
			return -int64(fe)
		}
		fd := fdtab.Alloc(fdtab.KindUnix, OpenFlags(typ))
		if fd < 0 {
			Usocks().Unref(i)
			unixFinishDying(0)
			return -abi.EMFILE
		}
		fdtab.Files[fd].Socket = i
		return int64(fd)
	}
	if !vm.UserRange(sv, 8, true) {
		return -abi.EFAULT
	}
	a, b, fe := Usocks().Pair(st)
	if fe != 0 {
		return -int64(fe)
	}
	fa := fdtab.Alloc(fdtab.KindUnix, OpenFlags(typ))
	fb := -1
	if fa >= 0 {
		fdtab.Files[fa].Socket = a
		fb = fdtab.Alloc(fdtab.KindUnix, OpenFlags(typ))
	}
	if fb < 0 {
		if fa >= 0 {
			fdtab.Files[fa] = fdtab.File{}
		}
		Usocks().Unref(a)
		Usocks().Unref(b)
		unixFinishDying(0)
		return -abi.EMFILE
	}
	fdtab.Files[fb].Socket = b
	vm.UserWrite32(sv, uint32(fa))
	vm.UserWrite32(sv+4, uint32(fb))
	return 0
}

// readUnixSockaddr copies and parses the sockaddr_un at (addr, n) into
// a, which the caller zeroed (fs.ParseUnixAddr).
// Context: trap, kernel lock held; does not allocate.
func readUnixSockaddr(a *fs.UnixAddr, addr, n uintptr) (bool, int64) {
	if n < 2 || n > 1<<20 {
		return false, -abi.EINVAL
	}
	b, ok := vm.UserBytes(addr, min(n, 2+fs.UnixPathMax), false)
	if !ok {
		return false, -abi.EFAULT
	}
	auto, e := fs.ParseUnixAddr(a, b, int(n))
	return auto, -int64(e)
}

// writeUnixSockaddr writes a as a sockaddr_un to (addr, *lenAddr) as
// Linux does: truncated to the buffer, the full length stored back;
// unnamedLen is the length reported for no name (2 for the socket
// calls, 0 for a received message's sender).
// Context: trap, kernel lock held; does not allocate.
func writeUnixSockaddr(a *fs.UnixAddr, addr, lenAddr uintptr, unnamedLen int) int64 {
	if addr == 0 || lenAddr == 0 {
		return 0
	}
	full := a.SockaddrLen()
	if a.N == 0 {
		full = unnamedLen
	}
	var sa [2 + fs.UnixPathMax + 1]byte
	sa[0] = unix.AF_UNIX
	copy(sa[2:], a.Bytes())
	return PutSockaddr(sa[:full], addr, lenAddr)
}

// unixBind is bind(2): a path makes a socket inode (EADDRINUSE if the
// path exists), an abstract name is checked against the others, the
// family alone picks an abstract name.
// Context: trap, kernel lock held; does not allocate.
func unixBind(i int, addr, n uintptr) int64 {
	var a fs.UnixAddr
	auto, e := readUnixSockaddr(&a, addr, n)
	if e != 0 {
		return e
	}
	if auto {
		return -int64(Usocks().Autobind(i))
	}
	if a.Abstract() {
		return -int64(Usocks().Bind(i, &a, 0))
	}
	var p fs.Path
	p.N = copy(p.Buf[:], a.Bytes())
	start := fs.Ino(atomic.LoadInt32(&vfs.Cwd))
	m := vfs.Mem()
	found, fe := vfs.Root.ResolveEntry(&m, start, &p)
	switch {
	case fe != 0:
		vfs.Done(&m)
		return -int64(fe)
	case found.Ino != 0:
		vfs.Done(&m)
		return -abi.EADDRINUSE
	case found.Slash:
		vfs.Done(&m)
		return -abi.ENOENT
	}
	ino, fe := vfs.Root.Create(&m, found.Dir, found.Name, unix.S_IFSOCK|0o777&^atomic.LoadUint32(&vfs.Umask), 0)
	if fe == 0 {
		if be := Usocks().Bind(i, &a, ino); be != 0 {
			vfs.Root.Unlink(&m, found.Dir, found.Name)
			fe = be
		} else {
			vfs.Root.Hold(ino)
		}
	}
	vfs.Done(&m)
	return -int64(fe)
}
