package socket

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"golang.org/x/sys/unix"
)

// /dev/netctl: the network stack goroutine's side of the socket table
// (kernel/abi/netctl.go has the protocol). Reads return a NetEvent per
// dirty socket; the descriptor is readable while any socket is dirty, so
// the stack goroutine sleeps in the runtime's netpoller until the program
// does something with a socket. Every function's context: trap, kernel
// lock held, but the read's and the requests of NetCtlSharedReq (the
// data moves, the release, a new connection, a connect's outcome where
// no thread waits: files lock alone, held shared).

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

// NetCtlRead writes NetEvents for dirty sockets into buf, as many as
// fit (up to one per socket slot). It runs beside the program's calls
// (the files lock held shared: package fdcalls' StreamCall) and takes
// the events under the sockets' locks (takeEvents). Nothing dirty, or
// every mark taken by another read beside, is EAGAIN, never 0, which
// the stack would take for the end of the device; a buffer that faults
// is EFAULT, having taken nothing.
// Context: trap, files lock held; does not allocate.
func NetCtlRead(buf, n uintptr) int64 {
	k := min(n/abi.NetEventSize, maxSockets)
	if k == 0 {
		return -abi.EINVAL
	}
	if atomic.LoadInt32(&DirtyCount) == 0 {
		return -abi.EAGAIN
	}
	if _, ok := vm.UserBytes(buf, k*abi.NetEventSize, true); !ok {
		return -abi.EFAULT
	}
	got := takeEvents(buf, int(k))
	if got == 0 {
		return -abi.EAGAIN
	}
	atomic.AddUint64(&fdtab.Files[NetStackFD].Seq, 1)
	stackProgressed()
	return int64(got) * abi.NetEventSize
}

// takeEvents writes the events of up to k dirty sockets, in slot order,
// to the NetEvent array at dst (kernel-addressable memory), taking each
// socket's mark under its lock, which the calls that change and mark it
// beside hold (SocketIO, setsockopt), and returns how many it wrote. The
// walk loads the marks atomically and stops once it has met as many as
// DirtyCount counted when it began, which are there until a read takes
// them (only reads clear a mark beside others). A mark that other calls
// add meanwhile is taken now or by a later read: it keeps the count
// above 0, and this read, having met at least one mark, returns it
// (the stack, which reads until EAGAIN, reads again), or it took the
// count from 0 to 1 and recorded /dev/netctl's change again
// (TellStack). A mark met already taken was taken by a read beside,
// which returns it and reads again. A change after a socket's event
// marks it again.
// Context: trap, files lock held; does not allocate.
func takeEvents(dst uintptr, k int) int {
	got := 0
	for i, left := 0, atomic.LoadInt32(&DirtyCount); i < len(Sockets) && left > 0 && got < k; i++ {
		s := &Sockets[i]
		if atomic.LoadUint32(&s.Dirty) == 0 {
			continue
		}
		left--
		spin.LockWord(&s.held)
		if s.Dirty != 0 {
			*(*abi.NetEvent)(ptr(dst + uintptr(got)*abi.NetEventSize)) = abi.NetEvent{
				Sock: uint32(i), Gen: s.gen, Type: s.Typ, State: s.State, Flags: s.Flags | ackFlag(s), Family: s.Family, Proto: uint32(s.proto),
				Backlog: s.backlog, Local: s.Local.abi(), Remote: s.Remote.abi(),
				TxLen: s.Tx.N, RxFree: s.Rx.Space(), Opts: s.opts,
				KeepIdle: s.keep[0], KeepIntvl: s.keep[1], KeepCount: s.keep[2], Linger: s.linger,
			}
			got++
			s.ackWanted = false
			atomic.StoreUint32(&s.Dirty, 0)
			atomic.AddInt32(&DirtyCount, -1)
		}
		spin.UnlockWord(&s.held)
	}
	return got
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
	if req == abi.NetCtlAccepted {
		return netAccepted(io, false)
	}
	if NetCtlSharedReq(req) && req != abi.NetCtlSetState {
		return netShared(req, io)
	}
	i := liveSocket(io)
	if i < 0 {
		return -int64(unix.ESTALE)
	}
	switch {
	case req == abi.NetCtlAck:
		stackAnswered(i, 0)
	case req != abi.NetCtlSetState:
		return -abi.ENOTTY
	case connectOutcome(i, io):
		// NetCtlSetState on the kernel lock's path: the connect's
		// outcome or connection error (connectOutcome) is recorded, and
		// a thread waiting for it woken: a bind or listen waiting for the
		// stack's answer takes a failure as its result, a blocking
		// connect its outcome (connectDone).
		s := &Sockets[i]
		if io.Errno != 0 && s.waiter != noThread && threadtab.Threads[s.waiter].Wait == threadtab.WaitStack {
			s.SoError = 0 // the failed bind or listen reports it
			stackAnswered(i, -int64(io.Errno))
		}
		tellProgram(i)
		connectDone(i)
	}
	return 0
}

