package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Socket set-up calls: socket, bind, listen, connect, accept4, shutdown,
// getsockname, getpeername. TCP, UDP and raw IP over IPv4 and IPv6
// (addresses: inetaddr.go); the network stack goroutine does the protocol
// work (socket.go, netctl.go). Every handler's context: trap, kernel lock
// held.

// readSockaddr reads a struct sockaddr_in or sockaddr_in6 (family is the
// socket's, abi.Family4 or abi.Family6) of n bytes at addr.
// Context: trap, kernel lock held; does not allocate.
func readSockaddr(family uint8, addr, n uintptr) (sockAddr, int64) {
	if n < 2 {
		return sockAddr{}, -abi.EINVAL
	}
	b, ok := vm.UserBytes(addr, min(n, sockaddrIn6Size), false)
	if !ok {
		return sockAddr{}, -abi.EFAULT
	}
	return parseSockaddr(family, b)
}

// writeSockaddr writes a as the family's struct sockaddr_in or
// sockaddr_in6 to (addr, *lenAddr) (putSockaddr).
// Context: trap, kernel lock held; does not allocate.
func writeSockaddr(family uint8, a sockAddr, addr, lenAddr uintptr) int64 {
	var sa [sockaddrIn6Size]byte
	n := formatSockaddr(family, a, &sa)
	return putSockaddr(sa[:n], addr, lenAddr)
}

// putSockaddr writes the encoded address sa to (addr, *lenAddr) the way
// Linux does for every family: nothing when addr is NULL; otherwise the
// length the program gave is read (EINVAL when negative), the address is
// truncated to it, and the full length is stored back.
// Context: trap, kernel lock held; does not allocate.
func putSockaddr(sa []byte, addr, lenAddr uintptr) int64 {
	if addr == 0 {
		return 0
	}
	l, ok := vm.UserRead32(lenAddr)
	if !ok {
		return -abi.EFAULT
	}
	if int32(l) < 0 {
		return -abi.EINVAL
	}
	b, ok := vm.UserBytes(addr, min(uintptr(l), uintptr(len(sa))), true)
	if !ok {
		return -abi.EFAULT
	}
	copy(b, sa)
	if !vm.UserWrite32(lenAddr, uint32(len(sa))) {
		return -abi.EFAULT
	}
	return 0
}

// inetSocketKind checks socket(2)'s type and protocol for an Internet
// family and returns the socket table's type, or an errno: TCP streams,
// UDP datagrams and raw IP sockets of a named protocol.
// Context: trap, kernel lock held; does not allocate.
func inetSocketKind(typ, proto int) (uint8, int64) {
	switch typ &^ (unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC) {
	case unix.SOCK_STREAM:
		if proto != 0 && proto != unix.IPPROTO_TCP {
			return 0, -abi.EPROTONOSUPPORT
		}
		return abi.SockStream, 0
	case unix.SOCK_DGRAM:
		if proto != 0 && proto != unix.IPPROTO_UDP {
			return 0, -abi.EPROTONOSUPPORT
		}
		return abi.SockDgram, 0
	case unix.SOCK_RAW:
		if proto <= 0 || proto >= unix.IPPROTO_RAW {
			return 0, -abi.EPROTONOSUPPORT // 0 has no raw protocol; IPPROTO_RAW (send-only) is not served
		}
		return abi.SockRaw, 0
	}
	if typ&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) > unix.SOCK_PACKET || typ < 0 {
		return 0, -abi.EINVAL // no such type (Linux: beyond SOCK_MAX)
	}
	return 0, -abi.EPROTONOSUPPORT // seqpacket, ...: not served
}

