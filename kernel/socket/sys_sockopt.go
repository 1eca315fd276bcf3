package socket

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// setsockopt and getsockopt: the options package net sets, kept in the
// socket table and passed to the stack in its events. Unknown options fail
// with ENOPROTOOPT. Context: trap, kernel lock held.

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
// ENOPROTOOPT otherwise). Context: trap, kernel lock held; does not
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
// Context: trap, kernel lock held; does not allocate.
func ipv6Ignored(name int) bool {
	switch name {
	case unix.IPV6_UNICAST_HOPS, unix.IPV6_TCLASS, unix.IPV6_MULTICAST_LOOP, unix.IPV6_MULTICAST_HOPS:
		return true
	}
	return false
}

// SysSetsockopt records an option in the socket table and tells the stack.
// Context: trap, kernel lock held; does not allocate.
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
	if level == unix.SOL_SOCKET && name == unix.SO_LINGER {
		if n < 8 {
			return -abi.EINVAL
		}
		on, ok1 := vm.UserRead32(val)
		secs, ok2 := vm.UserRead32(val + 4)
		if !ok1 || !ok2 {
			return -abi.EFAULT
		}
		s.linger = -1
		if on != 0 {
			s.linger = int32(secs)
		}
		TellStack(i)
		return 0
	}
	if n < 4 {
		return -abi.EINVAL
	}
	v, ok := vm.UserRead32(val)
	if !ok {
		return -abi.EFAULT
	}
	if f := sockOptFlag(level, name); f != 0 {
		if f == abi.OptV6Only && s.bound {
			return -abi.EINVAL // man 7 ipv6: only before bind
		}
		if v != 0 {
			s.opts |= f
		} else {
			s.opts &^= f
		}
		TellStack(i)
		return 0
	}
	switch {
	case level == unix.IPPROTO_TCP && name == unix.TCP_KEEPIDLE:
		s.keep[0] = v
	case level == unix.IPPROTO_TCP && name == unix.TCP_KEEPINTVL:
		s.keep[1] = v
	case level == unix.IPPROTO_TCP && name == unix.TCP_KEEPCNT:
		s.keep[2] = v
	case level == unix.SOL_SOCKET && (name == unix.SO_RCVBUF || name == unix.SO_SNDBUF):
		return 0 // the rings have a fixed size
	case level == unix.IPPROTO_IP && (name == unix.IP_TOS || name == unix.IP_TTL || name == unix.IP_MULTICAST_LOOP):
		return 0 // accepted, not applied
	case level == unix.IPPROTO_IPV6 && ipv6Ignored(name):
		return 0 // accepted, not applied
	default:
		return -abi.ENOPROTOOPT
	}
	TellStack(i)
	return 0
}

// SysGetsockopt reports an option from the socket table (SO_ERROR reads
// and clears the pending error). Context: trap, kernel lock held; does not allocate.
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
	var v uint32
	switch {
	case level == unix.SOL_SOCKET && name == unix.SO_ERROR:
		v = uint32(s.SoError)
		s.SoError = 0
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
	case level == unix.IPPROTO_TCP && name == unix.TCP_KEEPIDLE:
		v = s.keep[0]
	case level == unix.IPPROTO_TCP && name == unix.TCP_KEEPINTVL:
		v = s.keep[1]
	case level == unix.IPPROTO_TCP && name == unix.TCP_KEEPCNT:
		v = s.keep[2]
	default:
		f := sockOptFlag(level, name)
		if f == 0 {
			return -abi.ENOPROTOOPT
		}
		if s.opts&f != 0 {
			v = 1
		}
	}
	l, ok := vm.UserRead32(lenAddr)
	if !ok {
		return -abi.EFAULT
	}
	if int32(l) < 0 {
		return -abi.EINVAL
	}
	var b [4]byte
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	n := min(uintptr(l), 4)
	dst, ok := vm.UserBytes(val, n, true)
	if !ok {
		return -abi.EFAULT
	}
	copy(dst, b[:])
	if !vm.UserWrite32(lenAddr, uint32(n)) {
		return -abi.EFAULT
	}
	return 0
}

// sockTypes maps the socket table's types to SOCK_* (SO_TYPE).
var sockTypes = [...]uint32{abi.SockStream: unix.SOCK_STREAM, abi.SockDgram: unix.SOCK_DGRAM, abi.SockRaw: unix.SOCK_RAW}

// sockProtocol is SO_PROTOCOL: TCP, UDP or the raw socket's protocol.
// Context: trap, kernel lock held; does not allocate.
func sockProtocol(s *socket) uint32 {
	switch s.Typ {
	case abi.SockStream:
		return unix.IPPROTO_TCP
	case abi.SockDgram:
		return unix.IPPROTO_UDP
	}
	return uint32(s.proto)
}
