package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Socket set-up calls: socket, bind, listen, connect, accept4, shutdown,
// getsockname, getpeername. IPv4 TCP and UDP only; the network stack
// goroutine does the protocol work (socket.go, netctl.go). Every handler's
// context: trap, kernel lock held.

const sockaddrInSize = 16

const (
	_EAFNOSUPPORT    = int64(unix.EAFNOSUPPORT)
	_EPROTONOSUPPORT = int64(unix.EPROTONOSUPPORT)
	_EADDRINUSE      = int64(unix.EADDRINUSE)
	_EISCONN         = int64(unix.EISCONN)
	_ENOTCONN        = int64(unix.ENOTCONN)
	_EINPROGRESS     = int64(unix.EINPROGRESS)
	_EALREADY        = int64(unix.EALREADY)
	_EOPNOTSUPP      = int64(unix.EOPNOTSUPP)
	_EPIPE           = int64(unix.EPIPE)
	_EDESTADDRREQ    = int64(unix.EDESTADDRREQ)
	_ENOPROTOOPT     = int64(unix.ENOPROTOOPT)
	_ENOBUFS         = int64(unix.ENOBUFS)
	_EMSGSIZE        = int64(unix.EMSGSIZE)
)

// readSockaddr reads a struct sockaddr_in.
// Context: trap, kernel lock held; does not allocate.
func readSockaddr(addr, n uintptr) (sockAddr, int64) {
	var a sockAddr
	if n < 2 {
		return a, -_EINVAL
	}
	b, ok := userBytes(addr, min(n, sockaddrInSize), false)
	if !ok {
		return a, -_EFAULT
	}
	if uint16(b[0])|uint16(b[1])<<8 != unix.AF_INET {
		return a, -_EAFNOSUPPORT
	}
	if n < sockaddrInSize {
		return a, -_EINVAL
	}
	a.port = uint16(b[2])<<8 | uint16(b[3])
	copy(a.ip[:], b[4:8])
	return a, 0
}

// writeSockaddr writes a as a struct sockaddr_in to (addr, *lenAddr) the
// way Linux does: truncated to the buffer, the full length stored back.
// Context: trap, kernel lock held; does not allocate.
func writeSockaddr(a sockAddr, addr, lenAddr uintptr) int64 {
	if addr == 0 {
		return 0
	}
	l, ok := userRead32(lenAddr)
	if !ok {
		return -_EFAULT
	}
	if int32(l) < 0 {
		return -_EINVAL
	}
	var sa [sockaddrInSize]byte
	sa[0] = unix.AF_INET
	sa[2], sa[3] = byte(a.port>>8), byte(a.port)
	copy(sa[4:8], a.ip[:])
	n := min(uintptr(l), sockaddrInSize)
	b, ok := userBytes(addr, n, true)
	if !ok {
		return -_EFAULT
	}
	copy(b, sa[:])
	if !userWrite32(lenAddr, sockaddrInSize) {
		return -_EFAULT
	}
	return 0
}

// sysSocket creates a TCP or UDP socket over IPv4, if a network stack
// runs, and tells the stack. Context: trap, kernel lock held; does not allocate.
func sysSocket(domain, typ, proto int) int64 {
	if domain != unix.AF_INET {
		return -_EAFNOSUPPORT
	}
	var kind uint8
	switch typ &^ (unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC) {
	case unix.SOCK_STREAM:
		kind = abi.SockStream
		if proto != 0 && proto != unix.IPPROTO_TCP {
			return -_EPROTONOSUPPORT
		}
	case unix.SOCK_DGRAM:
		kind = abi.SockDgram
		if proto != 0 && proto != unix.IPPROTO_UDP {
			return -_EPROTONOSUPPORT
		}
	default:
		if typ&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) > unix.SOCK_PACKET || typ < 0 {
			return -_EINVAL // no such type (Linux: beyond SOCK_MAX)
		}
		return -_EPROTONOSUPPORT // raw, seqpacket, ...: not served
	}
	if netStackFD < 0 {
		noNetworkOnce()
		return -_EAFNOSUPPORT
	}
	i := allocSocket(kind)
	if i < 0 {
		return -_ENFILE
	}
	fd := allocFD(fdSocket, openFlags(typ))
	if fd < 0 {
		freeSocket(i)
		return -_EMFILE
	}
	files[fd].socket = i
	sockets[i].fd = int32(fd)
	sockChanged(i)
	return int64(fd)
}