// sysSocket creates a TCP, UDP or raw IP socket over IPv4 or IPv6, if a
// network stack runs, and tells the stack. Context: trap, kernel lock
// held; does not allocate.
func sysSocket(domain, typ, proto int) int64 {
	family := uint8(abi.Family4)
	switch domain {
	case unix.AF_INET:
	case unix.AF_INET6:
		family = abi.Family6
	default:
		return -abi.EAFNOSUPPORT
	}
	kind, e := inetSocketKind(typ, proto)
	if e != 0 {
		return e
	}
	if netStackFD < 0 {
		noNetworkOnce()
		return -abi.EAFNOSUPPORT
	}
	i := allocSocket(kind, family)
	if i < 0 {
		return -abi.ENFILE
	}
	fd := fdtab.Alloc(fdtab.KindSocket, openFlags(typ))
	if fd < 0 {
		freeSocket(i)
		return -abi.EMFILE
	}
	fdtab.Files[fd].Socket = i
	sockets[i].fd = int32(fd)
	if kind == abi.SockRaw {
		sockets[i].proto = uint8(proto)
	}
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

// bindableAddr checks that socket i may bind to a's address: the
// unspecified address, a loopback address or the interface's; an
// IPv4-mapped address on an IPV6_V6ONLY socket is EINVAL (man 7 ipv6),
// another address EADDRNOTAVAIL. Context: trap, kernel lock held; does
// not allocate.
func bindableAddr(i int, a sockAddr) int64 {
	s := &sockets[i]
	if s.family == abi.Family6 && !a.is4() {
		if a.ip != [16]byte{} && a.ip != loopback6 {
			return -int64(unix.EADDRNOTAVAIL)
		}
		return 0
	}
	if s.family == abi.Family6 && s.opts&abi.OptV6Only != 0 {
		return -abi.EINVAL
	}
	if ip := a.v4(); ip != [4]byte{} && ip != ifaceAddr && ip[0] != 127 {
		return -int64(unix.EADDRNOTAVAIL)
	}
	return 0
}

// sysBind gives a socket its local address (an ephemeral port for port 0;
// a raw socket takes the address alone) and waits for the stack to take
// it. Context: trap, kernel lock held; does not allocate.
func sysBind(t sched.TID, fd int, addr, n uintptr) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &sockets[i]
	a, e := readSockaddr(s.family, addr, n)
	if e != 0 {
		return e
	}
	if s.local.port != 0 || s.bound || s.state != abi.SockOpen {
		return -abi.EINVAL
	}
	if e := bindableAddr(i, a); e != 0 {
		return e
	}
	if s.typ == abi.SockRaw {
		a.port = 0
	} else if a.port == 0 {
		a.port = ephemeralPort(i, s.typ, a)
		if a.port == 0 {
			return -abi.EADDRINUSE
		}
	} else if portInUse(i, s.typ, a) {
		return -abi.EADDRINUSE
	}
	s.local = a
	s.bound = true
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
		return -abi.EOPNOTSUPP
	}
	if s.state != abi.SockOpen && s.state != abi.SockListening {
		return -abi.EINVAL
	}
	if !autobind(i) {
		return -abi.EADDRINUSE
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
	if s.typ != abi.SockStream {
		return dgramConnect(i, addr, n)
	}
	switch s.state {
	case abi.SockConnecting:
		return -abi.EALREADY
	case abi.SockConnected:
		return -abi.EISCONN
	case abi.SockFailed:
		err := s.soError
		s.soError = 0
		if err == 0 {
			return -abi.EINVAL
		}
		return -int64(err)
	case abi.SockOpen:
	default:
		return -abi.EINVAL
	}
	a, e := readSockaddr(s.family, addr, n)
	if e != 0 {
		return e
	}
	if a.port == 0 {
		return -int64(unix.ECONNREFUSED)
	}
	a = connectTarget(s.family, a)
	if !autobind(i) {
		return -int64(unix.EADDRNOTAVAIL)
	}
	s.remote = a
	s.state = abi.SockConnecting
	sockChanged(i)
	if fdtab.Files[fd].Nonblock {
		return -abi.EINPROGRESS
	}
	threadtab.Threads[t].ConnectWait = true
	thread.BlockIn(t, threadtab.WaitRead, &s.waiter)
	return blocked
}

