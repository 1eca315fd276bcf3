package knet

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"syscall"
	"unsafe"

	"github.com/gometal/gometal/kernel/abi"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// The socket engine: one goroutine that keeps a gVisor endpoint for every
// socket in the kernel's table in line with what the program did to it.
// It learns of the program's calls from /dev/netctl (a descriptor the
// runtime's netpoller watches: readable when a socket changed) and of the
// network from the endpoints' waiter queues; it moves data with the
// NetCtl* ioctls. Nothing polls: it sleeps in a select until either side
// has news. Context: ring-3 kernel goroutine, for every method.
type engine struct {
	st    *stack.Stack
	ctl   *os.File
	fd    uintptr
	socks map[uint32]*sock
	buf   []byte // scratch for moving data

	events chan []abi.NetEvent // batches read from /dev/netctl
	done   chan struct{}       // run applied the batch: readEvents reuses its slice
	slots  []uint32            // serviceReady's scratch
	rd     bytes.Reader        // the endpoints' source of data to send
	sw     sliceWriter         // the endpoints' sink of received data
	lw     tcpip.LimitedWriter // bounds sw
	to     tcpip.FullAddress   // a datagram's destination
	kick   chan struct{}       // an endpoint has news (see ready)

	mu    sync.Mutex
	ready map[uint32]bool // sockets whose endpoints signalled

	starved bool // a connection waits for a free slot in the socket table

	exitReq chan chan bool   // the exit hook's questions (exithook.go)
	closed  []tcpip.Endpoint // closed TCP endpoints still sending (lingerClosed)
}

const scratchSize = 64 << 10

func errorf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// nicInfo describes the NIC for the kernel's interface list (route
// netlink).
type nicInfo struct {
	present bool
	mac     tcpip.LinkAddress
	mtu     uint32
	prefix  int
}

// newEngine opens /dev/netctl and tells the kernel the interface address,
// the NIC and the DNS server (for /etc/resolv.conf).
func newEngine(st *stack.Stack, addr, dns [4]byte, link nicInfo) (*engine, error) {
	fd, err := syscall.Open(abi.NetCtlPath, syscall.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, errorf("opening %s: %v", abi.NetCtlPath, err)
	}
	e := &engine{
		st: st, ctl: os.NewFile(uintptr(fd), abi.NetCtlPath), fd: uintptr(fd),
		socks: map[uint32]*sock{}, buf: make([]byte, scratchSize),
		events: make(chan []abi.NetEvent), done: make(chan struct{}, 1), kick: make(chan struct{}, 1),
		ready: map[uint32]bool{}, exitReq: make(chan chan bool),
	}
	io := abi.NetIO{Local: abi.Addr{IP: mapped(addr)}, Remote: abi.Addr{IP: mapped(dns)}}
	if link.present {
		io.Flags = abi.IoNIC
		for k := range min(len(link.mac), 6) {
			io.Buf |= uint64(link.mac[k]) << (8 * k)
		}
		io.Len = uint64(link.mtu) | uint64(link.prefix)<<32
	}
	if err := e.ioctl(abi.NetCtlSetAddr, &io); err != nil {
		return nil, errorf("netctl: %v", err)
	}
	return e, nil
}

// ioctl issues one NetCtl* request.
func (e *engine) ioctl(req uintptr, io *abi.NetIO) error {
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, e.fd, req, uintptr(unsafe.Pointer(io)))
	if errno != 0 {
		return errno
	}
	return nil
}

// run is the engine's loop.
func (e *engine) run() {
	go e.readEvents()
	for {
		select {
		case batch := <-e.events:
			e.applyBatch(batch)
			e.done <- struct{}{}
		case <-e.kick:
		case reply := <-e.exitReq:
			reply <- e.exitStep()
		}
		e.serviceReady()
	}
}

// applyBatch applies a batch of socket changes, closes first: a program
// that closes a listener and listens again on its port (as Linux allows at
// once) must find the port free, whatever the slots' order in the batch.
func (e *engine) applyBatch(batch []abi.NetEvent) {
	for i := range batch {
		if batch[i].State == abi.SockClosed {
			e.apply(&batch[i])
		}
	}
	for i := range batch {
		if batch[i].State != abi.SockClosed {
			e.apply(&batch[i])
		}
	}
}

// readEvents reads /dev/netctl, parked in the netpoller while it is empty,
// and hands the batches to run; it reuses one slice, taking it back when
// run has applied it, so that the engine allocates nothing for an event.
func (e *engine) readEvents() {
	raw := make([]byte, 64*abi.NetEventSize)
	events := make([]abi.NetEvent, 64)
	for {
		n, err := e.ctl.Read(raw)
		if err != nil {
			logf("network: reading %s: %v; the network stops", abi.NetCtlPath, err)
			return
		}
		batch := events[:n/abi.NetEventSize]
		for i := range batch {
			batch[i] = *(*abi.NetEvent)(unsafe.Pointer(&raw[i*abi.NetEventSize]))
		}
		e.events <- batch
		<-e.done
	}
}

// signal records that socket slot's endpoint has news. Context: any
// goroutine (gVisor calls it from its waiter queues).
func (e *engine) signal(slot uint32) {
	e.mu.Lock()
	e.ready[slot] = true
	e.mu.Unlock()
	select {
	case e.kick <- struct{}{}:
	default:
	}
}

// serviceReady services every socket whose endpoint signalled.
func (e *engine) serviceReady() {
	for {
		e.mu.Lock()
		if len(e.ready) == 0 {
			e.mu.Unlock()
			return
		}
		e.slots = e.slots[:0]
		for s := range e.ready {
			e.slots = append(e.slots, s)
		}
		clear(e.ready)
		e.mu.Unlock()
		for _, slot := range e.slots {
			if s := e.socks[slot]; s != nil {
				e.service(s)
			}
		}
	}
}
