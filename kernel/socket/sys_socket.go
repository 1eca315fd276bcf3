package socket

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Socket set-up calls: socket, bind, listen, connect, accept4, shutdown,
// getsockname, getpeername. TCP, UDP and raw IP over IPv4 and IPv6
// (addresses: inetaddr.go); the network stack goroutine does the protocol
// work (socket.go, netctl.go). Every handler's context: trap, kernel lock
// held, but those that package kernel's fileCalls serve on an Internet
// socket under the files lock alone, held shared (socket(2): NewSocket,
// a non-blocking connect: ConnectNow, accept4: AcceptNow, shutdown,
// getsockname, getpeername): trap, files lock held.

// readSockaddr reads a struct sockaddr_in or sockaddr_in6 (family is the
// socket's, abi.Family4 or abi.Family6) of n bytes at addr.
// Context: trap, files lock held; does not allocate.
func readSockaddr(family uint8, addr, n uintptr) (SockAddr, int64) {
	if n < 2 {
		return SockAddr{}, -abi.EINVAL
	}
	b, ok := vm.UserBytes(addr, min(n, sockaddrIn6Size), false)
	if !ok {
		return SockAddr{}, -abi.EFAULT
	}
	return parseSockaddr(family, b)
}

// writeSockaddr writes a as the family's struct sockaddr_in or
// sockaddr_in6 to (addr, *lenAddr) (putSockaddr).
// Context: trap, kernel lock or files lock held; does not allocate.
func writeSockaddr(family uint8, a SockAddr, addr, lenAddr uintptr) int64 {
	var sa [sockaddrIn6Size]byte
	n := formatSockaddr(family, a, &sa)
	return PutSockaddr(sa[:n], addr, lenAddr)
}

// PutSockaddr writes the encoded address sa to (addr, *lenAddr) the way
// Linux does for every family: nothing when addr is NULL; otherwise the
// length the program gave is read (EINVAL when negative), the address is
// truncated to it, and the full length is stored back.
// Context: trap, kernel lock or files lock held; does not allocate.
func PutSockaddr(sa []byte, addr, lenAddr uintptr) int64 {
	if addr == 0 {
		return 0
	}
	return putTruncated(sa, addr, lenAddr, true)
}

// putTruncated writes b to addr, truncated to the length the program
// gave at lenAddr (EINVAL when negative), and stores back there the full
// length (full: an address, as Linux's move_addr_to_user) or the length
// written (an option's value, as getsockopt).
// Context: trap, kernel lock or files lock held; does not allocate.
func putTruncated(b []byte, addr, lenAddr uintptr, full bool) int64 {
	l, ok := vm.UserRead32(lenAddr)
	if !ok {
		return -abi.EFAULT
	}
	if int32(l) < 0 {
		return -abi.EINVAL
	}
	n := min(uintptr(l), uintptr(len(b)))
	dst, ok := vm.UserBytes(addr, n, true)
	if !ok {
		return -abi.EFAULT
	}
	copy(dst, b)
	if full {
		n = uintptr(len(b))
	}
	if !vm.UserWrite32(lenAddr, uint32(n)) {
		return -abi.EFAULT
	}
	return 0
}

// inetSocketKind checks socket(2)'s type and protocol for an Internet
// family and returns the socket table's type, or an errno: TCP streams,
// UDP datagrams and raw IP sockets of a named protocol.
// Context: trap, files lock held; does not allocate.
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

// SysSocket is socket(2) of an Internet socket on the kernel lock's
// path (NewSocket, alone), which also says why sockets fail in a kernel
// with no network stack, once. Context: trap, kernel lock held; does
// not allocate.
func SysSocket(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	r := NewSocket(a, false)
	if r == -abi.EAFNOSUPPORT && NetStackFD < 0 && !noNetworkLogged && (a[0] == unix.AF_INET || a[0] == unix.AF_INET6) {
		noNetworkLogged = true
		var l klog.Line
		l.S("socket: no network stack is running (the image links one when the program imports package net)").Info()
	}
	return r
}

