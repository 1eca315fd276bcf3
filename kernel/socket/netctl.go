package socket

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"golang.org/x/sys/unix"
)

// /dev/netctl: the network stack goroutine's side of the socket table
// (kernel/abi/netctl.go has the protocol). Reads return a NetEvent per
// dirty socket; the descriptor is readable while any socket is dirty, so
// the stack goroutine sleeps in the runtime's netpoller until the program
// does something with a socket. Every function's context: trap, kernel
// lock held.

// OpenNetCtl opens the device; there is one stack. Context: trap, kernel
// lock held; does not allocate.
func OpenNetCtl(flags int) int64 {
	if NetStackFD >= 0 {
		return -int64(unix.EBUSY)
	}
	fd := fdtab.Alloc(fdtab.KindNetCtl, flags)
	if fd < 0 {
		return -abi.EMFILE
	}
	NetStackFD = fd
	return int64(fd)
}

// CloseNetCtl is the stack going away: every socket fails with ENETDOWN,
// and those the program closed are freed.
// Context: trap, kernel lock held; does not allocate.
func CloseNetCtl() {
	NetStackFD = -1
	for i := range Sockets {
		s := &Sockets[i]
		if s.Typ == 0 {
			continue
		}
		if s.State == abi.SockClosed {
			freeSocket(i)
			continue
		}
		s.State = abi.SockFailed
		s.SoError = int32(unix.ENETDOWN)
		tellProgram(i)
		connectDone(i)
	}
}

// NetCtlRead writes NetEvents for dirty sockets into buf.
// Context: trap, files lock held; does not allocate.
func NetCtlRead(buf, n uintptr) int64 {
	if n < abi.NetEventSize {
		return -abi.EINVAL
	}
	if DirtyCount == 0 { // no call beside this one marks a socket (files lock held exclusively)
		return -abi.EAGAIN
	}
	out := uintptr(0)
	for i, left := nextDirty(0, int(DirtyCount)); i >= 0; i, left = nextDirty(i+1, left) {
		s := &Sockets[i]
		if out+abi.NetEventSize > n {
			break
		}
		b, ok := vm.UserBytes(buf+out, abi.NetEventSize, true)
		if !ok {
			return -abi.EFAULT
		}
		ev := (*abi.NetEvent)(ptrOf(&b[0]))
		*ev = abi.NetEvent{
			Sock: uint32(i), Gen: s.gen, Type: s.Typ, State: s.State, Flags: s.Flags | ackFlag(s), Family: s.Family, Proto: uint32(s.proto),
			Backlog: s.backlog, Local: s.Local.abi(), Remote: s.Remote.abi(),
			TxLen: s.Tx.N, RxFree: s.Rx.Space(), Opts: s.opts,
			KeepIdle: s.keep[0], KeepIntvl: s.keep[1], KeepCount: s.keep[2], Linger: s.linger,
		}
		s.Dirty = false
		s.ackWanted = false
		DirtyCount--
		out += abi.NetEventSize
	}
	fdtab.Files[NetStackFD].Seq++
	stackProgressed()
	return int64(out)
}

// nextDirty returns the first dirty socket at or after i, or -1, and how
// many dirty sockets lie after it, given left, how many lie at or after i.
// DirtyCount is exactly the number of dirty sockets (TellStack,
// freeSocket and NetCtlRead keep it), so NetCtlRead's scan, starting
// with left = DirtyCount, stops at the last one instead of looking at
// all maxSockets. Context: trap, files lock held; does not allocate.
func nextDirty(i, left int) (int, int) {
	for ; left > 0 && i < len(Sockets); i++ {
		if Sockets[i].Dirty {
			return i, left - 1
		}
	}
	return -1, 0
}

// ackFlag is EvAck when a bind or listen waits for this event's answer.
func ackFlag(s *socket) uint8 {
	if s.ackWanted {
		return abi.EvAck
	}
	return 0
}

func (a SockAddr) abi() abi.Addr { return abi.Addr{IP: a.IP, Port: a.Port} }

func fromABI(a abi.Addr) SockAddr { return SockAddr{IP: a.IP, Port: a.Port} }

