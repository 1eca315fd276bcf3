package socket

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
)

// Local UDP delivery: a datagram from one UDP socket of the table to
// another on a local address (loopback, or the interface's own) is copied
// from the sender's buffers into the receiver's ring in the system call,
// as Linux's loopback delivers it inside the kernel. The network stack
// never sees it: no goroutine runs and nothing is allocated in the
// program's heap, where gVisor's UDP path allocates a route, a buffer and
// a packet record for each datagram (net's TestAllocs counts them). A
// datagram with no local receiver (another host, a broadcast, a port no
// socket holds: ICMP port unreachable is the stack's) goes through the
// stack as before. Every function's context: trap, kernel lock held; none
// allocates.

// isLocalAddr reports whether a datagram to a stays on this host.
// Context: trap, files lock held (shared, dgramSendNow: the interface's
// address, ifaceAddr, changes only on the kernel lock's path, with the
// files lock held exclusively); does not allocate.
func isLocalAddr(a SockAddr) bool {
	if !a.Is4() {
		return a.IP == loopback6
	}
	ip := a.V4()
	return ip[0] == 127 || ip != [4]byte{} && ip == ifaceAddr
}

// udpReceives reports whether UDP socket r takes a datagram to dst from
// src: bound to dst's port on dst's address or a wildcard that covers its
// family, and, if connected, connected to src.
// Context: trap, kernel lock held; does not allocate.
func udpReceives(r *socket, dst, src SockAddr) bool {
	if r.Typ != abi.SockDgram || r.Local.Port != dst.Port || r.Flags&abi.EvShutRd != 0 {
		return false
	}
	if r.State != abi.SockOpen && r.State != abi.SockConnected {
		return false
	}
	if !scopeOf(r.Family, r.opts&abi.OptV6Only != 0, r.Local).overlaps(scopeOf(abi.Family6, false, dst)) {
		return false
	}
	return r.State != abi.SockConnected || r.Remote == src
}

// localReceiver returns the UDP socket that takes a datagram from src to
// dst, one bound to dst's address before a wildcard, or -1.
// Context: trap, kernel lock held; does not allocate.
func localReceiver(dst, src SockAddr) int {
	found := -1
	for k := range Sockets {
		r := &Sockets[k]
		if !udpReceives(r, dst, src) {
			continue
		}
		if r.Local.IP == dst.IP {
			return k
		}
		found = k
	}
	return found
}

// udpLocalSend delivers io's datagram from UDP socket i (bound) to dst
// straight into a local receiver's ring; false when there is none, and
// the stack must send it. A receiver without room drops it, counted, as
// the stack's path does.
// Context: trap, kernel lock held; does not allocate.
func udpLocalSend(i int, io *SockIO, dst SockAddr) (int64, bool) {
	s := &Sockets[i]
	if s.Typ != abi.SockDgram || !isLocalAddr(dst) {
		return 0, false
	}
	src := s.Local
	if src.unspecified() {
		src.IP = sourceFor(dst)
	} else if src.Is4() != dst.Is4() {
		return 0, false // a bound IPv4-mapped source cannot reach ::1, nor the reverse
	}
	r := localReceiver(dst, src)
	if r < 0 {
		return 0, false
	}
	switch Sockets[r].Rx.putDgram(src, io) {
	case 0:
		tellProgram(r)
	case -abi.EFAULT:
		return -abi.EFAULT, true
	default:
		atomic.AddUint64(&NetDropped, 1)
	}
	return int64(io.Total), true
}