// NewSocket creates a TCP, UDP or raw IP socket over IPv4 or IPv6, if a
// network stack runs, and tells the stack. Beside other calls (the files
// lock held shared: package kernel's fileCalls, which send every other
// family and a kernel with no stack to the locked path) it takes a slot
// whose old socket no call beside can still meet (allocSocket), and
// makes the socket and its descriptor under the socket's lock, so that a
// call through the descriptor beside (a racing program's) waits until
// the socket is whole; where no such slot or no descriptor is free it
// answers vfs.RunAlone, having changed nothing, and runs again alone,
// which answers ENFILE or EMFILE.
// Context: trap, files lock held; does not allocate.
func NewSocket(a abi.SysArgs, beside bool) int64 {
	domain, typ, proto := int(a[0]), int(a[1]), int(a[2])
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
	if NetStackFD < 0 {
		return -abi.EAFNOSUPPORT // SysSocket says why
	}
	r, i := int64(vfs.RunAlone), allocSocket(kind, family, beside)
	if i < 0 {
		if !beside {
			r = -abi.ENFILE
		}
		return r
	}
	s := &Sockets[i]
	spin.LockWord(&s.held)
	if kind == abi.SockRaw {
		s.proto = uint8(proto)
	}
	if fd := fdtab.AllocDesc(fdtab.KindSocket, OpenFlags(typ), int32(i)); fd >= 0 {
		s.FD, r = int32(fd), int64(fd)
		sockChanged(i)
	} else {
		freeSocket(i)
		if !beside {
			r = -abi.EMFILE
		}
	}
	spin.UnlockWord(&s.held)
	return r
}

// OpenFlags turns SOCK_NONBLOCK and SOCK_CLOEXEC into the O_ flags of the
// descriptor. Context: any; does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func OpenFlags(sockFlags int) int {
	f := 0
	if sockFlags&unix.SOCK_NONBLOCK != 0 {
		f |= unix.O_NONBLOCK
	}
	if sockFlags&unix.SOCK_CLOEXEC != 0 {
		f |= unix.O_CLOEXEC
	}
	return f
}

// noNetworkLogged is set once SysSocket has logged that no stack runs.
var noNetworkLogged bool

// bindableAddr checks that socket i may bind to a's address: the
// unspecified address, a loopback address or the interface's; an
// IPv4-mapped address on an IPV6_V6ONLY socket is EINVAL (man 7 ipv6),
// another address EADDRNOTAVAIL. Context: trap, kernel lock held; does
// not allocate.
func bindableAddr(i int, a SockAddr) int64 {
	s := &Sockets[i]
	if s.Family == abi.Family6 && !a.Is4() {
		if a.IP != [16]byte{} && a.IP != loopback6 {
			return -int64(unix.EADDRNOTAVAIL)
		}
		return 0
	}
	if s.Family == abi.Family6 && s.opts&abi.OptV6Only != 0 {
		return -abi.EINVAL
	}
	if ip := a.V4(); ip != [4]byte{} && ip != ifaceAddr && ip[0] != 127 {
		return -int64(unix.EADDRNOTAVAIL)
	}
	return 0
}

// SysBind gives a socket its local address (an ephemeral port for port 0;
// a raw socket takes the address alone) and waits for the stack to take
// it. Context: trap, kernel lock held; does not allocate.
func SysBind(_ *percpu.CPU, t sched.TID, args abi.SysArgs) int64 {
	fd, addr, n := int(args[0]), args[1], args[2]
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &Sockets[i]
	a, e := readSockaddr(s.Family, addr, n)
	if e != 0 {
		return e
	}
	if s.Local.Port != 0 || s.bound || s.State != abi.SockOpen {
		return -abi.EINVAL
	}
	if e := bindableAddr(i, a); e != 0 {
		return e
	}
	if s.Typ == abi.SockRaw {
		a.Port = 0
	} else if a.Port == 0 {
		a.Port = ephemeralPort(i, s.Typ, a)
		if a.Port == 0 {
			return -abi.EADDRINUSE
		}
	} else if portInUse(i, s.Typ, a) {
		return -abi.EADDRINUSE
	}
	s.Local = a
	s.bound = true
	return awaitStack(t, i)
}

// SysListen makes a stream socket listen (bound first if it is not) and
// waits for the stack to take it. Context: trap, kernel lock held; does not allocate.
func SysListen(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	fd, backlog := int(a[0]), int(int32(a[1]))
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &Sockets[i]
	if s.Typ != abi.SockStream {
		return -abi.EOPNOTSUPP
	}
	if s.State != abi.SockOpen && s.State != abi.SockListening {
		return -abi.EINVAL
	}
	if !autobind(i) {
		return -abi.EADDRINUSE
	}
	s.backlog = uint32(min(max(backlog, 1), acceptQueueCap))
	s.State = abi.SockListening
	return awaitStack(t, i)
}