// NetCtlIoctl serves the NetCtl* requests.
// Context: trap, kernel and files locks held; does not allocate.
func NetCtlIoctl(req uint, arg uintptr) int64 {
	io, e := netIOArg(arg)
	if e != 0 {
		return e
	}
	if req == abi.NetCtlSetAddr {
		ifaceAddr, DNSAddr = fromABI(io.Local).V4(), fromABI(io.Remote).V4()
		if io.Flags&abi.IoNIC != 0 {
			ifaceNIC = true
			for k := range ifaceMAC {
				ifaceMAC[k] = byte(io.Buf >> (8 * k))
			}
			ifaceMTU, ifacePrefix = uint32(io.Len), uint8(io.Len>>32)
		}
		return 0
	}
	if stale(io) {
		return -int64(unix.ESTALE)
	}
	i := int(io.Sock)
	switch req {
	case abi.NetCtlPullTx, abi.NetCtlPushRx:
		return netData(req, i, io)
	case abi.NetCtlSetState:
		return netSetState(i, io)
	case abi.NetCtlAccepted:
		return netAccepted(i, io)
	case abi.NetCtlAck:
		stackAnswered(i, 0)
		return 0
	case abi.NetCtlRelease:
		if Sockets[i].State != abi.SockClosed {
			return -abi.EINVAL
		}
		freeSocket(i)
		return 0
	}
	return -abi.ENOTTY
}

// NetCtlDataReq reports whether ioctl request req on /dev/netctl only
// moves data between a socket's rings and the stack (NetCtlPullTx,
// NetCtlPushRx): NetCtlDataIoctl serves those under the files lock alone.
// Context: any; does not allocate.
func NetCtlDataReq(req uint) bool { return req == abi.NetCtlPullTx || req == abi.NetCtlPushRx }

// NetCtlDataIoctl is NetCtlIoctl for a request of NetCtlDataReq, under
// the files lock alone (package kernel's fileTrap): it moves data and
// records what the program must hear of (tellProgram), and wakes no
// thread itself.
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func NetCtlDataIoctl(req uint, arg uintptr) int64 {
	io, e := netIOArg(arg)
	if e != 0 {
		return e
	}
	if stale(io) {
		return -int64(unix.ESTALE)
	}
	return netData(req, int(io.Sock), io)
}

// netIOArg returns the struct NetIO at arg in the stack's memory, or
// EFAULT. Context: trap, files lock held; does not allocate.
func netIOArg(arg uintptr) (*abi.NetIO, int64) {
	b, ok := vm.UserBytes(arg, abi.NetIOSize, true)
	if !ok {
		return nil, -abi.EFAULT
	}
	return (*abi.NetIO)(ptrOf(&b[0])), 0
}

// stale reports whether io names a socket slot that is free or was
// reused since the stack learned of it. Context: trap, files lock held;
// does not allocate.
func stale(io *abi.NetIO) bool {
	return io.Sock >= maxSockets || Sockets[io.Sock].Typ == 0 || Sockets[io.Sock].gen != io.Gen
}

// netData serves NetCtlPullTx or NetCtlPushRx (req) on socket i.
// Context: trap, files lock held; does not allocate.
func netData(req uint, i int, io *abi.NetIO) int64 {
	if req == abi.NetCtlPullTx {
		return netPullTx(i, io)
	}
	return netPushRx(i, io)
}

// netPullTx moves transmit data to the stack's buffer.
// Context: trap, files lock held; does not allocate.
func netPullTx(i int, io *abi.NetIO) int64 {
	s := &Sockets[i]
	wasFull := s.Tx.Space() == 0
	var moved uint32
	io.Flags = 0
	if s.Typ != abi.SockStream {
		h, ok := s.Tx.nextDgram()
		if ok {
			n := min(uint64(h.len), io.Len)
			dst, ok := vm.UserBytes(uintptr(io.Buf), uintptr(n), true)
			if !ok {
				return -abi.EFAULT
			}
			s.Tx.peek(dst, dgramHeaderSize)
			s.Tx.drop(dgramHeaderSize + h.len)
			moved = uint32(n)
			io.Remote = h.addr.abi()
			if n < uint64(h.len) {
				io.Flags |= abi.IoTrunc
			}
		}
	} else {
		n := min(uint64(s.Tx.N), io.Len)
		dst, ok := vm.UserBytes(uintptr(io.Buf), uintptr(n), true)
		if !ok {
			return -abi.EFAULT
		}
		moved = uint32(s.Tx.peek(dst, 0))
		s.Tx.drop(moved)
	}
	io.Len = uint64(moved)
	io.Local = s.Local.abi()
	if moved > 0 {
		stackProgressed()
	}
	if s.Tx.N == 0 && s.Flags&abi.EvShutWr != 0 {
		io.Flags |= abi.IoEOF
	}
	if wasFull && moved > 0 || s.Typ != abi.SockStream && moved > 0 {
		tellProgram(i) // room to write again
	}
	return 0
}

