package socket

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Unix-domain sockets: connecting, accepting, sending and receiving
// (with SCM_RIGHTS), options, readiness notifications and closing.
// Context (every function here): trap, kernel lock held; none allocates.

const cmsgHdrSize = 16 // sizeof(struct cmsghdr) on linux/amd64

// unixLookup finds the socket that the name at (addr, n) reaches for a
// connect or send from i: the errno of a name that does not parse
// (readUnixSockaddr), EINVAL for the family alone (no name), ENOENT (or
// another path error) when a path does not resolve,
// ECONNREFUSED when it names no listening socket.
// Context: trap, kernel lock held; does not allocate.
func unixLookup(i int, addr, n uintptr) (int, int64) {
	var a fs.UnixAddr
	auto, e := readUnixSockaddr(&a, addr, n)
	if e != 0 {
		return -1, e
	}
	if auto {
		return -1, -abi.EINVAL
	}
	var ino fs.Ino
	if !a.Abstract() {
		var p fs.Path
		p.N = copy(p.Buf[:], a.Bytes())
		m := vfs.Mem()
		found, fe := vfs.Root.Resolve(&m, fs.Ino(atomic.LoadInt32(&vfs.Cwd)), &p, true)
		vfs.Done(&m)
		switch {
		case fe != 0:
			return -1, -int64(fe)
		case found.Ino == 0:
			return -1, -abi.ENOENT
		case vfs.Root.Mode(found.Ino)&unix.S_IFMT != unix.S_IFSOCK:
			return -1, -int64(unix.ECONNREFUSED)
		}
		ino = found.Ino
	}
	j, fe := Usocks().Lookup(Usocks().Type(i), &a, ino)
	return j, -int64(fe)
}

// unixConnect is connect(2): a datagram socket takes its peer (AF_UNSPEC
// drops it); a stream or seqpacket socket connects at once to a
// listener, waiting (or EAGAIN) while the listener's queue is full.
// Context: trap, kernel lock held; does not allocate.
func unixConnect(t sched.TID, fd, i int, addr, n uintptr) int64 {
	dgram := Usocks().Type(i) == unix.SOCK_DGRAM
	if dgram && n >= 2 {
		if fam, ok := vm.UserBytes(addr, 2, false); ok && fam[0] == unix.AF_UNSPEC && fam[1] == 0 {
			Usocks().Disconnect(i)
			UnixNotify(i)
			return 0
		}
	}
	j, e := unixLookup(i, addr, n)
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
}

// unixAccept is accept4(2) on a listening Unix socket.
// Context: trap, kernel lock held; does not allocate.
func unixAccept(t sched.TID, fd, i int, addr, lenAddr uintptr, flags int) int64 {
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
	if r := writeUnixSockaddr(pn, addr, lenAddr, 2); r != 0 {
		// close(2) of the new descriptor, which no epoll instance can
		// watch yet: what sysClose does for a Unix socket's
		UnixRelease(c)
		fdtab.Files[nfd] = fdtab.File{}
		return r
	}
	return int64(nfd)
}

// unixNonblocking reports whether io on descriptor fd must not wait.
// Context: trap, kernel lock held; does not allocate.
func unixNonblocking(fd int, io *SockIO) bool {
	return io.Flags&unix.MSG_DONTWAIT != 0 || fdtab.Files[fd].Nonblock
}

// unixSend sends io's bytes (to m's name for an unconnected datagram
// socket) with the descriptors of m's control data: write, writev,
// sendto (a name alone) and sendmsg.
// Context: trap, kernel lock held; does not allocate.
func unixSend(fd, i int, io *SockIO, m *Msghdr) int64 {
	if e := io.Measure(); e != 0 {
		return e
	}
	typ := Usocks().Type(i)
	to, e := unixSendTarget(i, typ, m.Name, m.Namelen)
	if e != 0 {
		return e
	}
	if typ != unix.SOCK_STREAM && io.Total > fs.UnixMaxDgram {
		return -abi.EMSGSIZE
	}
	if typ == unix.SOCK_DGRAM && Usocks().Passcred(i) {
		Usocks().Autobind(i)
	}
	rights, e := unixTakeRights(m.Control, m.Controllen)
	if e != 0 {
		return e
	}
	done, used, fe := unixPut(i, to, io, rights)
	if !used && rights != 0 {
		unixDropRights(rights)
	}
	dest := to
	if dest < 0 {
		dest = Usocks().Peer(i)
	}
	if done > 0 || fe == 0 {
		if dest >= 0 {
			UnixNotify(dest)
		}
		return done
	}
	if fe == unix.EAGAIN && !unixNonblocking(fd, io) {
		if dest < 0 {
			dest = i
		}
		return vfs.WaitKey(io.T, UnixKey(dest))
	}
	if fe == unix.EPIPE && typ == unix.SOCK_STREAM && io.Flags&unix.MSG_NOSIGNAL == 0 {
		thread.SendSignal(percpu.This(), io.T, int(unix.SIGPIPE), abi.SIUser, 1, 0) // as Linux's unix_stream_sendmsg
	}
	return -int64(fe)
}

