// Command inet6 exercises IPv6 and raw IP sockets over loopback: TCP and
// UDP over ::1, dual-stack sockets that see IPv4 peers as IPv4-mapped
// addresses, IPV6_V6ONLY and the bind conflicts it changes, the errnos of
// bad IPv6 socket calls, an ICMP echo over a raw socket, and lo's
// addresses. It prints no ports or times, so the boot test compares its
// output with the same program on the host (which needs IPv6 on lo and
// root for the raw socket).
package main

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	tcp6()
	dualStack()
	v6only()
	badCalls()
	udp6()
	rawICMP()
	loAddrs()
	fmt.Println("done")
}

func check(what string, err error) {
	if err != nil {
		fmt.Printf("%s: %v\n", what, err)
		os.Exit(1)
	}
}

// errno prints the outcome of a system call.
func errno(what string, err error) {
	if err == nil {
		fmt.Printf("%-50s ok\n", what)
		return
	}
	fmt.Printf("%-50s %v\n", what, err)
}

// ipOf is the address of a without the port.
func ipOf(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	return ap.Addr().String()
}

// tcp6 echoes over ::1, and connects to :: (this host, as on Linux).
func tcp6() {
	ln, err := net.Listen("tcp6", "[::1]:0")
	check("listen tcp6", err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 64)
				n, _ := c.Read(b)
				c.Write(bytes.ToUpper(b[:n]))
			}()
		}
	}()
	port := ln.Addr().(*net.TCPAddr).Port
	for _, host := range []string{"::1", "::"} {
		c, err := net.Dial("tcp6", net.JoinHostPort(host, fmt.Sprint(port)))
		check("dial tcp6", err)
		c.Write([]byte("hello over " + host))
		b := make([]byte, 64)
		n, err := c.Read(b)
		check("read tcp6", err)
		fmt.Printf("tcp6 dial %s: %q local %s remote %s\n", host, b[:n], ipOf(c.LocalAddr()), ipOf(c.RemoteAddr()))
		c.Close()
	}
}

// sockaddr6 is a struct sockaddr_in6 for ip and port.
func sockaddr6(ip string, port int) *unix.SockaddrInet6 {
	return &unix.SockaddrInet6{Port: port, Addr: netip.MustParseAddr(ip).As16()}
}

// socket makes a socket or exits.
func socket(domain, typ, proto int) int {
	fd, err := unix.Socket(domain, typ|unix.SOCK_CLOEXEC, proto)
	check("socket", err)
	return fd
}

// describe prints a socket address as the kernel wrote it.
func describe(sa unix.Sockaddr) string {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return "AF_INET " + netip.AddrFrom4(a.Addr).String()
	case *unix.SockaddrInet6:
		return "AF_INET6 " + netip.AddrFrom16(a.Addr).String()
	}
	return fmt.Sprintf("%T", sa)
}

// dualStack accepts an IPv4 connection on an AF_INET6 listener on ::.
func dualStack() {
	l := socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
	defer unix.Close(l)
	check("v6only 0", unix.SetsockoptInt(l, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0))
	check("bind ::", unix.Bind(l, sockaddr6("::", 0)))
	check("listen", unix.Listen(l, 8))
	sa, err := unix.Getsockname(l)
	check("getsockname", err)
	port := sa.(*unix.SockaddrInet6).Port
	fmt.Println("dual-stack listener:", describe(sa))

	c := socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	defer unix.Close(c)
	check("connect 127.0.0.1", unix.Connect(c, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}))
	a, peer, err := unix.Accept(l)
	check("accept", err)
	defer unix.Close(a)
	local, err := unix.Getsockname(a)
	check("getsockname", err)
	fmt.Println("accepted IPv4 peer:", describe(peer), "local", describe(local))
	unix.Write(c, []byte("v4 to v6"))
	b := make([]byte, 16)
	n, _ := unix.Read(a, b)
	fmt.Printf("read %q\n", b[:n])

	// Package net over the same: a "tcp" listener on the wildcard is
	// dual-stack.
	ln, err := net.Listen("tcp", ":0")
	check("listen tcp", err)
	defer ln.Close()
	accepted := make(chan string, 2)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- ipOf(c.RemoteAddr())
			c.Close()
		}
	}()
	for _, nw := range []string{"tcp4", "tcp6"} {
		host := map[string]string{"tcp4": "127.0.0.1", "tcp6": "::1"}[nw]
		c, err := net.Dial(nw, net.JoinHostPort(host, fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)))
		check("dial", err)
		fmt.Printf("net: %s dial to the wildcard listener: local %s, accepted from %s\n", nw, ipOf(c.LocalAddr()), <-accepted)
		c.Close()
	}
}

