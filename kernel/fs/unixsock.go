package fs

import "golang.org/x/sys/unix"

// Unix-domain sockets (AF_UNIX, man 7 unix): the table of sockets, their
// names, connections, accept queues and receive queues, with Linux's
// rules and errnos. Data sent to a socket goes straight into its
// receiver's queue: a ring of bytes (pages taken when first written) cut
// into records, one per datagram or seqpacket message (consecutive stream
// writes share one), each record carrying the sender's name (datagrams
// and messages) and optionally a set of passed descriptors (SCM_RIGHTS).
// The kernel makes the descriptors, the waiting, the readiness
// notifications and the socket inodes of names in the file system; this
// table only says what happens. Context (every method): trap, kernel lock
// held; none allocates.

// Limits of Unix-domain sockets.
const (
	MaxUnixSockets = 256
	UnixRingSize   = unixRingPages * PageSize // receive queue bytes per socket
	UnixPathMax    = 108                      // sizeof(sun_path)
	// UnixBufDefault is what SO_SNDBUF and SO_RCVBUF report by default
	// (Linux's net.core.wmem_default).
	UnixBufDefault = 212992
	// UnixMaxDgram is the longest datagram or message: Linux's default
	// send buffer less 32 bytes.
	UnixMaxDgram   = UnixBufDefault - 32
	MaxUnixRights  = 16 // descriptors in one SCM_RIGHTS message
	unixRingPages  = 64
	unixMaxRecords = 128 // messages queued on one socket
	unixBacklogMax = 128 // connections waiting in one accept queue
	maxRightsSets  = 128 // messages with descriptors in flight
)

// Socket states.
const (
	usFree uint8 = iota
	usOpen       // not connected, not listening
	usListening
	usConnected
)

// Shutdown bits, as Linux's RCV_SHUTDOWN and SEND_SHUTDOWN.
const (
	ShutRd = 1
	ShutWr = 2
)

// UnixAddr is a socket's name as sockaddr_un carries it: the bytes of
// sun_path that count, N of them. A path has no NUL; an abstract name
// starts with one; N == 0 is unnamed.
type UnixAddr struct {
	N   uint8
	Buf [UnixPathMax]byte
}

// Bytes returns the name's bytes.
// Context: trap, kernel lock held; does not allocate.
func (a *UnixAddr) Bytes() []byte { return a.Buf[:a.N] }

// Abstract reports whether a is in the abstract namespace.
// Context: trap, kernel lock held; does not allocate.
func (a *UnixAddr) Abstract() bool { return a.N > 0 && a.Buf[0] == 0 }

// SockaddrLen is the length Linux reports for a sockaddr_un holding a:
// the family alone when unnamed, a path with its terminating NUL, an
// abstract name as bound.
// Context: trap, kernel lock held; does not allocate.
func (a *UnixAddr) SockaddrLen() int {
	switch {
	case a.N == 0:
		return 2
	case a.Abstract() || int(a.N) == UnixPathMax:
		return 2 + int(a.N)
	}
	return 3 + int(a.N)
}

// ParseUnixAddr parses a sockaddr_un of n bytes (sa, at most its first
// 110) for bind, connect or sendto into a, which the caller zeroed (and
// which stays zero unless a name was parsed): autobind reports the
// family alone (bind's autobind). A path ends at its first NUL. Errors as
// Linux's unix_validate_addr: EINVAL for a bad length or family. (A
// pointer, not a result: the caller's name is not copied back, issue 16's
// budget.) Context: trap, kernel lock held; does not allocate.
func ParseUnixAddr(a *UnixAddr, sa []byte, n int) (autobind bool, e Errno) {
	if n < 2 || len(sa) < 2 {
		return false, EINVAL
	}
	if uint16(sa[0])|uint16(sa[1])<<8 != unix.AF_UNIX {
		return false, EINVAL
	}
	if n == 2 {
		return true, ok
	}
	if n > 2+UnixPathMax || len(sa) < n {
		return false, EINVAL
	}
	path := sa[2:n]
	if path[0] != 0 {
		for k, c := range path {
			if c == 0 {
				path = path[:k]
				break
			}
		}
	}
	a.N = uint8(copy(a.Buf[:], path))
	return false, ok
}