// openFlags turns SOCK_NONBLOCK and SOCK_CLOEXEC into the O_ flags of the
// descriptor.
func openFlags(sockFlags int) int {
	f := 0
	if sockFlags&unix.SOCK_NONBLOCK != 0 {
		f |= unix.O_NONBLOCK
	}
	if sockFlags&unix.SOCK_CLOEXEC != 0 {
		f |= unix.O_CLOEXEC
	}
	return f
}

var noNetworkLogged bool

// noNetworkOnce logs, once, why sockets fail.
// Context: trap, kernel lock held; does not allocate.
func noNetworkOnce() {
	if !noNetworkLogged {
		noNetworkLogged = true
		var l klog.Line
		l.S("socket: no network stack is running (the image links one when the program imports package net)").Info()
	}
}

// sysBind gives a socket its local address (an ephemeral port for port 0)
// and waits for the stack to take it. Context: trap, kernel lock held; does not allocate.
func sysBind(t sched.TID, fd int, addr, n uintptr) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	a, e := readSockaddr(addr, n)
	if e != 0 {
		return e
	}
	s := &sockets[i]
	if s.local.port != 0 || s.state != abi.SockOpen {
		return -_EINVAL
	}
	if a.ip != [4]byte{} && a.ip != ifaceAddr && a.ip[0] != 127 {
		return -int64(unix.EADDRNOTAVAIL)
	}
	if a.port == 0 {
		a.port = ephemeralPort(i, s.typ)
		if a.port == 0 {
			return -_EADDRINUSE
		}
	} else if portInUse(i, s.typ, a) {
		return -_EADDRINUSE
	}
	s.local = a
	return awaitStack(t, i)
}

// sysListen makes a stream socket listen (bound first if it is not) and
// waits for the stack to take it. Context: trap, kernel lock held; does not allocate.
func sysListen(t sched.TID, fd, backlog int) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &sockets[i]
	if s.typ != abi.SockStream {
		return -_EOPNOTSUPP
	}
	if s.state != abi.SockOpen && s.state != abi.SockListening {
		return -_EINVAL
	}
	if !autobind(i) {
		return -_EADDRINUSE
	}
	s.backlog = uint32(min(max(backlog, 1), acceptQueueCap))
	s.state = abi.SockListening
	return awaitStack(t, i)
}

// sysConnect sets a datagram socket's peer, or starts a stream socket's
// connection and blocks t until it is done (EINPROGRESS when non-blocking).
// Context: trap, kernel lock held; does not allocate.
func sysConnect(t sched.TID, fd int, addr, n uintptr) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &sockets[i]
	if s.typ == abi.SockDgram {
		return dgramConnect(i, addr, n)
	}
	switch s.state {
	case abi.SockConnecting:
		return -_EALREADY
	case abi.SockConnected:
		return -_EISCONN
	case abi.SockFailed:
		err := s.soError
		s.soError = 0
		if err == 0 {
			return -_EINVAL
		}
		return -int64(err)
	case abi.SockOpen:
	default:
		return -_EINVAL
	}
	a, e := readSockaddr(addr, n)
	if e != 0 {
		return e
	}
	if a.port == 0 {
		return -int64(unix.ECONNREFUSED)
	}
	if a.ip == [4]byte{} {
		a.ip = [4]byte{127, 0, 0, 1} // as Linux: the unspecified address means this host
	}
	if !autobind(i) {
		return -int64(unix.EADDRNOTAVAIL)
	}
	s.remote = a
	s.state = abi.SockConnecting
	sockChanged(i)
	if files[fd].nonblock {
		return -_EINPROGRESS
	}
	s.waiter = t
	threads[t].connectWait = true
	block(t, waitRead)
	return blocked
}

