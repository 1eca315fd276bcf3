// Command badsockets makes socket system calls with bad arguments and
// prints the errno each returns: the kernel's socket layer must answer bad
// input with the errors Linux gives, and never crash or hang. It imports
// package net so that the image has a network stack. The boot test
// compares the output with the same program on the host.
package main

import (
	"fmt"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bad is an address nothing is mapped at, in the user half.
const bad = uintptr(0x10)

func call(name string, nr uintptr, a ...uintptr) uintptr {
	var args [6]uintptr
	copy(args[:], a)
	// Syscall6, not RawSyscall6: the kernel's bind and listen wait for the
	// network stack, a goroutine that needs this thread's P meanwhile
	// (docs/networking.md).
	r1, _, e := syscall.Syscall6(nr, args[0], args[1], args[2], args[3], args[4], args[5])
	if e != 0 {
		fmt.Printf("%-40s %s\n", name, e.Error())
		return ^uintptr(0)
	}
	fmt.Printf("%-40s ok\n", name)
	return r1
}

func sockaddr(family uint16, port uint16, ip [4]byte) []byte {
	b := make([]byte, 16)
	b[0], b[1] = byte(family), byte(family>>8)
	b[2], b[3] = byte(port>>8), byte(port)
	copy(b[4:], ip[:])
	return b
}

func ptr(b []byte) uintptr { return uintptr(unsafe.Pointer(&b[0])) }

func main() {
	_ = net.IPv4len // the image links the network stack when net is imported
	call("socket: TCP type with the UDP protocol", unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_UDP)
	call("socket: unknown type", unix.SYS_SOCKET, unix.AF_INET, 99, 0)
	tcp := call("socket: TCP", unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	udp := call("socket: UDP", unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	any := sockaddr(unix.AF_INET, 0, [4]byte{127, 0, 0, 1})
	discard := sockaddr(unix.AF_INET, 9, [4]byte{127, 0, 0, 1})
	six := sockaddr(unix.AF_INET6, 0, [4]byte{})
	buf := make([]byte, 64)
	var n uint32 = 16
	np := uintptr(unsafe.Pointer(&n))

	call("bind: bad address", unix.SYS_BIND, tcp, bad, 16)
	call("bind: short address", unix.SYS_BIND, tcp, ptr(any), 2)
	call("bind: IPv6 address on IPv4 socket", unix.SYS_BIND, tcp, ptr(six), 16)
	call("bind: not a socket", unix.SYS_BIND, 1, ptr(any), 16)
	call("bind: bad descriptor", unix.SYS_BIND, 999, ptr(any), 16)
	call("connect: not a socket", unix.SYS_CONNECT, 1, ptr(any), 16)
	call("listen: UDP socket", unix.SYS_LISTEN, udp, 5)
	call("accept4: not listening", unix.SYS_ACCEPT4, tcp, 0, 0, 0)
	call("accept4: bad flags", unix.SYS_ACCEPT4, tcp, 0, 0, 0x7)
	call("getsockopt: unknown option", unix.SYS_GETSOCKOPT, tcp, unix.SOL_SOCKET, 9999, ptr(buf), np)
	call("getsockopt: bad length pointer", unix.SYS_GETSOCKOPT, tcp, unix.SOL_SOCKET, unix.SO_TYPE, ptr(buf), bad)
	call("setsockopt: zero length", unix.SYS_SETSOCKOPT, tcp, unix.SOL_SOCKET, unix.SO_REUSEADDR, ptr(buf), 0)
	call("setsockopt: bad value pointer", unix.SYS_SETSOCKOPT, tcp, unix.SOL_SOCKET, unix.SO_REUSEADDR, bad, 4)
	call("getpeername: not connected", unix.SYS_GETPEERNAME, tcp, ptr(buf), np)
	call("shutdown: not connected", unix.SYS_SHUTDOWN, tcp, unix.SHUT_WR)
	call("read: TCP not connected", unix.SYS_READ, tcp, ptr(buf), 10)
	call("sendto: TCP not connected", unix.SYS_SENDTO, tcp, ptr(buf), 10, unix.MSG_NOSIGNAL, 0, 0)
	call("sendto: UDP without destination", unix.SYS_SENDTO, udp, ptr(buf), 10, 0, 0, 0)
	call("sendmsg: bad header", unix.SYS_SENDMSG, udp, bad, 0)
	var msg unix.Msghdr
	msg.Name = &discard[0]
	msg.Namelen = 16
	iov := unix.Iovec{Base: &buf[0]}
	iov.SetLen(4)
	msg.Iov = &iov
	msg.SetIovlen(5000)
	call("sendmsg: too many iovecs", unix.SYS_SENDMSG, udp, uintptr(unsafe.Pointer(&msg)), 0)
	msg.SetIovlen(1)
	// An iovec whose buffer is the unmapped address bad, built as raw
	// words: a Go pointer may not hold it.
	badIov := [2]uint64{uint64(bad), 4}
	msg.Iov = (*unix.Iovec)(unsafe.Pointer(&badIov))
	call("sendmsg: bad iovec buffer", unix.SYS_SENDMSG, udp, uintptr(unsafe.Pointer(&msg)), 0)
	call("recvfrom: UDP, nothing there (MSG_DONTWAIT)", unix.SYS_RECVFROM, udp, ptr(buf), 64, unix.MSG_DONTWAIT, 0, 0)
	udp2 := call("socket: another UDP", unix.SYS_SOCKET, unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	call("bind: UDP to loopback", unix.SYS_BIND, udp2, ptr(any), 16)
	call("bind: UDP again", unix.SYS_BIND, udp2, ptr(any), 16)
	call("close: another UDP", unix.SYS_CLOSE, udp2)
	call("close: TCP", unix.SYS_CLOSE, tcp)
	call("close: UDP", unix.SYS_CLOSE, udp)
	call("listen: closed descriptor", unix.SYS_LISTEN, tcp, 5)
	unixCases()
}

// unixPath is a sockaddr_un of n bytes naming path.
func unixPath(path string, n int) []byte {
	b := make([]byte, 110)
	b[0] = unix.AF_UNIX
	copy(b[2:], path)
	return b[:n]
}

// unixCases makes Unix-domain socket calls with bad arguments.
func unixCases() {
	call("socket: AF_UNIX, bad protocol", unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM, 7)
	call("socket: AF_UNIX, SOCK_RDM", unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_RDM, 0)
	call("socket: AF_UNIX, type 12", unix.SYS_SOCKET, unix.AF_UNIX, 12, 0)
	call("socketpair: bad vector", unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM, 0, bad)
	var sv [2]int32
	call("socketpair: AF_INET", unix.SYS_SOCKETPAIR, unix.AF_INET, unix.SOCK_STREAM, 0, uintptr(unsafe.Pointer(&sv)))
	s := call("socket: AF_UNIX stream", unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	d := call("socket: AF_UNIX datagram", unix.SYS_SOCKET, unix.AF_UNIX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	buf := make([]byte, 64)
	var n uint32 = 110
	np := uintptr(unsafe.Pointer(&n))
	missing := unixPath("/nonexistent-gometal-dir/s", 30)
	call("bind: AF_UNIX, bad address", unix.SYS_BIND, s, bad, 20)
	call("bind: AF_UNIX, length 1", unix.SYS_BIND, s, ptr(unixPath("", 2)), 1)
	call("bind: AF_UNIX, length 111", unix.SYS_BIND, s, ptr(append(unixPath("x", 110), 0)), 111)
	call("bind: AF_UNIX, AF_INET address", unix.SYS_BIND, s, ptr(sockaddr(unix.AF_INET, 0, [4]byte{})), 16)
	call("bind: AF_UNIX, missing directory", unix.SYS_BIND, s, ptr(missing), 30)
	call("connect: AF_UNIX, missing path", unix.SYS_CONNECT, s, ptr(missing), 30)
	call("connect: AF_UNIX, family alone", unix.SYS_CONNECT, s, ptr(unixPath("", 2)), 2)
	call("connect: AF_UNIX, abstract nobody has", unix.SYS_CONNECT, s, ptr(unixPath("\x00gometal-nobody", 19)), 19)
	call("listen: AF_UNIX, unbound", unix.SYS_LISTEN, s, 5)
	call("listen: AF_UNIX, datagram", unix.SYS_LISTEN, d, 5)
	call("accept4: AF_UNIX, not listening", unix.SYS_ACCEPT4, s, 0, 0, 0)
	call("accept4: AF_UNIX, datagram", unix.SYS_ACCEPT4, d, 0, 0, 0)
	call("read: AF_UNIX stream, not connected", unix.SYS_READ, s, ptr(buf), 10)
	call("write: AF_UNIX stream, not connected", unix.SYS_WRITE, s, ptr(buf), 10)
	call("sendto: AF_UNIX stream with an address", unix.SYS_SENDTO, s, ptr(buf), 10, 0, ptr(missing), 30)
	call("sendto: AF_UNIX datagram, no peer", unix.SYS_SENDTO, d, ptr(buf), 10, 0, 0, 0)
	call("sendto: AF_UNIX datagram, missing path", unix.SYS_SENDTO, d, ptr(buf), 10, 0, ptr(missing), 30)
	call("recvfrom: AF_UNIX datagram, nothing (MSG_DONTWAIT)", unix.SYS_RECVFROM, d, ptr(buf), 10, unix.MSG_DONTWAIT, 0, 0)
	call("shutdown: AF_UNIX, bad how", unix.SYS_SHUTDOWN, s, 7)
	call("shutdown: AF_UNIX, not connected", unix.SYS_SHUTDOWN, s, unix.SHUT_RDWR)
	call("getsockopt: AF_UNIX, TCP level", unix.SYS_GETSOCKOPT, s, unix.IPPROTO_TCP, unix.TCP_NODELAY, ptr(buf), np)
	call("getsockopt: AF_UNIX, unknown option", unix.SYS_GETSOCKOPT, s, unix.SOL_SOCKET, 9999, ptr(buf), np)
	call("getpeername: AF_UNIX, not connected", unix.SYS_GETPEERNAME, s, ptr(buf), np)
	call("recvmsg: AF_UNIX, bad header", unix.SYS_RECVMSG, d, bad, unix.MSG_DONTWAIT)

	var pair [2]int32
	call("socketpair: AF_UNIX stream", unix.SYS_SOCKETPAIR, unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0, uintptr(unsafe.Pointer(&pair)))
	iov := unix.Iovec{Base: &buf[0]}
	iov.SetLen(1)
	var msg unix.Msghdr
	msg.Iov = &iov
	msg.SetIovlen(1)
	rights := unix.UnixRights(999)
	msg.Control = &rights[0]
	msg.SetControllen(len(rights))
	call("sendmsg: SCM_RIGHTS of a closed descriptor", unix.SYS_SENDMSG, uintptr(pair[0]), uintptr(unsafe.Pointer(&msg)), 0)
	rights = unix.UnixRights(int(pair[1]))
	rights[0] = 200 // cmsg_len beyond the control data
	msg.Control = &rights[0]
	call("sendmsg: cmsg_len too long", unix.SYS_SENDMSG, uintptr(pair[0]), uintptr(unsafe.Pointer(&msg)), 0)
	badCtl := [7]uint64{0, 0, uint64(uintptr(unsafe.Pointer(&iov))), 1, uint64(bad), 24, 0}
	call("sendmsg: bad control pointer", unix.SYS_SENDMSG, uintptr(pair[0]), uintptr(unsafe.Pointer(&badCtl)), 0)
	for _, fd := range []uintptr{s, d, uintptr(pair[0]), uintptr(pair[1])} {
		call("close: AF_UNIX", unix.SYS_CLOSE, fd)
	}
}
