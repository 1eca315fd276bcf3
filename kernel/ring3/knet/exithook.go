package knet

import (
	"sync"
	"time"

	"github.com/gometal/gometal/kernel/abi"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
)

// Nothing lost at exit. On Linux the bytes a process wrote to a TCP socket
// still reach the peer after it exits: exit closes the socket and the
// kernel keeps sending. Here the stack is goroutines of the program, which
// stop with it, and at GOMAXPROCS=1 the goroutine that calls os.Exit holds
// the only P, so the stack cannot even run while exit_group waits. So the
// engine registers an exit hook with the runtime (run by os.Exit and when
// main returns, on the exiting goroutine, before exit_group; see
// SetExitHookAdder): it does what
// Linux's exit does to the sockets (sends what the program wrote, then
// FIN) and waits, parked, so that the stack runs on that P too, until the
// peers acknowledged everything: as long as TCP makes progress (a segment
// sent or received at least every exitDrainIdle), for at most
// exitDrainMax in all (docs/networking.md). Exits that skip the hooks (a fatal error,
// syscall.Exit) still get the kernel's drain (kernel/exitdrain.go).

// exitDrainIdle bounds the wait without progress for the peers'
// acknowledgements, exitDrainMax the whole wait.
const (
	exitDrainIdle = 2 * time.Second
	exitDrainMax  = 30 * time.Second
)

var (
	exitMu      sync.Mutex
	exitAdder   func(f func(), onFailure bool)
	exitEngine  *engine
	exitHookSet bool
)

// SetExitHookAdder is for the image build's generated file
// (tools/image/overlay.go), which calls it from an init function with the
// runtime's internal exithook.Add (reached through go:linkname, so that
// this package still builds for the host without it): the program's exit
// then waits for the engine's connections. Either order of this call and
// the engine's start works.
func SetExitHookAdder(add func(f func(), onFailure bool)) {
	exitMu.Lock()
	defer exitMu.Unlock()
	exitAdder = add
	registerLocked()
}

// registerExitDrain makes the program's exit wait for e's sockets, once
// the image build has given the hook adder.
func registerExitDrain(e *engine) {
	exitMu.Lock()
	defer exitMu.Unlock()
	exitEngine = e
	registerLocked()
}

// registerLocked registers the hook once both are known.
func registerLocked() {
	if exitAdder != nil && exitEngine != nil && !exitHookSet {
		exitHookSet = true
		exitAdder(exitEngine.drainAtExit, true)
	}
}

// drainAtExit asks the engine until its sockets are done or the time is
// up. Context: the exiting goroutine (an exit hook).
func (e *engine) drainAtExit() {
	if n := openedNIC(); n != nil {
		n.stopHoldingAcks()
	}
	start := time.Now()
	idleSince, seen := start, e.tcpSegments()
	for {
		reply := make(chan bool, 1)
		e.exitReq <- reply
		if !<-reply {
			return
		}
		now := time.Now()
		if p := e.tcpSegments(); p != seen {
			idleSince, seen = now, p
		}
		if now.Sub(idleSince) > exitDrainIdle || now.Sub(start) > exitDrainMax {
			logf("network: exit: sockets still unacknowledged after %v (%v without progress); the rest is lost",
				now.Sub(start).Round(time.Millisecond), now.Sub(idleSince).Round(time.Millisecond))
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// tcpSegments counts the TCP segments the stack sent and received so far.
// Context: any goroutine.
func (e *engine) tcpSegments() uint64 {
	stats := e.st.Stats().TCP
	return stats.ValidSegmentsReceived.Value() + stats.SegmentsSent.Value()
}

// exitStep moves what can move on every socket, sends FIN on connections
// whose data the kernel has all handed over (the close Linux's exit does),
// and reports whether a connection still waits for its peer's
// acknowledgement. Context: the engine goroutine.
func (e *engine) exitStep() (busy bool) {
	for _, s := range e.socks {
		if s.failed || s.typ != abi.SockStream || !s.connected {
			continue
		}
		s.txEmpty = false // the program's last writes may not have reached the engine as events yet
		e.streamTx(s)
		if s.txEmpty && len(s.tx) == 0 && !s.finSent {
			s.finSent = true
			s.ep.Shutdown(tcpip.ShutdownWrite)
		}
		if !s.finSent || unacknowledged(s.ep.State()) {
			busy = true
		}
	}
	kept := e.closed[:0]
	for _, ep := range e.closed {
		if unacknowledged(ep.State()) {
			kept = append(kept, ep)
			busy = true
		}
	}
	e.closed = kept
	return busy
}

// unacknowledged reports whether a TCP endpoint in state st may still have
// data or a FIN its peer has not acknowledged. (A connection still in its
// handshake has sent no data: Linux's exit drops it, and so does this.)
func unacknowledged(st uint32) bool {
	switch tcp.EndpointState(st) {
	case tcp.StateEstablished, tcp.StateFinWait1, tcp.StateClosing, tcp.StateCloseWait, tcp.StateLastAck:
		return true
	}
	return false
}

// lingerClosed keeps ep, a TCP endpoint the program closed, while its peer
// has not acknowledged everything, so that the exit can wait for it; the
// list drops the endpoints that are done. Context: the engine goroutine.
func (e *engine) lingerClosed(ep tcpip.Endpoint) {
	kept := e.closed[:0]
	for _, c := range e.closed {
		if unacknowledged(c.State()) {
			kept = append(kept, c)
		}
	}
	e.closed = kept
	if unacknowledged(ep.State()) {
		e.closed = append(e.closed, ep)
	}
}