// SysConnect sets a datagram socket's peer, or starts a stream socket's
// connection (connectStream) and blocks t until it is done (EINPROGRESS
// when non-blocking). Context: trap, kernel lock held; does not
// allocate.
func SysConnect(_ *percpu.CPU, t sched.TID, args abi.SysArgs) int64 {
	fd, addr, n := int(int32(args[0])), args[1], args[2] // an int, as Linux reads it (and ConnectNow)
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &Sockets[i]
	if s.Typ != abi.SockStream {
		return dgramConnect(i, addr, n)
	}
	r := connectStream(i, addr, n)
	if r != -abi.EINPROGRESS || fdtab.Files[fd].Nonblock {
		return r
	}
	threadtab.Threads[t].ConnectWait = true
	thread.BlockIn(t, threadtab.WaitRead, &s.waiter)
	return blocked
}

// ConnectNow is connect(2) of an Internet socket beside other calls
// (the files lock held shared: package kernel's fileCalls): a stream
// socket's non-blocking descriptor answers EINPROGRESS where it starts
// the connection (connectStream), a datagram or raw socket's peer is
// set (dgramConnect), and a stream socket's blocking descriptor (it
// waits) answers vfs.WouldBlock, having changed nothing, for the kernel
// lock's path. Context: trap, files lock held; does not
// allocate.
func ConnectNow(_ *percpu.CPU, _ sched.TID, args abi.SysArgs) int64 {
	fd, addr, n := int(int32(args[0])), args[1], args[2]
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	w, _ := fdtab.LoadFlags(fd)
	s := &Sockets[i]
	spin.LockWord(&s.held)
	stream, gone := s.Typ == abi.SockStream, s.closedBeside()
	spin.UnlockWord(&s.held)
	switch {
	case gone:
		return -abi.EBADF // closed beside since its descriptor was looked at
	case !stream:
		return dgramConnect(i, addr, n) // a datagram or raw socket's peer: it never waits
	case w&fdtab.FlagNonblock == 0:
		return vfs.WouldBlock // a wait: the kernel lock's path
	}
	return connectStream(i, addr, n)
}

// connectStream starts stream socket i's connection to the address at
// (addr, n) and tells the stack, answering EINPROGRESS, or answers the
// errno, in the order the kernel lock's path always had (Linux reads the
// address before it looks at the state): the socket's state
// (connectRefused), the address (readSockaddr), ECONNREFUSED for port
// 0, EADDRNOTAVAIL where no ephemeral port is free. Beside other calls the state is looked at
// under the socket's lock, the address read with no lock held, the port
// chosen under portsHeld (autobind), and the state looked at again and
// changed under fdtab.EpollHeld, the epoll interest lists' lock
// (epoll's looks read it: SockReadiness), and the socket's.
// Context: trap, files lock held; does not allocate.
func connectStream(i int, addr, n uintptr) int64 {
	s := &Sockets[i]
	spin.LockWord(&s.held)
	r, family := connectRefused(s), s.Family
	spin.UnlockWord(&s.held)
	if r != 0 {
		return r
	}
	a, e := readSockaddr(family, addr, n)
	if e != 0 {
		return e
	}
	return connectTo(i, family, a)
}

// connectTo is connectStream once the address a is read (family, the
// socket's, read under its lock): ECONNREFUSED
// for port 0, EADDRNOTAVAIL where no ephemeral port is free, else the
// state looked at again and changed.
// Context: trap, files lock held; does not allocate.
func connectTo(i int, family uint8, a SockAddr) int64 {
	if a.Port == 0 {
		return -int64(unix.ECONNREFUSED)
	}
	s := &Sockets[i]
	a = connectTarget(family, a)
	if !autobind(i) {
		return -int64(unix.EADDRNOTAVAIL)
	}
	spin.LockWord(&fdtab.EpollHeld)
	spin.LockWord(&s.held)
	r := connectRefused(s)
	if r == 0 { // else a connect or close beside meanwhile
		s.Remote = a
		s.State = abi.SockConnecting
		sockChanged(i)
		r = -abi.EINPROGRESS
	}
	spin.UnlockWord(&s.held)
	spin.UnlockWord(&fdtab.EpollHeld)
	return r
}

