package socket

import (
	"encoding/binary"
	"net/netip"
	"syscall"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// rawSockaddr6 is the bytes of a struct sockaddr_in6 as the syscall
// package lays it out.
func rawSockaddr6(ip netip.Addr, port uint16) []byte {
	var sa syscall.RawSockaddrInet6
	sa.Family = unix.AF_INET6
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], port)
	sa.Addr = ip.As16()
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))...)
}

func rawSockaddr4(ip [4]byte, port uint16) []byte {
	var sa syscall.RawSockaddrInet4
	sa.Family = unix.AF_INET
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], port)
	sa.Addr = ip
	return append([]byte(nil), unsafe.Slice((*byte)(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))...)
}

func TestParseSockaddr6(t *testing.T) {
	b := rawSockaddr6(netip.MustParseAddr("::1"), 8080)
	require.Len(t, b, sockaddrIn6Size)
	a, e := parseSockaddr(abi.Family6, b)
	require.Zero(t, e)
	assert.Equal(t, loopback6, a.IP)
	assert.Equal(t, uint16(8080), a.Port)
	assert.False(t, a.Is4())

	a, e = parseSockaddr(abi.Family6, b[:sockaddrIn6Min])
	require.Zero(t, e, "Linux takes the RFC 2133 length, without sin6_scope_id")
	assert.Equal(t, uint16(8080), a.Port)

	_, e = parseSockaddr(abi.Family6, b[:sockaddrIn6Min-1])
	assert.Equal(t, -abi.EINVAL, e, "short")
	_, e = parseSockaddr(abi.Family6, append(rawSockaddr4([4]byte{127, 0, 0, 1}, 1), make([]byte, 12)...))
	assert.Equal(t, -abi.EAFNOSUPPORT, e, "a sockaddr_in on an AF_INET6 socket")

	m, e := parseSockaddr(abi.Family6, rawSockaddr6(netip.MustParseAddr("::ffff:10.0.2.15"), 1))
	require.Zero(t, e)
	assert.True(t, m.Is4())
	assert.Equal(t, [4]byte{10, 0, 2, 15}, m.V4())
}

func TestParseSockaddr4(t *testing.T) {
	a, e := parseSockaddr(abi.Family4, rawSockaddr4([4]byte{127, 0, 0, 1}, 53))
	require.Zero(t, e)
	assert.True(t, a.Is4())
	assert.Equal(t, v4Mapped([4]byte{127, 0, 0, 1}), a.IP)
	assert.Equal(t, uint16(53), a.Port)
	_, e = parseSockaddr(abi.Family4, rawSockaddr4([4]byte{}, 1)[:15])
	assert.Equal(t, -abi.EINVAL, e)
	_, e = parseSockaddr(abi.Family4, rawSockaddr6(netip.IPv6Unspecified(), 1))
	assert.Equal(t, -abi.EAFNOSUPPORT, e)
	_, e = parseSockaddr(abi.Family4, []byte{2})
	assert.Equal(t, -abi.EINVAL, e)
}

func TestFormatSockaddr(t *testing.T) {
	var sa [sockaddrIn6Size]byte
	a := SockAddr{IP: v4Mapped([4]byte{127, 0, 0, 1}), Port: 4242}
	n := formatSockaddr(abi.Family6, a, &sa)
	assert.Equal(t, rawSockaddr6(netip.MustParseAddr("::ffff:127.0.0.1"), 4242), sa[:n], "IPv4 peers of an AF_INET6 socket are IPv4-mapped")
	n = formatSockaddr(abi.Family4, a, &sa)
	assert.Equal(t, rawSockaddr4([4]byte{127, 0, 0, 1}, 4242), sa[:n])
	for _, s := range []string{"::", "::1", "fe80::1:2", "2001:db8::ff"} {
		ip := netip.MustParseAddr(s)
		n = formatSockaddr(abi.Family6, SockAddr{IP: ip.As16(), Port: 7}, &sa)
		back, e := parseSockaddr(abi.Family6, sa[:n])
		require.Zero(t, e)
		assert.Equal(t, ip.As16(), back.IP, s)
	}
}

func TestBindScopes(t *testing.T) {
	any6 := SockAddr{}
	any4 := SockAddr{IP: v4Mapped([4]byte{})}
	lo4 := SockAddr{IP: v4Mapped([4]byte{127, 0, 0, 1})}
	lo6 := SockAddr{IP: loopback6}
	dual := scopeOf(abi.Family6, false, any6)
	only6 := scopeOf(abi.Family6, true, any6)
	wild4 := scopeOf(abi.Family4, false, any4)
	// listen_test.go's dual-stack table, as Linux answers it.
	assert.True(t, dual.overlaps(wild4), "tcp :: and tcp 0.0.0.0")
	assert.True(t, wild4.overlaps(dual))
	assert.True(t, dual.overlaps(scopeOf(abi.Family6, false, any4)), ":: and ::ffff:0.0.0.0")
	assert.False(t, only6.overlaps(wild4), "tcp6 :: and tcp4 0.0.0.0")
	assert.False(t, wild4.overlaps(only6))
	assert.False(t, scopeOf(abi.Family4, false, lo4).overlaps(scopeOf(abi.Family6, false, lo6)), "127.0.0.1 and ::1")
	assert.True(t, dual.overlaps(scopeOf(abi.Family4, false, lo4)), ":: (dual) holds 127.0.0.1")
	assert.True(t, only6.overlaps(scopeOf(abi.Family6, true, lo6)))
	assert.True(t, scopeOf(abi.Family6, false, lo6).overlaps(scopeOf(abi.Family6, false, lo6)))
	assert.False(t, scopeOf(abi.Family4, false, lo4).overlaps(scopeOf(abi.Family4, false, SockAddr{IP: v4Mapped([4]byte{10, 0, 2, 15})})))
	assert.True(t, any4.unspecified())
	assert.True(t, any6.unspecified())
	assert.False(t, lo6.unspecified())
}