// v6only shows the bind conflicts IPV6_V6ONLY changes (man 7 ipv6).
func v6only() {
	s6 := socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
	defer unix.Close(s6)
	check("v6only 1", unix.SetsockoptInt(s6, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1))
	v, err := unix.GetsockoptInt(s6, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY)
	fmt.Println("getsockopt IPV6_V6ONLY:", v, err)
	check("bind", unix.Bind(s6, sockaddr6("::", 0)))
	sa, _ := unix.Getsockname(s6)
	port := sa.(*unix.SockaddrInet6).Port
	errno("setsockopt IPV6_V6ONLY after bind", unix.SetsockoptInt(s6, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0))
	check("listen", unix.Listen(s6, 8))

	s4 := socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	defer unix.Close(s4)
	errno("bind 0.0.0.0 beside a v6-only ::", unix.Bind(s4, &unix.SockaddrInet4{Port: port}))
	d := socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
	defer unix.Close(d)
	errno("bind dual-stack :: on the same port", unix.Bind(d, sockaddr6("::", port)))
	c := socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	defer unix.Close(c)
	errno("connect 127.0.0.1 to the v6-only listener", unix.Connect(c, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}))
	c6 := socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
	defer unix.Close(c6)
	errno("connect ::1 to the v6-only listener", unix.Connect(c6, sockaddr6("::1", port)))

	o := socket(unix.AF_INET6, unix.SOCK_DGRAM, 0)
	defer unix.Close(o)
	unix.SetsockoptInt(o, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
	errno("v6-only bind ::ffff:127.0.0.1", unix.Bind(o, sockaddr6("::ffff:127.0.0.1", 0)))
	errno("v6-only sendto ::ffff:127.0.0.1", unix.Sendto(o, []byte("x"), 0, sockaddr6("::ffff:127.0.0.1", 9)))
}

// raw calls a socket system call with a raw address of n bytes.
func raw(what string, nr uintptr, fd int, b []byte, n int) {
	_, _, e := unix.Syscall(nr, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(n))
	if e != 0 {
		errno(what, e)
		return
	}
	errno(what, nil)
}

