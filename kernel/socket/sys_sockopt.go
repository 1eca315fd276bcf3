package socket

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// setsockopt and getsockopt: the options package net sets, kept in the
// socket table and passed to the stack in its events. Unknown options fail
// with ENOPROTOOPT. On an Internet socket's descriptor both run under the
// files lock held shared (issue 18), changing and reading the socket
// under its own lock. Context: trap, files lock held.

// sockOptFlag maps a boolean option to its abi.Opt* flag, 0 if it is not
// one. Context: any; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func sockOptFlag(level, name int) uint32 {
	switch {
	case level == unix.SOL_SOCKET && name == unix.SO_REUSEADDR:
		return abi.OptReuseAddr
	case level == unix.SOL_SOCKET && name == unix.SO_KEEPALIVE:
		return abi.OptKeepAlive
	case level == unix.SOL_SOCKET && name == unix.SO_BROADCAST:
		return abi.OptBroadcast
	case level == unix.IPPROTO_TCP && name == unix.TCP_NODELAY:
		return abi.OptNoDelay
	case level == unix.IPPROTO_IPV6 && name == unix.IPV6_V6ONLY:
		return abi.OptV6Only
	}
	return 0
}

// optLevelServed reports whether socket s answers options of level: the
// IPv6 level only on AF_INET6 sockets, TCP only on streams (Linux:
// ENOPROTOOPT otherwise). Context: trap, files lock held; does not
// allocate.
func optLevelServed(s *socket, level int) bool {
	switch level {
	case unix.IPPROTO_IPV6:
		return s.Family == abi.Family6
	case unix.IPPROTO_TCP:
		return s.Typ == abi.SockStream
	}
	return true
}

// ipv6Ignored reports whether an IPv6-level option is taken and not
// applied (hop limits, traffic class, multicast loop), as the IPv4 ones.
// Context: any; does not allocate.
func ipv6Ignored(name int) bool {
	switch name {
	case unix.IPV6_UNICAST_HOPS, unix.IPV6_TCLASS, unix.IPV6_MULTICAST_LOOP, unix.IPV6_MULTICAST_HOPS:
		return true
	}
	return false
}

// SysSetsockopt records an option in the socket table and tells the stack.
// It runs on the locked path or, on an Internet socket's descriptor,
// under the files lock held shared (package kernel's fileCalls), beside
// the socket's reads and writes (SocketIO), the stack's read of its
// event and moves of its data (takeEvents, NetCtlSharedIoctl) and other
// option calls: it
// reads the option's value first and changes the socket under the
// socket's lock (setOptionHeld).
// Context: trap, files lock held; does not allocate.
func SysSetsockopt(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	fd, level, name, val, n := int(a[0]), int(a[1]), int(a[2]), a[3], a[4]
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &Sockets[i]
	if !optLevelServed(s, level) {
		return -abi.ENOPROTOOPT
	}
	linger := level == unix.SOL_SOCKET && name == unix.SO_LINGER
	if n < 4 || linger && n < 8 {
		return -abi.EINVAL
	}
	v, ok := vm.UserRead32(val)
	secs := uint32(0)
	if ok && linger {
		secs, ok = vm.UserRead32(val + 4)
	}
	if !ok {
		return -abi.EFAULT
	}
	return setOptionHeld(i, level, name, v, secs)
}

// setOptionHeld sets option name of level on socket i to v (SO_LINGER:
// on v, for secs seconds) and tells the stack (TellStack), under the
// socket's lock, or answers the errno of one it refuses.
// Context: trap, files lock held; does not allocate.
func setOptionHeld(i, level, name int, v, secs uint32) int64 {
	s := &Sockets[i]
	spin.LockWord(&s.held)
	r, tell := int64(0), true
	f := sockOptFlag(level, name)
	switch {
	case s.closedBeside():
		r = -abi.EBADF // its descriptor closed beside since the caller looked (CloseFD)
	case level == unix.SOL_SOCKET && name == unix.SO_LINGER:
		s.linger = -1
		if v != 0 {
			s.linger = int32(secs)
		}
	case f == abi.OptV6Only && s.bound:
		r = -abi.EINVAL // man 7 ipv6: only before bind
	case f != 0 && v != 0:
		s.opts |= f
	case f != 0:
		s.opts &^= f
	case level == unix.IPPROTO_TCP && name >= unix.TCP_KEEPIDLE && name <= unix.TCP_KEEPCNT:
		s.keep[name-unix.TCP_KEEPIDLE] = v // TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT
	case level == unix.SOL_SOCKET && (name == unix.SO_RCVBUF || name == unix.SO_SNDBUF),
		level == unix.IPPROTO_IP && (name == unix.IP_TOS || name == unix.IP_TTL || name == unix.IP_MULTICAST_LOOP),
		level == unix.IPPROTO_IPV6 && ipv6Ignored(name):
		tell = false // accepted, not applied (the rings have a fixed size)
	default:
		r = -abi.ENOPROTOOPT
	}
	if r == 0 && tell {
		TellStack(i)
	}
	spin.UnlockWord(&s.held)
	return r
}