func TestNetABISizes(t *testing.T) {
	assert.Equal(t, uintptr(abi.NetEventSize), unsafe.Sizeof(abi.NetEvent{}))
	assert.Equal(t, uintptr(abi.NetIOSize), unsafe.Sizeof(abi.NetIO{}))
}

// TestLocalUDPReceiver: a datagram to a local address goes to the
// socket bound to that address before a wildcard one, to a v6-only
// socket only over IPv6, and to a connected socket only from its peer
// (udpDeliver, which puts it in the receiver's ring); with no receiver
// it is not delivered.
func TestLocalUDPReceiver(t *testing.T) {
	freshTable(t, -1)
	lo4 := v4Mapped([4]byte{127, 0, 0, 1})
	Sockets[3] = socket{sockFields: sockFields{Typ: abi.SockDgram, Family: abi.Family4, State: abi.SockOpen, Local: SockAddr{Port: 5000}}}
	Sockets[4] = socket{sockFields: sockFields{Typ: abi.SockDgram, Family: abi.Family4, State: abi.SockOpen, Local: SockAddr{IP: lo4, Port: 5000}}}
	Sockets[5] = socket{sockFields: sockFields{Typ: abi.SockDgram, Family: abi.Family6, State: abi.SockOpen, opts: abi.OptV6Only, Local: SockAddr{Port: 6000}}}
	Sockets[6] = socket{sockFields: sockFields{Typ: abi.SockDgram, Family: abi.Family6, State: abi.SockConnected, Local: SockAddr{Port: 7000},
		Remote: SockAddr{IP: lo4, Port: 1}}}
	for k := 3; k <= 6; k++ {
		Sockets[k].waiter, Sockets[k].FD = noThread, -1
		hostRing(&Sockets[k].Rx)
	}
	receiver := func(dst, src SockAddr) int { // the socket whose ring the empty datagram went into, or -1
		var before [7]uint32
		for k := range before {
			before[k] = Sockets[k].Rx.N
		}
		r, done := udpDeliver(&SockIO{}, src, dst)
		assert.Zero(t, r)
		for k := range before {
			if Sockets[k].Rx.N != before[k] {
				assert.True(t, done)
				return k
			}
		}
		assert.False(t, done)
		return -1
	}
	src := SockAddr{IP: lo4, Port: 9}
	assert.Equal(t, 4, receiver(SockAddr{IP: lo4, Port: 5000}, src), "the socket bound to the address before the wildcard")
	assert.Equal(t, 3, receiver(SockAddr{IP: v4Mapped([4]byte{127, 0, 0, 2}), Port: 5000}, src), "the wildcard")
	assert.Equal(t, -1, receiver(SockAddr{IP: lo4, Port: 6000}, src), "a v6-only socket takes no IPv4")
	assert.Equal(t, 5, receiver(SockAddr{IP: loopback6, Port: 6000}, SockAddr{IP: loopback6, Port: 9}))
	assert.Equal(t, -1, receiver(SockAddr{IP: lo4, Port: 7000}, src), "connected to another peer")
	assert.Equal(t, 6, receiver(SockAddr{IP: lo4, Port: 7000}, SockAddr{IP: lo4, Port: 1}), "from its peer, IPv4 to a dual-stack socket")
	h, ok := Sockets[6].Rx.nextDgram()
	require.True(t, ok)
	assert.Equal(t, SockAddr{IP: lo4, Port: 1}, h.addr, "the sender's address goes with it")
	Sockets[2] = socket{sockFields: sockFields{Typ: abi.SockDgram, Family: abi.Family4, State: abi.SockOpen}, waiter: noThread}
	hostRing(&Sockets[2].Rx)
	assert.Equal(t, -1, receiver(SockAddr{IP: lo4}, src), "no socket takes port 0, an unbound one neither")
	slotsUsed.Store(6)
	assert.Equal(t, -1, receiver(SockAddr{IP: lo4, Port: 7000}, SockAddr{IP: lo4, Port: 1}), "slots past slotsUsed are not looked at")
	assert.True(t, isLocalAddr(SockAddr{IP: loopback6}))
	assert.False(t, isLocalAddr(SockAddr{IP: v4Mapped([4]byte{10, 0, 2, 2})}))
	assert.False(t, isLocalAddr(SockAddr{IP: [16]byte{0: 0x20, 1: 0x01}}))
}