// connectRefused is why stream socket s cannot start a connection:
// EBADF for one closed beside since its descriptor was looked at,
// EALREADY while connecting, EISCONN once connected and for a listener
// (as Linux: a socket not in TCP's closed state; it was EINVAL here), a
// failed connect's pending error (taken) or EINVAL; 0 for an open
// socket. Context: trap, files lock held, s's lock held; does not
// allocate.
func connectRefused(s *socket) int64 {
	switch s.State {
	case abi.SockOpen:
		return 0
	case abi.SockConnecting:
		return -abi.EALREADY
	case abi.SockConnected, abi.SockListening:
		return -abi.EISCONN
	case abi.SockFailed:
		if err := atomic.SwapInt32(&s.SoError, 0); err != 0 { // SockReadiness loads it beside
			return -int64(err)
		}
	case abi.SockClosed:
		return -abi.EBADF
	}
	if s.Typ == 0 {
		return -abi.EBADF // freed beside (CloseFD with no stack)
	}
	return -abi.EINVAL
}

// connectTarget is the peer a connect to a reaches: as on Linux, the
// unspecified address means this host (127.0.0.1, or ::1 for IPv6).
// Context: trap, files lock held; does not allocate.
func connectTarget(family uint8, a SockAddr) SockAddr {
	switch {
	case a.IP == [16]byte{} && family == abi.Family6:
		a.IP = loopback6
	case a.unspecified():
		a.IP = v4Mapped([4]byte{127, 0, 0, 1})
	}
	return a
}

// sourceFor is the local address a packet to dst leaves from: the
// loopback address of its family for a loopback destination (or when
// there is no interface address), else the interface's.
// Context: trap, files lock held (shared: the interface's address
// changes only on the kernel lock's path, with the files lock held
// exclusively); does not allocate.
func sourceFor(dst SockAddr) [16]byte {
	if !dst.Is4() {
		return loopback6
	}
	if dst.V4()[0] == 127 || ifaceAddr == [4]byte{} {
		return v4Mapped([4]byte{127, 0, 0, 1})
	}
	return v4Mapped(ifaceAddr)
}

// connectDone wakes a thread blocked in connect on socket i, if any, with
// the outcome. The kernel lock's wakes call it with the files lock held
// shared (package kernel's socketEventsLocked): a read or write of the
// socket beside it (SocketIO) may take the pending error too, so it takes
// the error under the socket's lock, as they do: one of them gets it. It
// clears the waiter under that lock too: a close beside (CloseFD), which
// leaves a socket with a waiter to the locked path, comes wholly before
// or after.
// Context: trap, kernel lock held.
func connectDone(i int) {
	s := &Sockets[i]
	t := sched.TID(atomic.LoadInt32((*int32)(&s.waiter))) // stored atomically beside (allocSocket)
	if t == noThread || !threadtab.Threads[t].ConnectWait {
		return
	}
	spin.LockWord(&s.held)
	atomic.StoreInt32((*int32)(&s.waiter), int32(noThread)) // tellProgram loads it beside
	err := int64(0)
	if s.State != abi.SockConnected {
		err = int64(s.SoError)
		atomic.StoreInt32(&s.SoError, 0) // SockReadiness may load it beside
	}
	spin.UnlockWord(&s.held)
	threadtab.Threads[t].ConnectWait = false
	thread.Wake(t, -err)
}

// dgramConnect sets (or with AF_UNSPEC clears) datagram or raw socket
// i's peer, on the kernel lock's path (SysConnect) and beside other
// calls (ConnectNow): the address is read with no lock held, and the
// peer set by dgramConnectTo. A socket closed beside since its
// descriptor was looked at answers EBADF.
// Context: trap, files lock held; does not allocate.
func dgramConnect(i int, addr, n uintptr) int64 {
	s := &Sockets[i]
	spin.LockWord(&s.held)
	family, gone := s.Family, s.closedBeside()
	spin.UnlockWord(&s.held)
	if gone {
		return -abi.EBADF
	}
	unspec := false
	if n >= 2 {
		fam, ok := vm.UserBytes(addr, 2, false)
		unspec = ok && fam[0] == unix.AF_UNSPEC && fam[1] == 0
	}
	var a SockAddr // none for AF_UNSPEC
	if !unspec {
		var e int64
		if a, e = readSockaddr(family, addr, n); e != 0 {
			return e
		}
		a = connectTarget(family, a)
		if !a.Is4() && a.IP != loopback6 {
			return -int64(unix.ENETUNREACH) // IPv6 reaches ::1 alone
		}
	}
	return dgramConnectTo(i, a, unspec)
}

