package kernel

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

// openNetCtl opens the device; there is one stack. Context: trap, kernel
// lock held; does not allocate.
func openNetCtl(flags int) int64 {
	if netStackFD >= 0 {
		return -int64(unix.EBUSY)
	}
	fd := fdtab.Alloc(fdtab.KindNetCtl, flags)
	if fd < 0 {
		return -abi.EMFILE
	}
	netStackFD = fd
	return int64(fd)
}

// closeNetCtl is the stack going away: every socket fails with ENETDOWN,
// and those the program closed are freed.
// Context: trap, kernel lock held; does not allocate.
func closeNetCtl() {
	netStackFD = -1
	for i := range sockets {
		s := &sockets[i]
		if s.typ == 0 {
			continue
		}
		if s.state == abi.SockClosed {
			freeSocket(i)
			continue
		}
		s.state = abi.SockFailed
		s.soError = int32(unix.ENETDOWN)
		tellProgram(i)
		connectDone(i)
	}
}

// netCtlRead writes NetEvents for dirty sockets into buf.
// Context: trap, kernel lock held; does not allocate.
func netCtlRead(buf, n uintptr) int64 {
	if n < abi.NetEventSize {
		return -abi.EINVAL
	}
	if dirtyCount == 0 {
		return -abi.EAGAIN
	}
	out := uintptr(0)
	for i := range sockets {
		s := &sockets[i]
		if !s.dirty {
			continue
		}
		if out+abi.NetEventSize > n {
			break
		}
		b, ok := vm.UserBytes(buf+out, abi.NetEventSize, true)
		if !ok {
			return -abi.EFAULT
		}
		ev := (*abi.NetEvent)(ptrOf(&b[0]))
		*ev = abi.NetEvent{
			Sock: uint32(i), Gen: s.gen, Type: s.typ, State: s.state, Flags: s.flags | ackFlag(s), Family: s.family, Proto: uint32(s.proto),
			Backlog: s.backlog, Local: s.local.abi(), Remote: s.remote.abi(),
			TxLen: s.tx.n, RxFree: s.rx.space(), Opts: s.opts,
			KeepIdle: s.keep[0], KeepIntvl: s.keep[1], KeepCount: s.keep[2], Linger: s.linger,
		}
		s.dirty = false
		s.ackWanted = false
		dirtyCount--
		out += abi.NetEventSize
	}
	fdtab.Files[netStackFD].Seq++
	stackProgress = true
	return int64(out)
}

// ackFlag is EvAck when a bind or listen waits for this event's answer.
func ackFlag(s *socket) uint8 {
	if s.ackWanted {
		return abi.EvAck
	}
	return 0
}

func (a sockAddr) abi() abi.Addr { return abi.Addr{IP: a.ip, Port: a.port} }

func fromABI(a abi.Addr) sockAddr { return sockAddr{ip: a.IP, port: a.Port} }

// netCtlIoctl serves the NetCtl* requests.
// Context: trap, kernel lock held; does not allocate.
func netCtlIoctl(req uint, arg uintptr) int64 {
	b, ok := vm.UserBytes(arg, abi.NetIOSize, true)
	if !ok {
		return -abi.EFAULT
	}
	io := (*abi.NetIO)(ptrOf(&b[0]))
	if req == abi.NetCtlSetAddr {
		ifaceAddr, dnsAddr = fromABI(io.Local).v4(), fromABI(io.Remote).v4()
		if io.Flags&abi.IoNIC != 0 {
			ifaceNIC = true
			for k := range ifaceMAC {
				ifaceMAC[k] = byte(io.Buf >> (8 * k))
			}
			ifaceMTU, ifacePrefix = uint32(io.Len), uint8(io.Len>>32)
		}
		return 0
	}
	if io.Sock >= maxSockets || sockets[io.Sock].typ == 0 || sockets[io.Sock].gen != io.Gen {
		return -int64(unix.ESTALE)
	}
	i := int(io.Sock)
	switch req {
	case abi.NetCtlPullTx:
		return netPullTx(i, io)
	case abi.NetCtlPushRx:
		return netPushRx(i, io)
	case abi.NetCtlSetState:
		return netSetState(i, io)
	case abi.NetCtlAccepted:
		return netAccepted(i, io)
	case abi.NetCtlAck:
		stackAnswered(i, 0)
		return 0
	case abi.NetCtlRelease:
		if sockets[i].state != abi.SockClosed {
			return -abi.EINVAL
		}
		freeSocket(i)
		return 0
	}
	return -abi.ENOTTY
}

