package abi

// The network-control protocol between the trap-context kernel and the
// network stack goroutine (kernel/ring3/knet). The program's socket system calls
// are answered by the kernel at once from its own socket table: data goes
// into and out of per-socket rings, ports are assigned by the kernel, and
// connect on a stream socket returns EINPROGRESS. The stack goroutine
// learns what changed by reading NetEvents from NetCtlPath (a descriptor
// the runtime's netpoller watches) and moves data and state with the
// NetCtl* ioctls, whose argument is a *NetIO. Both sides are in one
// address space: the kernel copies between the rings and the stack's
// buffers. bind and listen are the exception: they wait for the stack's
// answer (EvAck), so that a peer told the port can reach it at once, as on
// Linux. docs/networking.md describes the protocol.

// NetCtlPath is the device the stack goroutine opens (once: a second open
// fails with EBUSY).
const NetCtlPath = "/dev/netctl"

// Socket types in NetEvent.Type.
const (
	SockStream = 1 // TCP
	SockDgram  = 2 // UDP
	SockRaw    = 3 // raw IP (NetEvent.Proto names the protocol): datagrams
)

// Socket states in NetEvent.State: the program's side of the socket as the
// kernel sees it.
const (
	SockOpen       = 1 // created; Local.Port != 0 once bound
	SockListening  = 2 // listen called; Backlog set
	SockConnecting = 3 // stream: connect called, waiting for the stack
	SockConnected  = 4 // stream: the stack connected it; dgram: has a peer
	SockFailed     = 5 // the stack reported an error (NetCtlSetState)
	SockClosed     = 6 // the program closed it: drain Tx, then NetCtlRelease
)

// NetEvent flags.
const (
	EvShutWr = 1 << 0 // the program shut down writing (send FIN after Tx)
	EvShutRd = 1 << 1 // the program shut down reading
	EvAck    = 1 << 2 // the program waits in bind or listen: answer with NetCtlAck (or NetCtlSetState on failure)
)

// Socket options in NetEvent.Opts.
const (
	OptNoDelay   = 1 << 0
	OptKeepAlive = 1 << 1
	OptBroadcast = 1 << 2
	OptReuseAddr = 1 << 3
	OptV6Only    = 1 << 4 // IPV6_V6ONLY: a Family6 socket takes no IPv4 traffic
)

// Addr is a socket address: IP in network byte order, an IPv4 address in
// its IPv4-mapped IPv6 form (::ffff:a.b.c.d), Port in host byte order.
type Addr struct {
	IP   [16]byte
	Port uint16
	_    uint16
}

// Families in NetEvent.Family.
const (
	Family4 = 4 // AF_INET
	Family6 = 6 // AF_INET6
)

// NetEvent is one record of a read from NetCtlPath: a snapshot of a socket
// whose program-side state changed since the last read. The stack brings
// its endpoint in line with it (create, bind, listen, connect, send Tx,
// push pending Rx when RxFree grew, close).
type NetEvent struct {
	Sock      uint32 // slot in the kernel's socket table
	Gen       uint32 // the slot's generation: (Sock, Gen) names one socket
	Type      uint8  // SockStream or SockDgram
	State     uint8  // Sock* state
	Flags     uint8  // Ev* flags
	Family    uint8  // Family4 or Family6
	Backlog   uint32 // SockListening: accept queue length
	Local     Addr   // bound address; the port is always the kernel's choice or the program's
	Remote    Addr   // connect target (or a dgram socket's peer)
	TxLen     uint32 // bytes waiting in the transmit ring
	RxFree    uint32 // free bytes in the receive ring
	Opts      uint32 // Opt* flags
	KeepIdle  uint32 // seconds (0: default)
	KeepIntvl uint32 // seconds (0: default)
	KeepCount uint32 // probes (0: default)
	Linger    int32  // SO_LINGER seconds, -1 when off
	Proto     uint32 // SockRaw: the IP protocol number
}

// NetEventSize is the size of a NetEvent record.
const NetEventSize = 88

// NetIO is the argument of the NetCtl* ioctls.
type NetIO struct {
	Sock   uint32
	Gen    uint32
	Buf    uint64 // address of the stack's buffer
	Len    uint64 // in: the buffer's length; out: bytes moved
	Local  Addr
	Remote Addr
	Errno  int32  // NetCtlSetState: the error to report (0: connected)
	Flags  uint32 // Io* flags
}

// NetIOSize is the size of a NetIO.
const NetIOSize = 72

// NetIO flags.
const (
	IoEOF   = 1 << 0 // NetCtlPushRx: the peer will send no more; NetCtlPullTx: Tx is drained and writing was shut down
	IoTrunc = 1 << 1 // NetCtlPullTx: the datagram did not fit Buf and was truncated
	// IoNIC (NetCtlSetAddr): there is a NIC; Buf holds its MAC address
	// (byte k in bits 8k to 8k+7), Len its MTU (low 32 bits) and the
	// prefix length of its address (bits 32 to 39).
	IoNIC = 1 << 2
)

// The ioctls on a NetCtlPath descriptor ('G' 'N' n).
const (
	// NetCtlPullTx moves transmit data of Sock into Buf: up to Len bytes
	// of a stream, or one datagram with its destination in Remote. Local
	// returns the socket's current local address (newer than the last
	// event when the program bound it since).
	NetCtlPullTx = 0x474e0001
	// NetCtlPushRx moves received data from Buf into Sock's receive ring:
	// as much of a stream as fits (Len returns how much), or one whole
	// datagram from Remote (Len 0 when it did not fit: dropped and counted).
	// IoEOF marks the end of the peer's stream.
	NetCtlPushRx = 0x474e0002
	// NetCtlSetState reports the outcome of a connect (Errno 0: connected,
	// with Local and Remote) or an error that ends the connection (Errno
	// such as ECONNREFUSED or ECONNRESET, which the program reads as
	// SO_ERROR or from its next call).
	NetCtlSetState = 0x474e0003
	// NetCtlAccepted queues a new connection (Local, Remote) on listener
	// Sock; it returns the new socket's Sock and Gen, or fails with EAGAIN
	// when the accept queue is full.
	NetCtlAccepted = 0x474e0004
	// NetCtlRelease frees a SockClosed socket's slot; the stack has closed
	// its endpoint.
	NetCtlRelease = 0x474e0005
	// NetCtlSetAddr tells the kernel the interface's IPv4 address
	// (Local.IP, IPv4-mapped), which bind accepts besides the unspecified
	// and loopback addresses, and the DNS server the network named
	// (Remote.IP, IPv4-mapped; zero if none), which
	// /etc/resolv.conf lists unless the dns= option names others.
	NetCtlSetAddr = 0x474e0006
	// NetCtlAck answers an event with EvAck: the endpoint is bound (and
	// listening), so the program's bind or listen returns. A failure is
	// reported with NetCtlSetState instead, which fails the call.
	NetCtlAck = 0x474e0007
)

// Keep returns the keep-alive settings: idle, interval, count.
func (ev *NetEvent) Keep() [3]uint32 { return [3]uint32{ev.KeepIdle, ev.KeepIntvl, ev.KeepCount} }