// A Right is one descriptor in flight: what the kernel needs to make a
// descriptor of it again. The table does not look inside.
type Right struct {
	Kind  uint8
	Flags uint8
	Idx   int32
}

// RightsSet is the descriptors of one SCM_RIGHTS message.
type RightsSet struct {
	used  bool
	N     int
	Items [MaxUnixRights]Right
}

type unixRecord struct {
	n      int32 // payload bytes left
	addrN  uint8 // bytes of the sender's name ahead of the payload
	rights int16 // rights set + 1, 0 for none
}

type unixSock struct {
	typ      uint8 // unix.SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET
	state    uint8
	shut     uint8 // ShutRd, ShutWr
	dying    bool  // no reference left: the kernel is to finish closing it
	passcred bool
	peerLive bool // connected and the peer still exists (peer valid)
	err      Errno
	refs     int32
	peer     int16
	backlog  int16
	ino      Ino // the socket inode of a path name, 0 if none
	name     UnixAddr
	peerName UnixAddr
	sndbuf   int32
	rcvbuf   int32
	ring     byteRing
	recs     [unixMaxRecords]unixRecord
	rHead    int16
	rLen     int16
	acceptQ  [unixBacklogMax]int16
	aHead    int16
	aLen     int16
}

// UnixSockets is the table of Unix-domain sockets. The zero value is
// ready.
type UnixSockets struct {
	s        [MaxUnixSockets]unixSock
	rights   [maxRightsSets]RightsSet
	autoName uint32
	// Live counts the sockets in use.
	Live int
}

// New makes an unconnected socket of type typ with one reference: ENFILE
// when the table is full, ESOCKTNOSUPPORT for a type Unix sockets lack.
// Context: trap, kernel lock held; does not allocate.
// Not inlined: its three copies cost the image 320 bytes (issue 16's budget).
//
//go:noinline
func (us *UnixSockets) New(typ int) (int, Errno) {
	if typ != unix.SOCK_STREAM && typ != unix.SOCK_DGRAM && typ != unix.SOCK_SEQPACKET {
		return -1, unix.ESOCKTNOSUPPORT
	}
	for i := range us.s {
		s := &us.s[i]
		if s.state == usFree {
			// Cleared, then set field by field: a literal with non-zero
			// fields would be a 2 KiB copy kept in the image's rodata.
			*s = unixSock{}
			s.typ, s.state, s.refs, s.peer = uint8(typ), usOpen, 1, -1
			s.sndbuf, s.rcvbuf = UnixBufDefault, UnixBufDefault
			us.Live++
			return i, ok
		}
	}
	return -1, ENFILE
}

// Pair is socketpair(2): two sockets of type typ connected to each other.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Pair(typ int) (int, int, Errno) {
	a, e := us.New(typ)
	if e != ok {
		return -1, -1, e
	}
	b, e := us.New(typ)
	if e != ok {
		us.s[a] = unixSock{}
		us.Live--
		return -1, -1, e
	}
	us.link(a, b)
	return a, b, ok
}

// link connects a and b to each other.
// Context: trap, kernel lock held; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (us *UnixSockets) link(a, b int) {
	sa, sb := &us.s[a], &us.s[b]
	sa.state, sb.state = usConnected, usConnected
	sa.peer, sb.peer = int16(b), int16(a)
	sa.peerLive, sb.peerLive = true, true
	// One statement each: a tuple assignment copies the names through
	// temporaries (issue 16's budget).
	sa.peerName = sb.name
	sb.peerName = sa.name
}

// Type returns the socket type of i.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Type(i int) int { return int(us.s[i].typ) }

// Name returns i's own name.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Name(i int) *UnixAddr { return &us.s[i].name }

// PeerName returns the name of i's peer: ENOTCONN when it has none.
// Context: trap, kernel lock held; does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (us *UnixSockets) PeerName(i int) (*UnixAddr, Errno) {
	s := &us.s[i]
	if s.state != usConnected {
		return nil, unix.ENOTCONN
	}
	return &s.peerName, ok
}