// NetCtlSharedReq reports whether ioctl request req on /dev/netctl is
// one that NetCtlSharedIoctl serves under the files lock alone, held
// shared: the moves of data between a socket's rings and the stack
// (NetCtlPullTx, NetCtlPushRx), the release of a closed socket
// (NetCtlRelease), a listener's new connection (NetCtlAccepted) and a
// connect's outcome (NetCtlSetState) where no thread waits for it.
// Context: any; does not allocate.
func NetCtlSharedReq(req uint) bool {
	return req == abi.NetCtlPullTx || req == abi.NetCtlPushRx || req == abi.NetCtlRelease || req == abi.NetCtlAccepted || req == abi.NetCtlSetState
}

// NetCtlSharedIoctl is NetCtlIoctl for a request of NetCtlSharedReq,
// under the files lock alone (package kernel's fileTrap), held shared
// (beside the program's calls) or, for a new connection that found no
// slot beside them, exclusively (netAccepted answers vfs.RunAlone): it
// records what the program must hear of (tellProgram) and wakes no
// thread itself. A connect's outcome changes the state that epoll's
// looks read (SockReadiness): it holds fdtab.EpollHeld, the epoll
// interest lists' word lock, which every look holds, once the stack's
// NetIO is read (a fault in its memory is taken before).
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func NetCtlSharedIoctl(req uint, arg uintptr, beside bool) int64 {
	io, e := netIOArg(arg)
	if e != 0 {
		return e
	}
	return netSharedReq(req, io, beside)
}

// netSharedReq is NetCtlSharedIoctl once the stack's NetIO is read.
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func netSharedReq(req uint, io *abi.NetIO, beside bool) int64 {
	if req == abi.NetCtlAccepted {
		return netAccepted(io, beside)
	}
	if req != abi.NetCtlSetState {
		return netShared(req, io)
	}
	spin.LockWord(&fdtab.EpollHeld)
	r := netShared(req, io)
	spin.UnlockWord(&fdtab.EpollHeld)
	return r
}