// netPushRx moves received data from the stack's buffer into the ring.
// Context: trap, files lock held; does not allocate.
func netPushRx(i int, io *abi.NetIO) int64 {
	s := &Sockets[i]
	if s.State == abi.SockClosed || s.Flags&abi.EvShutRd != 0 {
		return 0 // nobody will read it: take it all
	}
	src, ok := vm.UserBytes(uintptr(io.Buf), uintptr(io.Len), false)
	if !ok {
		return -abi.EFAULT
	}
	changed := false
	if s.Typ != abi.SockStream && !peerMatches(s, fromABI(io.Remote)) {
		return 0 // sent before the connect took effect in the stack: Linux would not deliver it
	}
	if s.Typ != abi.SockStream { // a datagram may be empty: it still counts
		mark, ok := s.Rx.startDgram(dgramHeader{len: uint32(len(src)), addr: fromABI(io.Remote)})
		if ok && s.Rx.Put(src, false) == len(src) {
			changed = true
		} else {
			if ok {
				s.Rx.truncate(mark)
			}
			NetDropped++
			io.Len = 0
		}
	} else {
		n := s.Rx.Put(src, true)
		if uint64(n) < io.Len {
			s.rxWanted = true
		}
		io.Len = uint64(n)
		changed = n > 0
	}
	if io.Flags&abi.IoEOF != 0 && !s.peerEOF {
		s.peerEOF = true
		changed = true
	}
	if changed {
		tellProgram(i)
	}
	return 0
}

// peerMatches reports whether a datagram from src may reach datagram or
// raw socket s: any source unless s is connected, else its peer (the
// address alone for a raw socket, which has no ports).
// Context: trap, files lock held; does not allocate.
func peerMatches(s *socket, src SockAddr) bool {
	if s.State != abi.SockConnected {
		return true
	}
	if s.Typ == abi.SockRaw {
		return src.IP == s.Remote.IP
	}
	return src == s.Remote
}

// netSetState records a connect's outcome or a connection error.
// Context: trap, kernel lock held; does not allocate.
func netSetState(i int, io *abi.NetIO) int64 {
	s := &Sockets[i]
	if s.State == abi.SockClosed {
		return 0
	}
	if io.Errno == 0 {
		s.State = abi.SockConnected
		s.Local, s.Remote = fromABI(io.Local), fromABI(io.Remote)
	} else {
		s.State = abi.SockFailed
		s.SoError = io.Errno
		if s.waiter != noThread && threadtab.Threads[s.waiter].Wait == threadtab.WaitStack {
			s.SoError = 0 // the failed bind or listen reports it
			stackAnswered(i, -int64(io.Errno))
		}
	}
	tellProgram(i)
	connectDone(i)
	return 0
}

// netAccepted queues a new connection on listener i and returns its slot.
// Context: trap, kernel lock held; does not allocate.
func netAccepted(i int, io *abi.NetIO) int64 {
	l := &Sockets[i]
	if l.State != abi.SockListening {
		return -abi.EINVAL
	}
	if uint32(l.ALen) >= l.backlog {
		NetRejected++
		return -abi.EAGAIN
	}
	c := allocSocket(abi.SockStream, l.Family)
	if c < 0 {
		NetRejected++
		return -abi.ENFILE
	}
	s := &Sockets[c]
	s.State = abi.SockConnected
	s.accepted = true
	s.Local, s.Remote = fromABI(io.Local), fromABI(io.Remote)
	s.opts = l.opts
	l.acceptQ[(uint32(l.aHead)+uint32(l.ALen))%acceptQueueCap] = int16(c)
	l.ALen++
	io.Sock, io.Gen = uint32(c), s.gen
	tellProgram(i)
	return 0
}