// unixSendTarget is where a send with the name at (addr, alen) goes: -1
// for the peer. A stream socket refuses a name (EISCONN when connected,
// EOPNOTSUPP otherwise); a seqpacket socket ignores it.
// Context: trap, kernel lock held; does not allocate.
func unixSendTarget(i, typ int, addr, alen uintptr) (int, int64) {
	if addr == 0 || alen == 0 || typ == unix.SOCK_SEQPACKET {
		return -1, 0
	}
	if typ == unix.SOCK_STREAM {
		if _, e := Usocks().PeerName(i); e == 0 {
			return -1, -abi.EISCONN
		}
		return -1, -abi.EOPNOTSUPP
	}
	return unixLookup(i, addr, alen)
}

// unixPut moves io's bytes into the queue of the receiving socket, in
// pieces of unixBuf for a stream; rights go with the first. It returns
// the bytes queued, whether the rights were queued, and the error that
// stopped it.
// Context: trap, kernel lock held; does not allocate.
func unixPut(i, to int, io *SockIO, rights int) (int64, bool, fs.Errno) {
	var done uintptr
	used := false
	for {
		k, ok := io.Gather(done, UnixBuf()[:min(len(UnixBuf()), Usocks().Room(i))])
		if !ok {
			return int64(done), used, unix.EFAULT
		}
		m := vfs.Mem()
		n, e := Usocks().Send(&m, i, to, UnixBuf()[:k], rights)
		vfs.Done(&m)
		if e != 0 {
			return int64(done), used, e
		}
		used = used || rights != 0
		rights = 0
		done += uintptr(n)
		if n < k || done >= io.Total || Usocks().Type(i) != unix.SOCK_STREAM {
			return int64(done), used, 0
		}
	}
}

// unixRecvCore receives into io's buffers, filling um; it returns the
// bytes read, or an errno, or blocked.
// Context: trap, kernel lock held; does not allocate.
func unixRecvCore(fd, i int, io *SockIO, um *fs.UnixMsg) int64 {
	if e := io.Measure(); e != 0 {
		return e
	}
	peek := io.Flags&unix.MSG_PEEK != 0
	m := vfs.Mem()
	e := Usocks().Recv(&m, i, UnixBuf()[:min(io.Total, uintptr(len(UnixBuf())))], peek, um)
	if e == unix.EAGAIN && !unixNonblocking(fd, io) {
		return vfs.WaitKey(io.T, UnixKey(i))
	}
	if e != 0 {
		return -int64(e)
	}
	if !peek {
		unixNotifyAround(i)
	}
	if !io.Scatter(UnixBuf()[:um.N]) {
		if um.Rights != 0 {
			unixDropRights(um.Rights)
		}
		return -abi.EFAULT
	}
	if io.Flags&unix.MSG_TRUNC != 0 && Usocks().Type(i) != unix.SOCK_STREAM {
		return int64(um.Full)
	}
	return int64(um.N)
}

// unixRecv is recvmsg(2) of the header m read from msg, into io's
// buffers: the sender's name, the passed descriptors (SCM_RIGHTS,
// close-on-exec with MSG_CMSG_CLOEXEC) and the flags; and read, readv
// and recvfrom (io.Nr), which drop passed descriptors (m has no control
// buffer) and write the sender's name to m.Name, its length's address in
// m.Namelen.
// Context: trap, kernel lock held; does not allocate.
func unixRecv(fd, i int, io *SockIO, msg uintptr, m *Msghdr) int64 {
	flags, ctl, ctlLen := io.Flags, m.Control, m.Controllen
	var um fs.UnixMsg
	r := unixRecvCore(fd, i, io, &um)
	if r < 0 || r == blocked {
		return r
	}
	mflags := uint32(flags & unix.MSG_CMSG_CLOEXEC) // Linux echoes it
	if um.N < um.Full {
		mflags |= unix.MSG_TRUNC
	}
	used := uintptr(0)
	if Usocks().Passcred(i) && (um.N > 0 || um.Full > 0 || Usocks().Type(i) != unix.SOCK_STREAM) {
		if used = unixPutCreds(ctl, ctlLen); used == 0 {
			mflags |= unix.MSG_CTRUNC
		}
	}
	if um.Rights != 0 {
		u, trunc := unixPutRights(um.Rights, ctl+used, ctlLen-used, flags&unix.MSG_CMSG_CLOEXEC != 0)
		used += u
		if trunc {
			mflags |= unix.MSG_CTRUNC
		}
	}
	if io.Nr != unix.SYS_RECVMSG {
		if e := writeUnixSockaddr(&um.From, m.Name, m.Namelen, 0); e != 0 {
			return e
		}
		return r
	}
	if m.Name == 0 {
		vm.UserWrite32(msg+8, 0)
	} else if e := writeUnixSockaddr(&um.From, m.Name, msg+8, 0); e != 0 {
		return e
	}
	if !vm.UserWrite64(msg+40, uint64(used)) || !vm.UserWrite32(msg+48, mflags) {
		return -abi.EFAULT
	}
	return r
}