// dgramConnectTo is dgramConnect once the address a is read (unspec:
// AF_UNSPEC, a disconnect): the port chosen under portsHeld (autobind),
// and the peer and state changed under the epoll interest lists' lock
// (epoll's looks read the state: SockReadiness) and the socket's. The
// address connect picked goes with its peer on a disconnect, as on
// Linux, unless the socket was bound.
// Context: trap, files lock held; does not allocate.
func dgramConnectTo(i int, a SockAddr, unspec bool) int64 {
	if !unspec && !autobind(i) {
		return -int64(unix.EADDRNOTAVAIL)
	}
	s := &Sockets[i]
	spin.LockWord(&fdtab.EpollHeld)
	spin.LockWord(&s.held)
	r := int64(-abi.EBADF)
	if !s.closedBeside() { // a slot is not reused while a call that found it runs (allocSocket)
		s.Remote, s.State = a, abi.SockConnected
		switch {
		case unspec:
			s.State = abi.SockOpen
			if !s.bound {
				s.Local.IP = [16]byte{}
			}
		case s.Local.unspecified():
			s.Local.IP = sourceFor(a) // as Linux: connect picks the source address
		}
		sockChanged(i)
		r = 0
	}
	spin.UnlockWord(&s.held)
	spin.UnlockWord(&fdtab.EpollHeld)
	return r
}

// SysAccept takes the oldest connection from a listening socket's accept
// queue as a new descriptor (AcceptNow), or blocks t until there is one;
// the call runs again by the number the program gave (accept comes as
// accept4 with no flags: package kernel's legacyCalls).
// Context: trap, kernel lock held; does not allocate.
func SysAccept(c *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	r := AcceptNow(c, t, a)
	if r != vfs.WouldBlock {
		return r
	}
	i, _ := sockOfFD(int(int32(a[0]))) // a listener's: AcceptNow looked
	return SockWait(t, i, threadtab.Threads[t].RestartNr)
}

// AcceptNow is accept4(2) that does not wait: it takes the oldest
// connection from a listening socket's accept queue as a new
// descriptor, or answers EAGAIN for a descriptor opened O_NONBLOCK and
// vfs.WouldBlock for another (SysAccept waits; package kernel's fileTrap
// sends the call to the locked path). It runs there, or on an Internet
// socket's descriptor under the files lock held shared (package
// kernel's fileCalls), beside other calls: it takes from the queue
// under the listener's lock, which another accept and an epoll look at
// the listener (SockReadiness) take too, as does the stack's new
// connection, which adds to the queue (netAccepted); the listener's type
// and state are read under it as well, and a listener whose descriptor
// a close beside ended since sockOfFD looked answers EBADF; the
// descriptor is made naming its socket (fdtab.AllocDesc), and the
// socket learns its descriptor under its own lock, which the stack's
// moves of its data beside hold while they tell the program
// (tellProgram). A connection whose address does not reach the program
// (EFAULT), or for which no descriptor is free (EMFILE), stays queued.
// The errors come in Linux's order: EBADF, EINVAL for unknown flags,
// ENOTSOCK, EOPNOTSUPP for a socket that has no connections (UDP, raw),
// EINVAL for one that does not listen.
// Context: trap, files lock held; does not allocate.
func AcceptNow(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	fd, addr, lenAddr, flags := int(int32(a[0])), a[1], a[2], int(int32(a[3]))
	i, e := sockOfFD(fd)
	if flags&^(unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC) != 0 && e != -abi.EBADF {
		return -abi.EINVAL
	}
	if e != 0 {
		return e
	}
	s := &Sockets[i]
	r, c := vfs.WouldBlock, -1
	spin.LockWord(&s.held) // the state too: the stack may fail a listener beside (connectOutcome)
	switch {
	case s.closedBeside():
		r = -abi.EBADF // its descriptor closed beside since sockOfFD looked (CloseFD)
	case s.Typ != abi.SockStream:
		r = -int64(unix.EOPNOTSUPP)
	case s.State != abi.SockListening:
		r = -abi.EINVAL
	case s.ALen > 0:
		c = int(s.acceptQ[s.aHead])
		if r = writeSockaddr(s.Family, Sockets[c].Remote, addr, lenAddr); r == 0 {
			if r = int64(fdtab.AllocDesc(fdtab.KindSocket, OpenFlags(flags), int32(c))); r < 0 {
				r = -abi.EMFILE
			} else {
				s.aHead = (s.aHead + 1) % acceptQueueCap
				s.ALen--
				TellStack(i) // connections the queue could not take wait in the stack
			}
		}
	}
	spin.UnlockWord(&s.held)
	if r >= 0 {
		cs := &Sockets[c]
		spin.LockWord(&cs.held)
		cs.FD = int32(r)
		spin.UnlockWord(&cs.held)
	} else if r == vfs.WouldBlock {
		if w, _ := fdtab.LoadFlags(fd); w&fdtab.FlagNonblock != 0 {
			r = -abi.EAGAIN
		}
	}
	return r
}