// SysGetsockopt reports an option from the socket table (SO_ERROR reads
// and clears the pending error), on the locked path or, on an Internet
// socket's descriptor, under the files lock held shared (package
// kernel's fileCalls): the value is read under the socket's lock
// (optionValueHeld), as a read, a write or a setsockopt beside it may take
// the pending error or change an option.
// Context: trap, files lock held; does not allocate.
func SysGetsockopt(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	fd, level, name, val, lenAddr := int(a[0]), int(a[1]), int(a[2]), a[3], a[4]
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &Sockets[i]
	if !optLevelServed(s, level) {
		return -abi.ENOPROTOOPT
	}
	v, known := optionValueHeld(i, level, name)
	if !known {
		return -abi.ENOPROTOOPT
	}
	b := [4]byte{byte(v), byte(v >> 8), byte(v >> 16), byte(v >> 24)}
	return putTruncated(b[:], val, lenAddr, false)
}

// optionValueHeld returns option name of level of socket i, read under
// the socket's lock, and false for one it does not know (ENOPROTOOPT);
// SO_ERROR takes the pending error.
// Context: trap, files lock held; does not allocate.
func optionValueHeld(i, level, name int) (uint32, bool) {
	s := &Sockets[i]
	spin.LockWord(&s.held)
	var v uint32
	known := true
	switch {
	case level == unix.SOL_SOCKET && name == unix.SO_ERROR:
		v = uint32(s.SoError)
		atomic.StoreInt32(&s.SoError, 0) // SockReadiness may load it beside
	case level == unix.SOL_SOCKET && name == unix.SO_TYPE:
		v = sockTypes[s.Typ]
	case level == unix.SOL_SOCKET && name == unix.SO_PROTOCOL:
		v = sockProtocol(s)
	case level == unix.SOL_SOCKET && name == unix.SO_DOMAIN:
		v = unix.AF_INET
		if s.Family == abi.Family6 {
			v = unix.AF_INET6
		}
	case level == unix.SOL_SOCKET && name == unix.SO_ACCEPTCONN:
		if s.State == abi.SockListening {
			v = 1
		}
	case level == unix.SOL_SOCKET && (name == unix.SO_RCVBUF || name == unix.SO_SNDBUF):
		v = sockBufSize
	case level == unix.IPPROTO_TCP && name >= unix.TCP_KEEPIDLE && name <= unix.TCP_KEEPCNT:
		v = s.keep[name-unix.TCP_KEEPIDLE] // TCP_KEEPIDLE, TCP_KEEPINTVL, TCP_KEEPCNT
	default:
		f := sockOptFlag(level, name)
		known = f != 0
		if s.opts&f != 0 {
			v = 1
		}
	}
	spin.UnlockWord(&s.held)
	return v, known
}

// sockTypes maps the socket table's types to SOCK_* (SO_TYPE).
var sockTypes = [...]uint32{abi.SockStream: unix.SOCK_STREAM, abi.SockDgram: unix.SOCK_DGRAM, abi.SockRaw: unix.SOCK_RAW}

// sockProtocol is SO_PROTOCOL: TCP, UDP or the raw socket's protocol.
// Context: trap, files lock held; does not allocate.
func sockProtocol(s *socket) uint32 {
	switch s.Typ {
	case abi.SockStream:
		return unix.IPPROTO_TCP
	case abi.SockDgram:
		return unix.IPPROTO_UDP
	}
	return uint32(s.proto)
}
