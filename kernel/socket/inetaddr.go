package socket

import (
	"github.com/gometal/gometal/kernel/abi"
	"golang.org/x/sys/unix"
)

// Internet socket addresses for AF_INET and AF_INET6 sockets. The socket
// table keeps every address in 16 bytes, an IPv4 address in its
// IPv4-mapped form (::ffff:a.b.c.d), which is also how an AF_INET6 socket
// that is not IPV6_V6ONLY sees IPv4 peers (man 7 ipv6). The functions here
// are pure: the system calls read and write the program's memory around
// them. Context (every function): trap, kernel lock held (or a host test);
// none allocates.

const (
	sockaddrInSize  = 16 // struct sockaddr_in
	sockaddrIn6Size = 28 // struct sockaddr_in6
	sockaddrIn6Min  = 24 // SIN6_LEN_RFC2133: Linux takes a sockaddr_in6 without sin6_scope_id
)

// A SockAddr is an Internet socket address: the IP address in 16 bytes
// (an IPv4 one in its IPv4-mapped form) and the port.
type SockAddr struct {
	IP   [16]byte
	Port uint16
}

// v4Mapped returns the IPv4-mapped form of ip.
// Context: trap, kernel lock held; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func v4Mapped(ip [4]byte) [16]byte {
	return [16]byte{10: 0xff, 11: 0xff, 12: ip[0], 13: ip[1], 14: ip[2], 15: ip[3]}
}

// Is4 reports whether a is an IPv4 address (in IPv4-mapped form).
// Context: trap, kernel lock held; does not allocate.
//
// Not inlined: its copies at a dozen callers cost the image more than
// the calls (issue 16's budget).
//
//go:noinline
func (a SockAddr) Is4() bool {
	for k := range 10 {
		if a.IP[k] != 0 {
			return false
		}
	}
	return a.IP[10] == 0xff && a.IP[11] == 0xff
}

// V4 returns the IPv4 address of a mapped a.
// Context: trap, kernel lock held; does not allocate.
func (a SockAddr) V4() [4]byte { return [4]byte{a.IP[12], a.IP[13], a.IP[14], a.IP[15]} }

// unspecified reports whether a's address is 0.0.0.0 (mapped) or ::.
// Context: trap, kernel lock held; does not allocate.
// Not inlined: its copies cost the image 192 bytes (issue 16's budget).
//
//go:noinline
func (a SockAddr) unspecified() bool {
	return a.IP == [16]byte{} || a.Is4() && a.V4() == [4]byte{}
}

// loopback6 is ::1.
var loopback6 = [16]byte{15: 1}

// parseSockaddr decodes the sockaddr bytes b (the first min(addrlen, 28)
// bytes of the program's buffer) for a socket of family (abi.Family4 or
// abi.Family6), with Linux's errnos: a length short of the family's
// structure is EINVAL, another family EAFNOSUPPORT.
// Context: trap, files lock held; does not allocate.
func parseSockaddr(family uint8, b []byte) (SockAddr, int64) {
	var a SockAddr
	if len(b) < 2 {
		return a, -abi.EINVAL
	}
	fam := uint16(b[0]) | uint16(b[1])<<8
	if family == abi.Family6 {
		if len(b) < sockaddrIn6Min {
			return a, -abi.EINVAL
		}
		if fam != unix.AF_INET6 {
			return a, -abi.EAFNOSUPPORT
		}
		copy(a.IP[:], b[8:24])
	} else {
		if len(b) < sockaddrInSize {
			return a, -abi.EINVAL
		}
		if fam != unix.AF_INET {
			return a, -abi.EAFNOSUPPORT
		}
		a.IP = v4Mapped([4]byte{b[4], b[5], b[6], b[7]})
	}
	a.Port = uint16(b[2])<<8 | uint16(b[3])
	return a, 0
}

// formatSockaddr encodes a as the family's sockaddr into sa and returns
// its length: a sockaddr_in (16 bytes) or a sockaddr_in6 (28 bytes, flow
// information and scope 0).
// Context: trap, kernel lock held; does not allocate.
func formatSockaddr(family uint8, a SockAddr, sa *[sockaddrIn6Size]byte) int {
	*sa = [sockaddrIn6Size]byte{}
	sa[2], sa[3] = byte(a.Port>>8), byte(a.Port)
	if family == abi.Family6 {
		sa[0] = unix.AF_INET6
		copy(sa[8:24], a.IP[:])
		return sockaddrIn6Size
	}
	sa[0] = unix.AF_INET
	copy(sa[4:8], a.IP[12:])
	return sockaddrInSize
}

// bindScope is the part of the address space a bound socket holds: its
// IPv4 address (any4: all of them) if it takes IPv4 traffic, its IPv6
// address (any6) if it takes IPv6 traffic.
type bindScope struct {
	has4, any4 bool
	ip4        [4]byte
	has6, any6 bool
	ip6        [16]byte
}

// scopeOf returns what a socket of family bound to a holds: an AF_INET
// socket its IPv4 address; an AF_INET6 socket on :: both families unless
// v6only, on an IPv4-mapped address that IPv4 address, else its IPv6
// address. Linux's bind conflicts (man 7 ipv6) follow from the overlap.
// Context: trap, files lock held; does not allocate.
func scopeOf(family uint8, v6only bool, a SockAddr) bindScope {
	var s bindScope
	switch {
	case family != abi.Family6 || a.Is4():
		s.has4, s.any4, s.ip4 = true, a.V4() == [4]byte{}, a.V4()
	case a.IP == [16]byte{}:
		s.has6, s.any6 = true, true
		s.has4, s.any4 = !v6only, true
	default:
		s.has6, s.ip6 = true, a.IP
	}
	return s
}

// overlaps reports whether two bound sockets' scopes share an address, so
// that they cannot hold the same port.
// Context: trap, files lock held; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (s bindScope) overlaps(o bindScope) bool {
	if s.has4 && o.has4 && (s.any4 || o.any4 || s.ip4 == o.ip4) {
		return true
	}
	return s.has6 && o.has6 && (s.any6 || o.any6 || s.ip6 == o.ip6)
}
