package socket

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/spin"
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
// stack as before. The delivery runs on the kernel lock's path
// (udpLocalSend) and beside other calls (dgramSendNow), each socket read
// under its lock (udpDeliver); none of these functions allocates.

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
// src: bound to dst's port (none takes port 0) on dst's address or a
// wildcard that covers its family, and, if connected, connected to src.
// Context: trap, files lock held (shared: r's lock held too); does not
// allocate.
func udpReceives(r *socket, dst, src SockAddr) bool {
	if r.Typ != abi.SockDgram || r.Local.Port != dst.Port || dst.Port == 0 || r.Flags&abi.EvShutRd != 0 {
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

// udpSource is the source address of a datagram from UDP socket s to
// dst that stays on this host, and true; false for one the stack must
// send (dst not local, s not a UDP socket, or a bound IPv4-mapped
// source that cannot reach ::1, nor the reverse).
// Context: trap, files lock held (shared: s's lock held too); does not
// allocate.
func udpSource(s *socket, dst SockAddr) (SockAddr, bool) {
	src := s.Local
	if s.Typ != abi.SockDgram || !isLocalAddr(dst) {
		return src, false
	}
	if src.unspecified() {
		src.IP = sourceFor(dst)
	} else if src.Is4() != dst.Is4() {
		return src, false
	}
	return src, true
}

// udpLocalSend delivers io's datagram from UDP socket i (bound) to dst
// straight into a local receiver's ring on the kernel lock's path
// (udpDeliver); false when there is none, and the stack must send it.
// Context: trap, kernel lock held; does not allocate.
func udpLocalSend(i int, io *SockIO, dst SockAddr) (int64, bool) {
	src, local := udpSource(&Sockets[i], dst)
	if !local {
		return 0, false
	}
	return udpDeliver(io, src, dst)
}

// udpDeliver puts io's datagram from src into the ring of the UDP
// socket that takes a datagram to dst, one bound to dst's address
// before a wildcard (the last found), and reports false when there is
// none. It reads each socket under its lock and puts the datagram under
// the receiver's, so that it runs beside other calls too (the files
// lock held shared: dgramSendNow), which make, connect and close sockets
// and choose their ports under their locks (bind runs alone): a
// wildcard receiver is looked at again
// under its lock before the put. A receiver without room drops it,
// counted, as the stack's path does.
// Context: trap, files lock held, no socket's lock held; does not
// allocate.
func udpDeliver(io *SockIO, src, dst SockAddr) (int64, bool) {
	found := -1
	for k := range int(slotsUsed.Load()) {
		r := &Sockets[k]
		spin.LockWord(&r.held)
		if udpReceives(r, dst, src) {
			if r.Local.IP == dst.IP {
				n := udpPut(k, io, src)
				spin.UnlockWord(&r.held)
				return n, true
			}
			found = k
		}
		spin.UnlockWord(&r.held)
	}
	if found < 0 {
		return 0, false
	}
	r := &Sockets[found]
	spin.LockWord(&r.held)
	n, ok := int64(0), udpReceives(r, dst, src) // still: a close or connect beside may have changed it
	if ok {
		n = udpPut(found, io, src)
	}
	spin.UnlockWord(&r.held)
	return n, ok
}

// udpPut puts io's datagram from src into receiver k's ring and records
// the change for it (tellProgram), or counts it dropped when the ring
// has no room; EFAULT for a buffer it cannot read.
// Context: trap, files lock held (shared: k's lock held too); does not
// allocate.
func udpPut(k int, io *SockIO, src SockAddr) int64 {
	switch Sockets[k].Rx.putDgram(src, io) {
	case 0:
		tellProgram(k)
	case -abi.EFAULT:
		return -abi.EFAULT
	default:
		atomic.AddUint64(&NetDropped, 1)
	}
	return int64(io.Total)
}
