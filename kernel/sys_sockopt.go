package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"golang.org/x/sys/unix"
)

// setsockopt and getsockopt: the options package net sets, kept in the
// socket table and passed to the stack in its events. Unknown options fail
// with ENOPROTOOPT. Context: trap, kernel lock held.

// sockOptFlag maps a boolean option to its abi.Opt* flag, 0 if it is not
// one.
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
	}
	return 0
}

// sysSetsockopt records an option in the socket table and tells the stack.
// Context: trap, kernel lock held; does not allocate.
func sysSetsockopt(fd, level, name int, val, n uintptr) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &sockets[i]
	if level == unix.SOL_SOCKET && name == unix.SO_LINGER {
		if n < 8 {
			return -_EINVAL
		}
		on, ok1 := userRead32(val)
		secs, ok2 := userRead32(val + 4)
		if !ok1 || !ok2 {
			return -_EFAULT
		}
		s.linger = -1
		if on != 0 {
			s.linger = int32(secs)
		}
		tellStack(i)
		return 0
	}
	if n < 4 {
		return -_EINVAL
	}
	v, ok := userRead32(val)
	if !ok {
		return -_EFAULT
	}
	if f := sockOptFlag(level, name); f != 0 {
		if v != 0 {
			s.opts |= f
		} else {
			s.opts &^= f
		}
		tellStack(i)
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
	default:
		return -_ENOPROTOOPT
	}
	tellStack(i)
	return 0
}

// sysGetsockopt reports an option from the socket table (SO_ERROR reads
// and clears the pending error). Context: trap, kernel lock held; does not allocate.
func sysGetsockopt(fd, level, name int, val, lenAddr uintptr) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	s := &sockets[i]
	var v uint32
	switch {
	case level == unix.SOL_SOCKET && name == unix.SO_ERROR:
		v = uint32(s.soError)
		s.soError = 0
	case level == unix.SOL_SOCKET && name == unix.SO_TYPE:
		v = unix.SOCK_STREAM
		if s.typ == abi.SockDgram {
			v = unix.SOCK_DGRAM
		}
	case level == unix.SOL_SOCKET && name == unix.SO_DOMAIN:
		v = unix.AF_INET
	case level == unix.SOL_SOCKET && name == unix.SO_ACCEPTCONN:
		if s.state == abi.SockListening {
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
			return -_ENOPROTOOPT
		}
		if s.opts&f != 0 {
			v = 1
		}
	}
	l, ok := userRead32(lenAddr)
	if !ok {
		return -_EFAULT
	}
	if int32(l) < 0 {
		return -_EINVAL
	}
	var b [4]byte
	b[0], b[1], b[2], b[3] = byte(v), byte(v>>8), byte(v>>16), byte(v>>24)
	n := min(uintptr(l), 4)
	dst, ok := userBytes(val, n, true)
	if !ok {
		return -_EFAULT
	}
	copy(dst, b[:])
	if !userWrite32(lenAddr, uint32(n)) {
		return -_EFAULT
	}
	return 0
}