// connectTarget is the peer a connect to a reaches: as on Linux, the
// unspecified address means this host (127.0.0.1, or ::1 for IPv6).
// Context: trap, kernel lock held; does not allocate.
func connectTarget(family uint8, a sockAddr) sockAddr {
	switch {
	case a.ip == [16]byte{} && family == abi.Family6:
		a.ip = loopback6
	case a.unspecified():
		a.ip = v4Mapped([4]byte{127, 0, 0, 1})
	}
	return a
}

// sourceFor is the local address a packet to dst leaves from: the
// loopback address of its family for a loopback destination (or when
// there is no interface address), else the interface's.
// Context: trap, kernel lock held; does not allocate.
func sourceFor(dst sockAddr) [16]byte {
	if !dst.is4() {
		return loopback6
	}
	if dst.v4()[0] == 127 || ifaceAddr == [4]byte{} {
		return v4Mapped([4]byte{127, 0, 0, 1})
	}
	return v4Mapped(ifaceAddr)
}

// connectDone wakes a thread blocked in connect on socket i, if any, with
// the outcome. Context: trap, kernel lock held.
func connectDone(i int) {
	s := &sockets[i]
	t := s.waiter
	if t == noThread || !threadtab.Threads[t].ConnectWait {
		return
	}
	s.waiter = noThread
	threadtab.Threads[t].ConnectWait = false
	if s.state == abi.SockConnected {
		thread.Wake(t, 0)
		return
	}
	err := int64(s.soError)
	s.soError = 0
	thread.Wake(t, -err)
}

// dgramConnect sets (or with AF_UNSPEC clears) a datagram socket's peer.
// Context: trap, kernel lock held; does not allocate.
func dgramConnect(i int, addr, n uintptr) int64 {
	s := &sockets[i]
	if n >= 2 {
		if fam, ok := vm.UserBytes(addr, 2, false); ok && fam[0] == unix.AF_UNSPEC && fam[1] == 0 {
			s.remote = sockAddr{}
			if !s.bound {
				s.local.ip = [16]byte{} // the address connect picked goes with it, as on Linux
			}
			s.state = abi.SockOpen
			sockChanged(i)
			return 0
		}
	}
	a, e := readSockaddr(s.family, addr, n)
	if e != 0 {
		return e
	}
	a = connectTarget(s.family, a)
	if !a.is4() && a.ip != loopback6 {
		return -int64(unix.ENETUNREACH) // IPv6 reaches ::1 alone
	}
	if !autobind(i) {
		return -int64(unix.EADDRNOTAVAIL)
	}
	if s.local.unspecified() {
		s.local.ip = sourceFor(a) // as Linux: connect picks the source address
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
		return -abi.EINVAL
	}
	s := &sockets[i]
	if s.state != abi.SockListening {
		return -abi.EINVAL
	}
	if s.aLen == 0 {
		return sockWait(t, i, unix.SYS_ACCEPT4)
	}
	c := int(s.acceptQ[s.aHead])
	if e := writeSockaddr(s.family, sockets[c].remote, addr, lenAddr); e != 0 {
		return e
	}
	nfd := fdtab.Alloc(fdtab.KindSocket, openFlags(flags))
	if nfd < 0 {
		return -abi.EMFILE
	}
	s.aHead = (s.aHead + 1) % acceptQueueCap
	s.aLen--
	fdtab.Files[nfd].Socket = c
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
		return -abi.ENOTCONN
	}
	switch how {
	case unix.SHUT_RD:
		s.flags |= abi.EvShutRd
	case unix.SHUT_WR:
		s.flags |= abi.EvShutWr
	case unix.SHUT_RDWR:
		s.flags |= abi.EvShutRd | abi.EvShutWr
	default:
		return -abi.EINVAL
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
	s := &sockets[i]
	a := s.local
	if s.typ == abi.SockRaw {
		a.port = uint16(s.proto) // as Linux: a raw socket's port is its protocol
	}
	return writeSockaddr(s.family, a, addr, lenAddr)
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
		return -abi.ENOTCONN
	}
	return writeSockaddr(s.family, s.remote, addr, lenAddr)
}