// SysShutdown shuts a connected socket's reading, writing or both, and
// tells the stack, under the socket's lock: on the locked path or beside
// other calls (the files lock held shared: package fdcalls' StreamCall,
// which holds the epoll interest lists' lock too, as epoll's looks read
// the flags, SockReadiness). The errors come in Linux's order: EINVAL
// for an unknown how, then ENOTCONN; a socket whose descriptor a close
// beside ended since sockOfFD looked is EBADF.
// Context: trap, files lock held; does not allocate.
func SysShutdown(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	fd, how := int(a[0]), int(int32(a[1])) // how is an int, as Linux reads it
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &Sockets[i]
	spin.LockWord(&s.held)
	r := int64(0)
	switch {
	case how < unix.SHUT_RD || how > unix.SHUT_RDWR:
		r = -abi.EINVAL
	case s.closedBeside():
		r = -abi.EBADF // closed beside (CloseFD)
	case s.State != abi.SockConnected && s.State != abi.SockFailed:
		r = -abi.ENOTCONN
	default:
		// how+1 has bit 0 for reading and bit 1 for writing (SHUT_RD 0,
		// SHUT_WR 1, SHUT_RDWR 2, as Linux's inet_shutdown takes it);
		// EvShutRd and EvShutWr have them the other way round.
		m := uint8(how + 1)
		s.Flags |= (m>>1 | m<<1) & (abi.EvShutRd | abi.EvShutWr)
	}
	if r == 0 {
		sockChanged(i)
	}
	spin.UnlockWord(&s.held)
	return r
}

// SysGetsockname writes a socket's local address. It may run beside
// other calls (the files lock held shared), which change the address,
// the type and the protocol under the socket's lock (a connect's outcome
// from the stack, a non-blocking connect's port, a datagram socket's
// connect, a datagram send's port, a socket(2) that reuses the slot) or
// under the files lock held exclusively (bind, listen, a blocking
// stream connect): it reads them under the socket's lock, and answers EBADF
// for a socket whose descriptor a close beside ended since sockOfFD
// looked, as Linux does for a descriptor closed before the call. The
// address is written after the lock is released (a fault in the
// program's memory is taken there). Context: trap, files lock held; does
// not allocate.
func SysGetsockname(_ *percpu.CPU, _ sched.TID, args abi.SysArgs) int64 {
	fd, addr, lenAddr := int(args[0]), args[1], args[2]
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &Sockets[i]
	spin.LockWord(&s.held)
	a, family, closed := s.Local, s.Family, s.closedBeside()
	if s.Typ == abi.SockRaw {
		a.Port = uint16(s.proto) // as Linux: a raw socket's port is its protocol
	}
	spin.UnlockWord(&s.held)
	if closed {
		return -abi.EBADF
	}
	return writeSockaddr(family, a, addr, lenAddr)
}

// SysGetpeername writes a connected socket's peer address, beside other
// calls as SysGetsockname: ENOTCONN for a socket not connected, EBADF
// for one closed beside. Context: trap, files lock held; does not
// allocate.
func SysGetpeername(_ *percpu.CPU, _ sched.TID, args abi.SysArgs) int64 {
	fd, addr, lenAddr := int(args[0]), args[1], args[2]
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &Sockets[i]
	spin.LockWord(&s.held)
	a, family, state, closed := s.Remote, s.Family, s.State, s.closedBeside()
	spin.UnlockWord(&s.held)
	switch {
	case closed:
		return -abi.EBADF
	case state != abi.SockConnected:
		return -abi.ENOTCONN
	}
	return writeSockaddr(family, a, addr, lenAddr)
}