// Peer returns i's peer, -1 if none (or gone).
// Context: trap, kernel lock held; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (us *UnixSockets) Peer(i int) int {
	if us.s[i].peerLive {
		return int(us.s[i].peer)
	}
	return -1
}

// Listening reports whether i listens.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Listening(i int) bool { return us.s[i].state == usListening }

// Ino returns the socket inode i is bound to, 0 if none.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Ino(i int) Ino { return us.s[i].ino }

// Bound reports whether i has a name.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Bound(i int) bool { return us.s[i].name.N > 0 }

// Bind names i: a (a path whose socket inode ino the kernel made, or an
// abstract name). EINVAL when i has a name already; EADDRINUSE when an
// abstract name is taken by a socket of the same type.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Bind(i int, a *UnixAddr, ino Ino) Errno {
	s := &us.s[i]
	if s.name.N > 0 {
		return EINVAL
	}
	if a.Abstract() && us.findAbstract(int(s.typ), a) >= 0 {
		return unix.EADDRINUSE
	}
	s.name = *a
	s.ino = ino
	return ok
}

// Autobind gives i an abstract name of five hex digits, as Linux does
// for bind with the family alone; a bound socket keeps its name.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Autobind(i int) Errno {
	s := &us.s[i]
	if s.name.N > 0 {
		return ok
	}
	var a UnixAddr
	a.N = 6
	for range 1 << 20 {
		v := us.autoName & 0xfffff
		us.autoName++
		for k := 5; k >= 1; k-- {
			a.Buf[k] = "0123456789abcdef"[v&15]
			v >>= 4
		}
		if us.findAbstract(int(s.typ), &a) < 0 {
			s.name = a
			return ok
		}
	}
	return unix.ENOSPC
}

// findAbstract returns the socket of type typ named a, -1 if none.
// Context: trap, kernel lock held; does not allocate.
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (us *UnixSockets) findAbstract(typ int, a *UnixAddr) int {
	for i := range us.s {
		s := &us.s[i]
		if s.state != usFree && int(s.typ) == typ && s.name.N == a.N && s.name.Buf == a.Buf {
			return i
		}
	}
	return -1
}

// Lookup finds the socket a connect or send of type typ reaches: by its
// socket inode for a path (ino), by name for an abstract name.
// ECONNREFUSED when none is bound there; EPROTOTYPE when the one there has
// another type.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Lookup(typ int, a *UnixAddr, ino Ino) (int, Errno) {
	if a.Abstract() {
		if j := us.findAbstract(typ, a); j >= 0 {
			return j, ok
		}
		return -1, unix.ECONNREFUSED
	}
	for j := range us.s {
		s := &us.s[j]
		if s.state != usFree && !s.dying && s.ino == ino && ino != 0 {
			if int(s.typ) != typ {
				return -1, unix.EPROTOTYPE
			}
			return j, ok
		}
	}
	return -1, unix.ECONNREFUSED
}

// Listen makes a bound stream or seqpacket socket listen with room for
// backlog+1 waiting connections (as Linux); calling it again changes the
// backlog. EOPNOTSUPP for datagram sockets; EINVAL when unbound or
// connected.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Listen(i, backlog int) Errno {
	s := &us.s[i]
	switch {
	case s.typ == unix.SOCK_DGRAM:
		return unix.EOPNOTSUPP
	case s.name.N == 0 || s.state == usConnected:
		return EINVAL
	}
	if backlog < 0 || backlog >= unixBacklogMax {
		backlog = unixBacklogMax - 1
	}
	s.state, s.backlog = usListening, int16(backlog)
	return ok
}

// Connect connects stream or seqpacket socket i to the listener l: the
// listener's side is made at once and queued for accept, and i is
// connected. ECONNREFUSED when l does not listen (or stopped reading);
// EAGAIN when its queue is full; EISCONN when i is connected; EINVAL when
// it listens; ENFILE when the table is full.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Connect(i, l int) (int, Errno) {
	s, ls := &us.s[i], &us.s[l]
	switch {
	case ls.state != usListening || ls.shut&ShutRd != 0:
		return -1, unix.ECONNREFUSED
	case ls.aLen > ls.backlog:
		return -1, EAGAIN
	case s.state == usConnected:
		return -1, unix.EISCONN
	case s.state == usListening:
		return -1, EINVAL
	}
	e, err := us.New(int(s.typ))
	if err != ok {
		return -1, err
	}
	us.s[e].name = ls.name
	us.link(i, e)
	ls.acceptQ[(ls.aHead+ls.aLen)%unixBacklogMax] = int16(e)
	ls.aLen++
	return e, ok
}