func badCalls() {
	s := socket(unix.AF_INET6, unix.SOCK_STREAM, 0)
	defer unix.Close(s)
	var sa [28]byte
	sa[0] = unix.AF_INET6
	sa[23] = 1 // ::1
	raw("bind sockaddr_in6 of 23 bytes", unix.SYS_BIND, s, sa[:], 23)
	sa4 := sa
	sa4[0] = unix.AF_INET
	raw("bind sockaddr_in on an AF_INET6 socket", unix.SYS_BIND, s, sa4[:], 28)
	doc := netip.MustParseAddr("2001:db8::1").As16()
	copy(sa[8:], doc[:])
	raw("bind 2001:db8::1 (not this host's)", unix.SYS_BIND, s, sa[:], 28)
	raw("bind ::1 without sin6_scope_id (24 bytes)", unix.SYS_BIND, s, append(make([]byte, 0, 28), unix.AF_INET6, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1), 24)
	raw("bind again", unix.SYS_BIND, s, sa[:], 28)

	// getsockname into 16 bytes: truncated, the full length back.
	n := uint32(16)
	var out [28]byte
	_, _, e := unix.Syscall(unix.SYS_GETSOCKNAME, uintptr(s), uintptr(unsafe.Pointer(&out[0])), uintptr(unsafe.Pointer(&n)))
	fmt.Printf("getsockname into 16 bytes: errno %d, length %d, family %d, rest untouched %v\n", e, n, out[0], [12]byte(out[16:]) == [12]byte{})

	v4 := socket(unix.AF_INET, unix.SOCK_STREAM, 0)
	defer unix.Close(v4)
	errno("IPV6_V6ONLY on an AF_INET socket", unix.SetsockoptInt(v4, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1))
	for _, fd := range []int{v4, s} {
		d, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
		p, _ := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PROTOCOL)
		fmt.Println("SO_DOMAIN", d, "SO_PROTOCOL", p)
	}
	_, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM, 262) // IPPROTO_MPTCP
	fmt.Println("socket IPPROTO_MPTCP:", mptcpOutcome(err))
}

// mptcpOutcome is what package net makes of socket(IPPROTO_MPTCP): a
// Linux built without MPTCP says EPROTONOSUPPORT and net falls back to
// TCP; the host may have MPTCP, the image does not.
func mptcpOutcome(err error) string {
	if err == nil || err == unix.EPROTONOSUPPORT {
		return "ok or EPROTONOSUPPORT"
	}
	return err.Error()
}

// udp6 sends datagrams over ::1 and from IPv4 to a dual-stack socket.
func udp6() {
	r, err := net.ListenPacket("udp6", "[::1]:0")
	check("listen udp6", err)
	defer r.Close()
	s, err := net.ListenPacket("udp6", "[::1]:0")
	check("listen udp6", err)
	defer s.Close()
	_, err = s.WriteTo([]byte("datagram over ::1"), r.LocalAddr())
	check("write", err)
	b := make([]byte, 64)
	r.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, from, err := r.ReadFrom(b)
	check("read", err)
	fmt.Printf("udp6: %q from %s\n", b[:n], ipOf(from))

	d := socket(unix.AF_INET6, unix.SOCK_DGRAM, 0)
	defer unix.Close(d)
	check("bind", unix.Bind(d, sockaddr6("::", 0)))
	sa, _ := unix.Getsockname(d)
	port := sa.(*unix.SockaddrInet6).Port
	c := socket(unix.AF_INET, unix.SOCK_DGRAM, 0)
	defer unix.Close(c)
	check("sendto", unix.Sendto(c, []byte("v4 datagram"), 0, &unix.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}))
	unix.SetsockoptTimeval(d, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 5})
	n, src, err := unix.Recvfrom(d, b, 0)
	check("recvfrom", err)
	fmt.Printf("dual-stack udp: %q from %s\n", b[:n], describe(src))
	connectedUDP()
}

// connectedUDP: a connected UDP socket takes datagrams from its peer alone.
func connectedUDP() {
	a, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	check("listen", err)
	defer a.Close()
	peer, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	check("listen", err)
	defer peer.Close()
	other, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback})
	check("listen", err)
	defer other.Close()
	f, err := a.File()
	check("file", err)
	defer f.Close()
	fd := int(f.Fd())
	pa := peer.LocalAddr().(*net.UDPAddr)
	check("connect", unix.Connect(fd, sockaddr6("::1", pa.Port)))
	other.WriteTo([]byte("from a stranger"), a.LocalAddr())
	peer.WriteTo([]byte("from the peer"), a.LocalAddr())
	b := make([]byte, 64)
	n, err := unix.Read(fd, b)
	check("read", err)
	fmt.Printf("connected udp6 reads %q\n", b[:n])
	time.Sleep(200 * time.Millisecond)
	_, _, err = unix.Recvfrom(fd, b, unix.MSG_DONTWAIT)
	errno("then nothing more", err)
}

