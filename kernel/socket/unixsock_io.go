package socket

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"golang.org/x/sys/unix"
)

// Unix-domain sockets: the socket a name reaches (for connect and
// send), sending and receiving (with SCM_RIGHTS and SCM_CREDENTIALS).
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

// unixNonblocking reports whether io on descriptor fd must not wait.
// Context: trap, kernel lock held; does not allocate.
func unixNonblocking(fd int, io *SockIO) bool {
	return io.Flags&unix.MSG_DONTWAIT != 0 || fdtab.Files[fd].Nonblock
}

// unixSend sends io's bytes (to m's name for an unconnected datagram
// socket) with the descriptors of m's control data: write, writev,
// sendto (a name alone) and sendmsg. A stream socket refuses a name
// (EISCONN when connected, EOPNOTSUPP otherwise); a seqpacket socket
// ignores it. A stream's bytes go in pieces of UnixBuf, the rights with
// the first.
// Context: trap, kernel lock held; does not allocate.
func unixSend(fd, i int, io *SockIO, m *Msghdr) int64 {
	if e := io.Measure(); e != 0 {
		return e
	}
	typ := Usocks().Type(i)
	to := -1 // the peer
	if m.Name != 0 && m.Namelen != 0 && typ != unix.SOCK_SEQPACKET {
		if typ == unix.SOCK_STREAM {
			if _, e := Usocks().PeerName(i); e == 0 {
				return -abi.EISCONN
			}
			return -abi.EOPNOTSUPP
		}
		var e int64
		if to, e = unixLookup(i, m.Name, m.Namelen); e != 0 {
			return e
		}
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
	var done uintptr
	used := false // whether the rights were queued
	var fe fs.Errno
	for {
		k, ok := io.Gather(done, UnixBuf()[:min(len(UnixBuf()), Usocks().Room(i))])
		if !ok {
			fe = unix.EFAULT
			break
		}
		give := rights
		if used {
			give = 0
		}
		mem := vfs.Mem()
		n, se := Usocks().Send(&mem, i, to, UnixBuf()[:k], give)
		vfs.Done(&mem)
		if se != 0 {
			fe = se
			break
		}
		used = rights != 0
		done += uintptr(n)
		if n < k || done >= io.Total || Usocks().Type(i) != unix.SOCK_STREAM {
			break
		}
	}
	if !used && rights != 0 {
		unixFinishDying(rights)
	}
	dest := to
	if dest < 0 {
		dest = Usocks().Peer(i)
	}
	if done > 0 || fe == 0 {
		if dest >= 0 {
			UnixNotify(dest)
		}
		return int64(done)
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

// unixRecv is recvmsg(2) of the header m read from msg, into io's
// buffers: the sender's name, the credentials (SCM_CREDENTIALS, with
// SO_PASSCRED), the passed descriptors (SCM_RIGHTS, close-on-exec with
// MSG_CMSG_CLOEXEC) and the flags; it returns the bytes read (the full
// datagram's with MSG_TRUNC), or an errno, or blocked; and read, readv
// and recvfrom (io.Nr), which drop passed descriptors (m has no control
// buffer) and write the sender's name to m.Name, its length's address in
// m.Namelen.
// Context: trap, kernel lock held; does not allocate.
func unixRecv(fd, i int, io *SockIO, msg uintptr, m *Msghdr) int64 {
	flags, ctl, ctlLen := io.Flags, m.Control, m.Controllen
	if e := io.Measure(); e != 0 {
		return e
	}
	peek := flags&unix.MSG_PEEK != 0
	var um fs.UnixMsg
	mem := vfs.Mem()
	e := Usocks().Recv(&mem, i, UnixBuf()[:min(io.Total, uintptr(len(UnixBuf())))], peek, &um)
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
			unixFinishDying(um.Rights)
		}
		return -abi.EFAULT
	}
	r := int64(um.N)
	if flags&unix.MSG_TRUNC != 0 && Usocks().Type(i) != unix.SOCK_STREAM {
		r = int64(um.Full)
	}
	mflags := uint32(flags & unix.MSG_CMSG_CLOEXEC) // Linux echoes it
	if um.N < um.Full {
		mflags |= unix.MSG_TRUNC
	}
	used := uintptr(0)
	if Usocks().Passcred(i) && (um.N > 0 || um.Full > 0 || Usocks().Type(i) != unix.SOCK_STREAM) {
		// an SCM_CREDENTIALS message (this program: pid 1, root), as
		// Linux's for a socket with SO_PASSCRED, if it fits
		const clen = cmsgHdrSize + 12 // struct ucred
		var c [clen]byte
		binary.LittleEndian.PutUint64(c[0:], clen)
		binary.LittleEndian.PutUint32(c[8:], unix.SOL_SOCKET)
		binary.LittleEndian.PutUint32(c[12:], unix.SCM_CREDENTIALS)
		binary.LittleEndian.PutUint32(c[16:], 1) // pid; uid and gid 0
		b, ok := []byte(nil), ctl != 0 && ctlLen >= clen
		if ok {
			b, ok = vm.UserBytes(ctl, clen, true)
		}
		if ok {
			copy(b, c[:])
			used = min((clen+7)&^7, ctlLen)
		} else {
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