// ConnectDgram sets datagram socket i's peer to j (the only socket it
// then sends to and receives from): EPERM when j is connected to another
// socket, as Linux's unix_may_send.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) ConnectDgram(i, j int) Errno {
	if t := &us.s[j]; t.state == usConnected && int(t.peer) != i {
		return EPERM
	}
	s := &us.s[i]
	s.state, s.peer, s.peerLive = usConnected, int16(j), true
	s.peerName = us.s[j].name
	return ok
}

// Disconnect drops datagram socket i's peer (connect with AF_UNSPEC).
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Disconnect(i int) {
	s := &us.s[i]
	if s.state == usConnected {
		s.state, s.peer, s.peerLive = usOpen, -1, false
		s.peerName = UnixAddr{}
	}
}

// Accept takes the oldest connection waiting on listener i (its
// reference passes to the caller). EOPNOTSUPP for datagram sockets;
// EINVAL when i does not listen; EAGAIN when none waits.
// Context: trap, kernel lock held; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (us *UnixSockets) Accept(i int) (int, Errno) {
	s := &us.s[i]
	switch {
	case s.typ == unix.SOCK_DGRAM:
		return -1, unix.EOPNOTSUPP
	case s.state != usListening:
		return -1, EINVAL
	case s.aLen == 0:
		return -1, EAGAIN
	}
	c := int(s.acceptQ[s.aHead])
	s.aHead = (s.aHead + 1) % unixBacklogMax
	s.aLen--
	return c, ok
}

// Shutdown shuts i's reading (how SHUT_RD), writing (SHUT_WR) or both;
// a connected stream or seqpacket peer's other direction shuts with it.
// EINVAL for another how.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Shutdown(i, how int) Errno {
	if how < unix.SHUT_RD || how > unix.SHUT_RDWR {
		return EINVAL
	}
	mode := uint8(how + 1)
	s := &us.s[i]
	s.shut |= mode
	if s.peerLive && s.typ != unix.SOCK_DGRAM {
		var pm uint8
		if mode&ShutRd != 0 {
			pm |= ShutWr
		}
		if mode&ShutWr != 0 {
			pm |= ShutRd
		}
		us.s[s.peer].shut |= pm
	}
	return ok
}

// TakeError returns and clears i's pending error (SO_ERROR).
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) TakeError(i int) Errno {
	e := us.s[i].err
	us.s[i].err = ok
	return e
}

// SetPasscred and Passcred are SO_PASSCRED.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) SetPasscred(i int, on bool) { us.s[i].passcred = on }

// Passcred reports SO_PASSCRED.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Passcred(i int) bool { return us.s[i].passcred }

// SetBuf records SO_SNDBUF (snd) or SO_RCVBUF as Linux does: doubled, at
// least its minimum; Buf reports it.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) SetBuf(i int, snd bool, v int) {
	v = min(max(v, 0), 1<<30) * 2
	if snd {
		us.s[i].sndbuf = int32(max(v, 4608))
	} else {
		us.s[i].rcvbuf = int32(max(v, 2304))
	}
}

// Buf reports SO_SNDBUF (snd) or SO_RCVBUF.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Buf(i int, snd bool) int {
	if snd {
		return int(us.s[i].sndbuf)
	}
	return int(us.s[i].rcvbuf)
}

// Buffered returns the payload bytes queued on i (FIONREAD): all of them
// for a stream socket, the next message's for the others.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Buffered(i int) int {
	s := &us.s[i]
	if s.rLen == 0 {
		return 0
	}
	if s.typ != unix.SOCK_STREAM {
		return int(s.recs[s.rHead].n)
	}
	n := 0
	for k := range s.rLen {
		n += int(s.recs[(s.rHead+k)%unixMaxRecords].n)
	}
	return n
}