// netPullTx moves transmit data to the stack's buffer.
// Context: trap, kernel lock held; does not allocate.
func netPullTx(i int, io *abi.NetIO) int64 {
	s := &sockets[i]
	wasFull := s.tx.space() == 0
	var moved uint32
	io.Flags = 0
	if s.typ != abi.SockStream {
		h, ok := s.tx.nextDgram()
		if ok {
			n := min(uint64(h.len), io.Len)
			dst, ok := vm.UserBytes(uintptr(io.Buf), uintptr(n), true)
			if !ok {
				return -abi.EFAULT
			}
			s.tx.peek(dst, dgramHeaderSize)
			s.tx.drop(dgramHeaderSize + h.len)
			moved = uint32(n)
			io.Remote = h.addr.abi()
			if n < uint64(h.len) {
				io.Flags |= abi.IoTrunc
			}
		}
	} else {
		n := min(uint64(s.tx.n), io.Len)
		dst, ok := vm.UserBytes(uintptr(io.Buf), uintptr(n), true)
		if !ok {
			return -abi.EFAULT
		}
		moved = uint32(s.tx.peek(dst, 0))
		s.tx.drop(moved)
	}
	io.Len = uint64(moved)
	io.Local = s.local.abi()
	if moved > 0 {
		stackProgress = true
	}
	if s.tx.n == 0 && s.flags&abi.EvShutWr != 0 {
		io.Flags |= abi.IoEOF
	}
	if wasFull && moved > 0 || s.typ != abi.SockStream && moved > 0 {
		tellProgram(i) // room to write again
	}
	return 0
}

// netPushRx moves received data from the stack's buffer into the ring.
// Context: trap, kernel lock held; does not allocate.
func netPushRx(i int, io *abi.NetIO) int64 {
	s := &sockets[i]
	if s.state == abi.SockClosed || s.flags&abi.EvShutRd != 0 {
		return 0 // nobody will read it: take it all
	}
	src, ok := vm.UserBytes(uintptr(io.Buf), uintptr(io.Len), false)
	if !ok {
		return -abi.EFAULT
	}
	changed := false
	if s.typ != abi.SockStream && !peerMatches(s, fromABI(io.Remote)) {
		return 0 // sent before the connect took effect in the stack: Linux would not deliver it
	}
	if s.typ != abi.SockStream { // a datagram may be empty: it still counts
		mark, ok := s.rx.startDgram(dgramHeader{len: uint32(len(src)), addr: fromABI(io.Remote)})
		if ok && s.rx.put(src, false) == len(src) {
			changed = true
		} else {
			if ok {
				s.rx.truncate(mark)
			}
			netDropped++
			io.Len = 0
		}
	} else {
		n := s.rx.put(src, true)
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
// Context: trap, kernel lock held; does not allocate.
func peerMatches(s *socket, src sockAddr) bool {
	if s.state != abi.SockConnected {
		return true
	}
	if s.typ == abi.SockRaw {
		return src.ip == s.remote.ip
	}
	return src == s.remote
}

// netSetState records a connect's outcome or a connection error.
// Context: trap, kernel lock held; does not allocate.
func netSetState(i int, io *abi.NetIO) int64 {
	s := &sockets[i]
	if s.state == abi.SockClosed {
		return 0
	}
	if io.Errno == 0 {
		s.state = abi.SockConnected
		s.local, s.remote = fromABI(io.Local), fromABI(io.Remote)
	} else {
		s.state = abi.SockFailed
		s.soError = io.Errno
		if s.waiter != noThread && threadtab.Threads[s.waiter].Wait == threadtab.WaitStack {
			s.soError = 0 // the failed bind or listen reports it
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
	l := &sockets[i]
	if l.state != abi.SockListening {
		return -abi.EINVAL
	}
	if uint32(l.aLen) >= l.backlog {
		netRejected++
		return -abi.EAGAIN
	}
	c := allocSocket(abi.SockStream, l.family)
	if c < 0 {
		netRejected++
		return -abi.ENFILE
	}
	s := &sockets[c]
	s.state = abi.SockConnected
	s.accepted = true
	s.local, s.remote = fromABI(io.Local), fromABI(io.Remote)
	s.opts = l.opts
	l.acceptQ[(uint32(l.aHead)+uint32(l.aLen))%acceptQueueCap] = int16(c)
	l.aLen++
	io.Sock, io.Gen = uint32(c), s.gen
	tellProgram(i)
	return 0
}
