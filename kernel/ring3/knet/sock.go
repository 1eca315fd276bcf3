package knet

import (
	"syscall"
	"time"
	"unsafe"

	"github.com/gometal/gometal/kernel/abi"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// sock is the engine's side of one kernel socket: its gVisor endpoint and
// the data caught between the two (pulled from the kernel but not yet
// taken by the endpoint, or read from the endpoint but not yet taken by
// the kernel). Context: the engine goroutine, for every method.
type sock struct {
	slot, gen uint32
	typ       uint8
	family    uint8 // abi.Family4 or abi.Family6
	ep        tcpip.Endpoint
	wq        *waiter.Queue
	entry     waiter.Entry

	bound, listening, connecting, connected bool
	closing, finSent, rxEOF, failed         bool
	remote                                  abi.Addr
	opts                                    uint32
	keep                                    [3]uint32
	linger                                  int32

	// txEmpty: the last pull drained the kernel's transmit ring and no
	// event for the socket came since. Only the engine empties that ring
	// and every write marks the socket dirty (an event), so streamTx need
	// not ask the kernel again until the next event: a socket serviced
	// for its endpoint's news (data or an acknowledgement from the peer)
	// costs no system call for its transmit side.
	txEmpty bool

	tx      []byte // stream data pulled from the kernel, not yet written
	rx      []byte // stream data read from the endpoint, not yet pushed
	rxMore  bool   // the kernel ring was full: wait for RxFree
	backlog []tcpip.Endpoint
	blWQ    []*waiter.Queue
}

// apply brings socket ev.Sock in line with the kernel's snapshot.
func (e *engine) apply(ev *abi.NetEvent) {
	s := e.socks[ev.Sock]
	if s != nil && s.gen != ev.Gen {
		e.drop(s) // cannot happen: slots are reused only after release
		s = nil
	}
	if s == nil {
		if ev.State == abi.SockClosed {
			e.release(ev.Sock, ev.Gen)
			return
		}
		var err error
		if s, err = e.open(ev); err != nil {
			e.fail(ev.Sock, ev.Gen, err)
			return
		}
	}
	e.setOptions(s, ev)
	if s.failed {
		if ev.State == abi.SockClosed {
			e.drop(s)
		} else if ev.Flags&abi.EvAck != 0 {
			e.fail(s.slot, s.gen, &tcpip.ErrInvalidEndpointState{}) // bind or listen on a failed socket
		}
		return
	}
	if !e.bind(s, ev.Local) {
		return
	}
	switch {
	case ev.State == abi.SockListening && !s.listening:
		if err := s.ep.Listen(int(ev.Backlog)); err != nil {
			e.failWith(s, err)
			return
		}
		s.listening = true
	case ev.State == abi.SockConnecting && !s.connecting && !s.connected:
		s.connecting = true
		s.remote = ev.Remote
		switch err := s.ep.Connect(s.fullAddr(ev.Remote)); err.(type) {
		case nil:
			e.connected(s)
		case *tcpip.ErrConnectStarted:
		default:
			e.failWith(s, err)
			return
		}
	case s.typ != abi.SockStream && ev.State == abi.SockConnected && ev.Remote != s.remote:
		s.remote = ev.Remote
		if err := s.ep.Connect(s.fullAddr(ev.Remote)); err != nil {
			e.failWith(s, err)
			return
		}
	}
	if ev.State == abi.SockClosed {
		s.closing = true
	}
	if ev.RxFree > 0 {
		s.rxMore = false
	}
	s.txEmpty = false // the program may have written: pull again
	if ev.Flags&abi.EvAck != 0 {
		io := abi.NetIO{Sock: s.slot, Gen: s.gen}
		e.ioctl(abi.NetCtlAck, &io) // bind and listen are done: the program's call returns
	}
	e.service(s)
}

// bind binds s's endpoint to the kernel's choice of local address, once
// (a raw socket has no port: it binds when the program named an address).
func (e *engine) bind(s *sock, local abi.Addr) bool {
	if s.bound || s.connected || local.Port == 0 && (s.typ != abi.SockRaw || unspecified(local)) {
		return true
	}
	if err := s.ep.Bind(s.fullAddr(local)); err != nil {
		e.failWith(s, err)
		return false
	}
	s.bound = true
	return true
}

// open makes the endpoint for a new socket.
func (e *engine) open(ev *abi.NetEvent) (*sock, error) {
	s := &sock{slot: ev.Sock, gen: ev.Gen, typ: ev.Type, family: ev.Family, wq: &waiter.Queue{}, linger: -1}
	netProto := ipv4.ProtocolNumber
	if ev.Family == abi.Family6 {
		netProto = ipv6.ProtocolNumber
	}
	var ep tcpip.Endpoint
	var err tcpip.Error
	switch ev.Type {
	case abi.SockStream:
		ep, err = e.st.NewEndpoint(tcp.ProtocolNumber, netProto, s.wq)
	case abi.SockDgram:
		ep, err = e.st.NewEndpoint(udp.ProtocolNumber, netProto, s.wq)
	default:
		ep, err = e.st.NewRawEndpoint(tcpip.TransportProtocolNumber(ev.Proto), netProto, s.wq, true)
	}
	if err != nil {
		return nil, errorf("%v", err)
	}
	s.ep = ep
	ep.SocketOptions().SetReuseAddress(true) // the kernel arbitrates ports
	e.watch(s)
	e.socks[s.slot] = s
	return s, nil
}

// adopt takes an accepted endpoint for a kernel slot.
func (e *engine) adopt(slot, gen uint32, family uint8, ep tcpip.Endpoint, wq *waiter.Queue, ra abi.Addr) *sock {
	s := &sock{slot: slot, gen: gen, typ: abi.SockStream, family: family, ep: ep, wq: wq, bound: true, connected: true, remote: ra, linger: -1}
	e.watch(s)
	e.socks[slot] = s
	return s
}

// watch registers for the endpoint's events.
func (e *engine) watch(s *sock) {
	slot := s.slot
	s.entry = waiter.NewFunctionEntry(waiter.EventIn|waiter.EventOut|waiter.EventErr|waiter.EventHUp|waiter.EventRdHUp, func(waiter.EventMask) {
		e.signal(slot)
	})
	s.wq.EventRegister(&s.entry)
}

// setOptions applies changed socket options.
func (e *engine) setOptions(s *sock, ev *abi.NetEvent) {
	if ev.Opts == s.opts && ev.Keep() == s.keep && ev.Linger == s.linger {
		return
	}
	s.opts, s.keep, s.linger = ev.Opts, ev.Keep(), ev.Linger
	so := s.ep.SocketOptions()
	so.SetBroadcast(s.opts&abi.OptBroadcast != 0)
	if s.family == abi.Family6 {
		so.SetV6Only(s.opts&abi.OptV6Only != 0) // the kernel allows it only before bind
	}
	if s.typ != abi.SockStream {
		return
	}
	so.SetKeepAlive(s.opts&abi.OptKeepAlive != 0)
	so.SetDelayOption(s.opts&abi.OptNoDelay == 0)
	if s.keep[0] > 0 {
		o := tcpip.KeepaliveIdleOption(time.Duration(s.keep[0]) * time.Second)
		s.ep.SetSockOpt(&o)
	}
	if s.keep[1] > 0 {
		o := tcpip.KeepaliveIntervalOption(time.Duration(s.keep[1]) * time.Second)
		s.ep.SetSockOpt(&o)
	}
	if s.keep[2] > 0 {
		s.ep.SetSockOptInt(tcpip.KeepaliveCountOption, int(s.keep[2]))
	}
	so.SetLinger(tcpip.LingerOption{Enabled: s.linger >= 0, Timeout: time.Duration(max(s.linger, 0)) * time.Second})
}

// service moves whatever can move for socket s.
func (e *engine) service(s *sock) {
	if s.failed {
		return
	}
	switch {
	case s.listening:
		e.accept(s)
	case s.connecting:
		if s.ep.Readiness(waiter.EventOut|waiter.EventErr|waiter.EventHUp) == 0 {
			break
		}
		if err := s.ep.LastError(); err != nil {
			e.failWith(s, err)
			return
		}
		if _, err := s.ep.GetRemoteAddress(); err != nil {
			break // not yet
		}
		e.connected(s)
	}
	if s.connected || s.typ != abi.SockStream {
		if s.typ != abi.SockStream {
			e.dgramTx(s)
			e.dgramRx(s)
		} else {
			e.streamTx(s)
			e.streamRx(s)
		}
	}
	if s.closing && len(s.tx) == 0 && !s.failed {
		e.drop(s)
	}
}

// connected reports a finished connect to the kernel.
func (e *engine) connected(s *sock) {
	s.connecting, s.connected = false, true
	la, _ := s.ep.GetLocalAddress()
	ra, _ := s.ep.GetRemoteAddress()
	io := abi.NetIO{Sock: s.slot, Gen: s.gen, Local: fromFull(la), Remote: fromFull(ra)}
	e.ioctl(abi.NetCtlSetState, &io)
}

// accept hands the listener's new connections to the kernel's accept
// queue; when that is full they wait here until the program accepts.
func (e *engine) accept(l *sock) {
	for {
		var ep tcpip.Endpoint
		var wq *waiter.Queue
		if len(l.backlog) > 0 {
			ep, wq = l.backlog[0], l.blWQ[0]
		} else {
			var ra tcpip.FullAddress
			var err tcpip.Error
			ep, wq, err = l.ep.Accept(&ra)
			if err != nil {
				return
			}
			l.backlog, l.blWQ = append(l.backlog, ep), append(l.blWQ, wq)
		}
		la, _ := ep.GetLocalAddress()
		ra, _ := ep.GetRemoteAddress()
		io := abi.NetIO{Sock: l.slot, Gen: l.gen, Local: fromFull(la), Remote: fromFull(ra)}
		if err := e.ioctl(abi.NetCtlAccepted, &io); err != nil {
			switch err {
			case syscall.EAGAIN:
				return // the accept queue is full: retry when the program accepts
			case syscall.ENFILE:
				e.starved = true
				return // the socket table is full: retry when a socket is released
			}
			ep.Close()
		} else {
			e.service(e.adopt(io.Sock, io.Gen, l.family, ep, wq, io.Remote))
		}
		l.backlog, l.blWQ = l.backlog[1:], l.blWQ[1:]
	}
}

// streamTx writes the program's data to the endpoint, and sends FIN after
// it when the program shut down writing or closed the socket.
func (e *engine) streamTx(s *sock) {
	for {
		data, scratch := s.tx, false
		if len(data) == 0 {
			if s.txEmpty {
				return // drained, and no event since
			}
			io := abi.NetIO{Sock: s.slot, Gen: s.gen, Buf: bufAddr(e.buf), Len: uint64(len(e.buf))}
			if e.ioctl(abi.NetCtlPullTx, &io) != nil {
				return
			}
			// Less than the buffer holds means the ring is empty now
			// (unless writing was shut down: pull once more for the EOF).
			s.txEmpty = io.Len < uint64(len(e.buf)) && io.Flags&abi.IoEOF == 0
			if io.Len == 0 {
				if io.Flags&abi.IoEOF != 0 {
					s.txEmpty = true // and it stays so: writing was shut down
					if !s.finSent {
						s.finSent = true
						s.ep.Shutdown(tcpip.ShutdownWrite)
					}
				}
				return
			}
			data, scratch = e.buf[:io.Len], true
		}
		e.rd.Reset(data)
		n, err := s.ep.Write(&e.rd, tcpip.WriteOptions{})
		if scratch {
			s.tx = append(s.tx[:0], data[n:]...) // keep what the endpoint did not take
		} else {
			s.tx = data[n:]
		}
		switch err.(type) {
		case nil:
		case *tcpip.ErrWouldBlock:
			return // EventOut brings us back
		default:
			e.failWith(s, err)
			return
		}
	}
}

// streamRx pushes received data into the kernel's ring.
func (e *engine) streamRx(s *sock) {
	for !s.rxMore {
		if len(s.rx) == 0 && !s.rxEOF {
			_, err := s.ep.Read(e.sink(), tcpip.ReadOptions{})
			switch err.(type) {
			case nil:
				s.rx = e.sw.b
			case *tcpip.ErrWouldBlock:
				return
			case *tcpip.ErrClosedForReceive:
				s.rxEOF = true
			default:
				e.failWith(s, err)
				return
			}
		}
		io := abi.NetIO{Sock: s.slot, Gen: s.gen, Buf: bufAddr(s.rx), Len: uint64(len(s.rx))}
		if s.rxEOF && len(s.rx) == 0 {
			io.Flags = abi.IoEOF
		}
		if e.ioctl(abi.NetCtlPushRx, &io) != nil {
			return
		}
		s.rx = s.rx[io.Len:]
		if len(s.rx) > 0 {
			// The ring is full: keep the rest (out of the scratch buffer)
			// until RxFree brings us back.
			s.rx = append([]byte(nil), s.rx...)
			s.rxMore = true
			return
		}
		if s.rxEOF {
			return
		}
	}
}

// sink returns the writer an endpoint's Read fills: the scratch buffer,
// emptied, through e.sw and e.lw, which live in the engine so that a read
// allocates nothing.
func (e *engine) sink() *tcpip.LimitedWriter {
	e.sw.b = e.buf[:0]
	e.lw = tcpip.LimitedWriter{W: &e.sw, N: int64(len(e.buf))}
	return &e.lw
}

// sliceWriter appends into a fixed slice (LimitedWriter bounds it).
type sliceWriter struct{ b []byte }

func (w *sliceWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// dgramTx sends the program's datagrams.
func (e *engine) dgramTx(s *sock) {
	for {
		io := abi.NetIO{Sock: s.slot, Gen: s.gen, Buf: bufAddr(e.buf), Len: uint64(len(e.buf))}
		if e.ioctl(abi.NetCtlPullTx, &io) != nil || io.Len == 0 && io.Remote == (abi.Addr{}) {
			return
		}
		// The event that binds the socket may still be on its way: the
		// kernel's state is newer than the last snapshot. Bind before
		// sending, or the stack would pick a port of its own.
		if !e.bind(s, io.Local) {
			return
		}
		e.to = s.fullAddr(io.Remote)
		// An error loses the datagram, as a full queue does on Linux: UDP
		// is unreliable.
		e.rd.Reset(e.buf[:io.Len])
		s.ep.Write(&e.rd, tcpip.WriteOptions{To: &e.to})
	}
}

// dgramRx queues received datagrams in the kernel's ring (a full ring
// drops them there, counted).
func (e *engine) dgramRx(s *sock) {
	for {
		res, err := s.ep.Read(e.sink(), tcpip.ReadOptions{NeedRemoteAddr: true})
		if err != nil {
			return
		}
		io := abi.NetIO{Sock: s.slot, Gen: s.gen, Buf: bufAddr(e.sw.b), Len: uint64(len(e.sw.b)), Remote: fromFull(res.RemoteAddr)}
		if e.ioctl(abi.NetCtlPushRx, &io) != nil {
			return
		}
	}
}

// failWith reports err as the socket's error and stops serving it.
func (e *engine) failWith(s *sock, err tcpip.Error) {
	s.failed = true
	e.fail(s.slot, s.gen, err)
	if s.closing {
		e.drop(s)
	}
}

// fail tells the kernel socket (slot, gen) failed with err.
func (e *engine) fail(slot, gen uint32, err any) {
	io := abi.NetIO{Sock: slot, Gen: gen, Errno: int32(errnoOf(err))}
	e.ioctl(abi.NetCtlSetState, &io)
}

// drop closes the endpoint and releases the kernel slot.
func (e *engine) drop(s *sock) {
	s.wq.EventUnregister(&s.entry)
	for _, ep := range s.backlog {
		ep.Close()
	}
	s.ep.Close()
	if s.typ == abi.SockStream {
		e.lingerClosed(s.ep)
	}
	delete(e.socks, s.slot)
	e.release(s.slot, s.gen)
}

// release frees a closed kernel slot; listeners that could not hand over
// a connection for want of a slot try again.
func (e *engine) release(slot, gen uint32) {
	io := abi.NetIO{Sock: slot, Gen: gen}
	e.ioctl(abi.NetCtlRelease, &io)
	if e.starved {
		e.starved = false
		for _, s := range e.socks {
			if s.listening && len(s.backlog) > 0 {
				e.signal(s.slot)
			}
		}
	}
}

// fullAddr is a as s's endpoint takes it: an IPv4 endpoint four bytes, an
// IPv6 endpoint sixteen (IPv4-mapped for IPv4, which gVisor unwraps when
// the endpoint is dual-stack); the unspecified address is empty.
func (s *sock) fullAddr(a abi.Addr) tcpip.FullAddress {
	r := tcpip.FullAddress{Port: a.Port}
	switch {
	case unspecified(a):
	case s.family != abi.Family6:
		r.Addr = tcpip.AddrFrom4([4]byte(a.IP[12:]))
	default:
		r.Addr = tcpip.AddrFrom16(a.IP)
	}
	return r
}

// fromFull is the kernel's form of a: IPv4 addresses IPv4-mapped.
func fromFull(a tcpip.FullAddress) abi.Addr {
	r := abi.Addr{Port: a.Port}
	switch a.Addr.Len() {
	case 4:
		r.IP = mapped(a.Addr.As4())
	case 16:
		r.IP = a.Addr.As16()
	}
	return r
}

// mapped is ip's IPv4-mapped IPv6 form.
func mapped(ip [4]byte) [16]byte {
	return [16]byte{10: 0xff, 11: 0xff, 12: ip[0], 13: ip[1], 14: ip[2], 15: ip[3]}
}

// unspecified reports whether a's address is :: or 0.0.0.0 (mapped).
func unspecified(a abi.Addr) bool {
	return a.IP == [16]byte{} || a.IP == mapped([4]byte{})
}

func bufAddr(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}