// connectDone wakes a thread blocked in connect on socket i, if any, with
// the outcome. Context: trap, kernel lock held.
func connectDone(i int) {
	s := &sockets[i]
	t := s.waiter
	if t == noThread || !threads[t].connectWait {
		return
	}
	s.waiter = noThread
	threads[t].connectWait = false
	if s.state == abi.SockConnected {
		wake(t, 0)
		return
	}
	err := int64(s.soError)
	s.soError = 0
	wake(t, -err)
}

// dgramConnect sets (or with AF_UNSPEC clears) a datagram socket's peer.
// Context: trap, kernel lock held; does not allocate.
func dgramConnect(i int, addr, n uintptr) int64 {
	s := &sockets[i]
	if n >= 2 {
		if fam, ok := userBytes(addr, 2, false); ok && fam[0] == unix.AF_UNSPEC && fam[1] == 0 {
			s.remote = sockAddr{}
			s.state = abi.SockOpen
			sockChanged(i)
			return 0
		}
	}
	a, e := readSockaddr(addr, n)
	if e != 0 {
		return e
	}
	if !autobind(i) {
		return -int64(unix.EADDRNOTAVAIL)
	}
	s.remote = a
	s.state = abi.SockConnected
	sockChanged(i)
	return 0
}

// sysAccept takes the oldest connection from a listening socket's accept
// queue as a new descriptor, or blocks t until there is one.
// Context: trap, kernel lock held; does not allocate.
func sysAccept(t sched.TID, fd int, addr, lenAddr uintptr, flags int) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	if flags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 {
		return -_EINVAL
	}
	s := &sockets[i]
	if s.state != abi.SockListening {
		return -_EINVAL
	}
	if s.aLen == 0 {
		return sockWait(t, i, unix.SYS_ACCEPT4)
	}
	c := int(s.acceptQ[s.aHead])
	if e := writeSockaddr(sockets[c].remote, addr, lenAddr); e != 0 {
		return e
	}
	nfd := allocFD(fdSocket, openFlags(flags))
	if nfd < 0 {
		return -_EMFILE
	}
	s.aHead = (s.aHead + 1) % acceptQueueCap
	s.aLen--
	files[nfd].socket = c
	sockets[c].fd = int32(nfd)
	tellStack(i) // connections the queue could not take wait in the stack
	return int64(nfd)
}

// sysShutdown shuts a connected socket's reading, writing or both, and
// tells the stack. Context: trap, kernel lock held; does not allocate.
func sysShutdown(fd, how int) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &sockets[i]
	if s.state != abi.SockConnected && s.state != abi.SockFailed {
		return -_ENOTCONN
	}
	switch how {
	case unix.SHUT_RD:
		s.flags |= abi.EvShutRd
	case unix.SHUT_WR:
		s.flags |= abi.EvShutWr
	case unix.SHUT_RDWR:
		s.flags |= abi.EvShutRd | abi.EvShutWr
	default:
		return -_EINVAL
	}
	sockChanged(i)
	return 0
}

// sysGetsockname writes a socket's local address. Context: trap, kernel lock held; does not allocate.
func sysGetsockname(fd int, addr, lenAddr uintptr) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	return writeSockaddr(sockets[i].local, addr, lenAddr)
}

// sysGetpeername writes a connected socket's peer address.
// Context: trap, kernel lock held; does not allocate.
func sysGetpeername(fd int, addr, lenAddr uintptr) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &sockets[i]
	if s.state != abi.SockConnected {
		return -_ENOTCONN
	}
	return writeSockaddr(s.remote, addr, lenAddr)
}