// netShared serves request req of NetCtlSharedReq on the socket io
// names, under the socket's lock, which a read or write of the socket
// beside holds too (SocketIO), and a read of its event (takeEvents). As
// liveSocket, but it looks at whether the slot holds the socket named
// (Typ, gen) only under the lock: a release beside (another of the
// stack's threads) may free the slot meanwhile, and a socket call beside
// reuse it (allocSocket, which changes gen under the lock): ESTALE then.
// A release answers EINVAL
// unless the program closed the socket (abi.SockClosed): then no
// descriptor names it, and only the stack's calls reach it. A connect's
// outcome (connectOutcome) for a socket a thread waits on answers
// vfs.WouldBlock, having changed nothing: the thread's wake is the
// kernel lock's path's; beside others the caller holds the epoll
// interest lists' lock too, as epoll's looks read the state
// (SockReadiness).
// Context: trap, files lock held; does not allocate.
func netShared(req uint, io *abi.NetIO) int64 {
	i, gen := io.Sock, io.Gen // once: see liveSocket
	if i >= maxSockets {
		return -int64(unix.ESTALE)
	}
	s := &Sockets[i]
	spin.LockWord(&s.held)
	r := -int64(unix.ESTALE)
	switch {
	case s.Typ == 0 || s.gen != gen:
	case req == abi.NetCtlPullTx:
		r = netPullTx(int(i), io)
	case req == abi.NetCtlPushRx:
		r = netPushRx(int(i), io)
	case req == abi.NetCtlSetState && atomic.LoadInt32((*int32)(&s.waiter)) != int32(noThread):
		r = vfs.WouldBlock // a wait a timeout or signal may end beside: its wake needs the kernel lock
	case req == abi.NetCtlSetState:
		r = 0
		if connectOutcome(int(i), io) {
			tellProgram(int(i))
		}
	case s.State != abi.SockClosed:
		r = -abi.EINVAL
	default:
		freeSocket(int(i))
		r = 0
	}
	spin.UnlockWord(&s.held)
	return r
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

// liveSocket returns the socket slot io names, or -1 if it is out of
// range, free, or reused since the stack learned of it. The slot number
// is read from the stack's memory once: another of its threads may
// write it meanwhile, and a second read could name a slot out of range.
// Context: trap, files lock held; does not allocate.
func liveSocket(io *abi.NetIO) int {
	i, gen := io.Sock, io.Gen
	if i >= maxSockets || Sockets[i].Typ == 0 || Sockets[i].gen != gen {
		return -1
	}
	return int(i)
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
			atomic.AddUint64(&NetDropped, 1) // pushes to other sockets beside this one count too
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
	if io.Flags&abi.IoEOF != 0 && s.peerEOF == 0 {
		atomic.StoreUint32(&s.peerEOF, 1) // SockReadiness loads it beside
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

// connectOutcome records a connect's outcome or a connection error in
// socket i, unless the program has closed it (false): on the kernel
// lock's path (NetCtlIoctl), or beside other calls for a socket no
// thread waits on (netShared, under the socket's lock and the epoll
// interest lists' lock, as epoll's looks read the state).
// Context: trap, files lock held; does not allocate.
func connectOutcome(i int, io *abi.NetIO) bool {
	s := &Sockets[i]
	if s.State == abi.SockClosed {
		return false
	}
	if io.Errno == 0 {
		s.State = abi.SockConnected
		s.Local, s.Remote = fromABI(io.Local), fromABI(io.Remote)
	} else {
		s.State = abi.SockFailed
		atomic.StoreInt32(&s.SoError, io.Errno) // SockReadiness loads it beside
	}
	return true
}

// netAccepted makes the socket of a new connection of the listener io
// names (slot and generation), queues it for accept and names it in io.
// It looks at the listener first (listenerRefuses, under its lock), so
// that a refusal takes no slot; then, beside other calls (the files lock
// held shared), it takes a slot as socket(2) does (allocSocket), not
// under the listener's lock, as that takes slots' locks; and under the
// listener's lock again, which an accept beside takes before it reads
// the queue (AcceptNow), it looks again and fills and queues the slot.
// The errors come in the order they did: ESTALE for a socket that is
// gone, EINVAL for one that does not listen, EAGAIN for a full queue,
// ENFILE for a full table (both counted in NetRejected); beside others a
// full table answers vfs.RunAlone, to run again alone. A slot taken for
// a connection refused at the second look is freed again under its lock.
// Context: trap, files lock held; does not allocate.
func netAccepted(io *abi.NetIO, beside bool) int64 {
	li := io.Sock
	if li >= maxSockets {
		return -int64(unix.ESTALE)
	}
	l := &Sockets[li]
	spin.LockWord(&l.held)
	r := listenerRefuses(l, io.Gen)
	spin.UnlockWord(&l.held)
	if r != 0 {
		return r
	}
	c := allocSocket(abi.SockStream, abi.Family4, beside)
	spin.LockWord(&l.held)
	switch r = listenerRefuses(l, io.Gen); {
	case r != 0:
	case c < 0 && beside:
		r = vfs.RunAlone
	case c < 0:
		r = -abi.ENFILE
		atomic.AddUint64(&NetRejected, 1)
	default:
		// Filled under its own lock too: a connect's choice of a port
		// beside reads every socket under its lock (portInUse). The
		// listener's lock orders the fields for AcceptNow.
		s := &Sockets[c]
		spin.LockWord(&s.held)
		s.Family, s.State, s.accepted = l.Family, abi.SockConnected, true
		s.Local, s.Remote = fromABI(io.Local), fromABI(io.Remote)
		s.opts = l.opts
		spin.UnlockWord(&s.held)
		l.acceptQ[(uint32(l.aHead)+uint32(l.ALen))%acceptQueueCap] = int16(c)
		l.ALen++
		io.Sock, io.Gen = uint32(c), s.gen
		tellProgram(int(li))
	}
	spin.UnlockWord(&l.held)
	if r != 0 && c >= 0 {
		s := &Sockets[c]
		spin.LockWord(&s.held)
		freeSocket(c)
		spin.UnlockWord(&s.held)
	}
	return r
}

// listenerRefuses is why listener l, named with generation gen, takes no
// new connection now: ESTALE for a socket that is gone, EINVAL for one
// that does not listen, EAGAIN for a full queue (counted in
// NetRejected), or 0. Context: trap, files lock held, l's lock held;
// does not allocate.
func listenerRefuses(l *socket, gen uint32) int64 {
	switch {
	case l.Typ == 0 || l.gen != gen:
		return -int64(unix.ESTALE)
	case l.State != abi.SockListening:
		return -abi.EINVAL
	case uint32(l.ALen) >= l.backlog:
		atomic.AddUint64(&NetRejected, 1) // /proc reads it; the stack's other threads may count beside
		return -abi.EAGAIN
	}
	return 0
}