// rawICMP pings 127.0.0.1 over a raw ICMP socket and names a raw socket's
// addresses.
func rawICMP() {
	_, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, 0)
	errno("socket SOCK_RAW protocol 0", err)
	c, err := net.ListenPacket("ip4:icmp", "127.0.0.1")
	check("listen ip4:icmp", err)
	defer c.Close()
	fmt.Println("raw local address:", c.LocalAddr())
	f, err := c.(*net.IPConn).File()
	check("file", err)
	sa, err := unix.Getsockname(int(f.Fd()))
	check("getsockname", err)
	fmt.Printf("raw getsockname: %s port %d\n", describe(sa), sa.(*unix.SockaddrInet4).Port)
	f.Close()

	const id, seq = 0x4d47, 7
	msg := []byte{8, 0, 0, 0, id >> 8, id & 0xff, 0, seq, 'p', 'i', 'n', 'g'}
	sum := checksum(msg)
	msg[2], msg[3] = byte(sum>>8), byte(sum)
	_, err = c.WriteTo(msg, &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)})
	check("write icmp", err)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(b)
		check("read icmp", err)
		if n >= 8 && b[0] == 0 && int(b[4])<<8|int(b[5]) == id {
			fmt.Printf("echo reply from %s: seq %d %q checksum ok %v\n", from, b[7], b[8:n], checksum(b[:n]) == 0)
			break
		}
	}

	ping6()

	d, err := net.DialIP("ip4:tcp", nil, &net.IPAddr{IP: net.IPv4(127, 0, 0, 1)})
	check("dial ip4:tcp", err)
	fmt.Println("raw tcp remote:", d.RemoteAddr(), "local:", d.LocalAddr())
	d.Close()
	u, err := net.Dial("udp6", "[::]:9")
	check("dial udp6", err)
	fmt.Println("connected udp6 to :: local:", ipOf(u.LocalAddr()), "remote:", ipOf(u.RemoteAddr()))
	u.Close()
	u4 := socket(unix.AF_INET6, unix.SOCK_DGRAM, 0)
	defer unix.Close(u4)
	errno("connect udp6 to ::ffff:127.0.0.2", unix.Connect(u4, sockaddr6("::ffff:127.0.0.2", 9)))
	sa, _ = unix.Getsockname(u4)
	fmt.Println("its local address:", describe(sa))
}

// ping6 sends an ICMPv6 echo request to ::1 over a raw socket: the
// kernel computes the checksum (man 7 raw: IPV6_CHECKSUM is on for
// ICMPv6), and a read returns the ICMPv6 message without the IPv6 header.
func ping6() {
	c, err := net.ListenPacket("ip6:ipv6-icmp", "::1")
	check("listen ip6:ipv6-icmp", err)
	defer c.Close()
	const id, seq = 0x4d48, 9
	msg := []byte{128, 0, 0, 0, id >> 8, id & 0xff, 0, seq, 'p', 'i', 'n', 'g', '6'}
	_, err = c.WriteTo(msg, &net.IPAddr{IP: net.IPv6loopback})
	check("write icmpv6", err)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b := make([]byte, 1500)
	for {
		n, from, err := c.ReadFrom(b)
		check("read icmpv6", err)
		if n >= 8 && b[0] == 129 && int(b[4])<<8|int(b[5]) == id {
			fmt.Printf("echo6 reply from %s: seq %d %q\n", from, b[7], b[8:n])
			return
		}
	}
}

// checksum is the Internet checksum of b.
func checksum(b []byte) uint16 {
	var s uint32
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}

// loAddrs lists lo's addresses as route netlink gives them.
func loAddrs() {
	lo, err := net.InterfaceByName("lo")
	check("lo", err)
	addrs, err := lo.Addrs()
	check("lo addrs", err)
	var s []string
	for _, a := range addrs {
		s = append(s, a.String())
	}
	fmt.Println("lo:", strings.Join(s, " "))
	_ = syscall.AF_INET6
}
