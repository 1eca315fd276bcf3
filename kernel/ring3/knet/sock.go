package knet

import (
	"bytes"
	"syscall"
	"time"
	"unsafe"

	"github.com/gometal/gometal/kernel/abi"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
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
	ep        tcpip.Endpoint
	wq        *waiter.Queue
	entry     waiter.Entry

	bound, listening, connecting, connected bool
	closing, finSent, rxEOF, failed         bool
	txEmpty                                 bool // the kernel's transmit ring was empty at the last pull
	remote                                  abi.Addr4
	opts                                    uint32
	keep                                    [3]uint32
	linger                                  int32

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
		switch err := s.ep.Connect(fullAddr(ev.Remote)); err.(type) {
		case nil:
			e.connected(s)
		case *tcpip.ErrConnectStarted:
		default:
			e.failWith(s, err)
			return
		}
	case s.typ == abi.SockDgram && ev.State == abi.SockConnected && ev.Remote != s.remote:
		s.remote = ev.Remote
		if err := s.ep.Connect(fullAddr(ev.Remote)); err != nil {
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
	if ev.Flags&abi.EvAck != 0 {
		io := abi.NetIO{Sock: s.slot, Gen: s.gen}
		e.ioctl(abi.NetCtlAck, &io) // bind and listen are done: the program's call returns
	}
	e.service(s)
}

// bind binds s's endpoint to the kernel's choice of local address, once.
func (e *engine) bind(s *sock, local abi.Addr4) bool {
	if local.Port == 0 || s.bound || s.connected {
		return true
	}
	addr := tcpip.FullAddress{Port: local.Port}
	if local.IP != [4]byte{} {
		addr.Addr = tcpip.AddrFrom4(local.IP)
	}
	if err := s.ep.Bind(addr); err != nil {
		e.failWith(s, err)
		return false
	}
	s.bound = true
	return true
}

// open makes the endpoint for a new socket.
func (e *engine) open(ev *abi.NetEvent) (*sock, error) {
	s := &sock{slot: ev.Sock, gen: ev.Gen, typ: ev.Type, wq: &waiter.Queue{}, linger: -1}
	proto := tcp.ProtocolNumber
	if ev.Type == abi.SockDgram {
		proto = udp.ProtocolNumber
	}
	ep, err := e.st.NewEndpoint(proto, ipv4.ProtocolNumber, s.wq)
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
func (e *engine) adopt(slot, gen uint32, ep tcpip.Endpoint, wq *waiter.Queue, ra abi.Addr4) *sock {
	s := &sock{slot: slot, gen: gen, typ: abi.SockStream, ep: ep, wq: wq, bound: true, connected: true, remote: ra, linger: -1}
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
	if s.connected || s.typ == abi.SockDgram {
		if s.typ == abi.SockDgram {
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
	io := abi.NetIO{Sock: s.slot, Gen: s.gen, Local: addr4(la), Remote: addr4(ra)}
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
		io := abi.NetIO{Sock: l.slot, Gen: l.gen, Local: addr4(la), Remote: addr4(ra)}
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
			e.service(e.adopt(io.Sock, io.Gen, ep, wq, io.Remote))
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
			io := abi.NetIO{Sock: s.slot, Gen: s.gen, Buf: bufAddr(e.buf), Len: uint64(len(e.buf))}
			if e.ioctl(abi.NetCtlPullTx, &io) != nil {
				return
			}
			s.txEmpty = io.Len == 0
			if io.Len == 0 {
				if io.Flags&abi.IoEOF != 0 && !s.finSent {
					s.finSent = true
					s.ep.Shutdown(tcpip.ShutdownWrite)
				}
				return
			}
			data, scratch = e.buf[:io.Len], true
		}
		n, err := s.ep.Write(bytes.NewReader(data), tcpip.WriteOptions{})
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
			w := sliceWriter{b: e.buf[:0]}
			_, err := s.ep.Read(&tcpip.LimitedWriter{W: &w, N: int64(len(e.buf))}, tcpip.ReadOptions{})
			switch err.(type) {
			case nil:
				s.rx = w.b
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
		if e.ioctl(abi.NetCtlPullTx, &io) != nil || io.Len == 0 && io.Remote.Port == 0 {
			return
		}
		// The event that binds the socket may still be on its way: the
		// kernel's state is newer than the last snapshot. Bind before
		// sending, or the stack would pick a port of its own.
		if !e.bind(s, io.Local) {
			return
		}
		to := fullAddr(io.Remote)
		// An error loses the datagram, as a full queue does on Linux: UDP
		// is unreliable.
		s.ep.Write(bytes.NewReader(e.buf[:io.Len]), tcpip.WriteOptions{To: &to})
	}
}

// dgramRx queues received datagrams in the kernel's ring (a full ring
// drops them there, counted).
func (e *engine) dgramRx(s *sock) {
	for {
		w := sliceWriter{b: e.buf[:0]}
		res, err := s.ep.Read(&tcpip.LimitedWriter{W: &w, N: int64(len(e.buf))}, tcpip.ReadOptions{NeedRemoteAddr: true})
		if err != nil {
			return
		}
		io := abi.NetIO{Sock: s.slot, Gen: s.gen, Buf: bufAddr(w.b), Len: uint64(len(w.b)), Remote: addr4(res.RemoteAddr)}
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

func fullAddr(a abi.Addr4) tcpip.FullAddress {
	return tcpip.FullAddress{Addr: tcpip.AddrFrom4(a.IP), Port: a.Port}
}

func addr4(a tcpip.FullAddress) abi.Addr4 {
	var r abi.Addr4
	if a.Addr.Len() == 4 {
		r.IP = a.Addr.As4()
	}
	r.Port = a.Port
	return r
}

func bufAddr(b []byte) uint64 {
	if len(b) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&b[0])))
}
