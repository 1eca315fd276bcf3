package fs

import "golang.org/x/sys/unix"

// Unix-domain sockets: sending, receiving, passed descriptors, readiness
// and closing. Context (every method): trap, kernel lock held; none
// allocates.

// UnixMsg is what one receive got.
type UnixMsg struct {
	N      int      // bytes copied
	Full   int      // the message's length (datagrams and messages)
	From   UnixAddr // the sender's name
	Rights int      // the rights set taken with the data (1-based), 0 if none
}

// Send moves data from i to its peer or, for an unconnected datagram
// socket, to the socket to (from Lookup; -1 for the peer), with the
// rights set rights (1-based, 0 for none) attached. It returns the bytes
// queued: all or nothing for datagrams and messages, as many as fit for a
// stream. Errors as Linux's: ENOTCONN, EPIPE (the caller raises SIGPIPE
// where Linux would), ECONNREFUSED (a datagram peer that went away), EPERM
// (a receiver connected to another socket), EMSGSIZE, EAGAIN (no room),
// ENOBUFS (no pages).
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Send(m *Mem, i, to int, data []byte, rights int) (int, Errno) {
	if us.s[i].typ == unix.SOCK_STREAM {
		return us.sendStream(m, i, data, rights)
	}
	return us.sendMsg(m, i, to, data, rights)
}

// sendStream appends to a stream peer's queue.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) sendStream(m *Mem, i int, data []byte, rights int) (int, Errno) {
	s := &us.s[i]
	switch {
	case s.state != usConnected:
		return 0, unix.ENOTCONN
	case s.shut&ShutWr != 0:
		return 0, EPIPE
	case len(data) == 0:
		return 0, ok
	case !s.peerLive || us.s[s.peer].shut&ShutRd != 0:
		return 0, EPIPE
	}
	p := &us.s[s.peer]
	n := min(len(data), p.ring.free())
	if n == 0 {
		return 0, EAGAIN
	}
	last := &p.recs[(p.rHead+p.rLen-1+unixMaxRecords)%unixMaxRecords]
	extend := rights == 0 && p.rLen > 0 && last.rights == 0
	if !extend && p.rLen == unixMaxRecords {
		return 0, EAGAIN
	}
	if !p.ring.put(m, data[:n]) {
		return 0, unix.ENOBUFS
	}
	if extend {
		last.n += int32(n)
		return n, ok
	}
	p.recs[(p.rHead+p.rLen)%unixMaxRecords] = unixRecord{n: int32(n), rights: int16(rights)}
	p.rLen++
	return n, ok
}

// sendMsg queues one datagram or seqpacket message.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) sendMsg(m *Mem, i, to int, data []byte, rights int) (int, Errno) {
	s := &us.s[i]
	if s.typ == unix.SOCK_SEQPACKET {
		if s.state != usConnected {
			return 0, unix.ENOTCONN
		}
		to = -1
	}
	if len(data) > UnixMaxDgram {
		return 0, unix.EMSGSIZE
	}
	if to < 0 {
		if e := us.peerTarget(i); e != ok {
			return 0, e
		}
		to = int(s.peer)
	}
	t := &us.s[to]
	switch {
	case s.shut&ShutWr != 0 || t.shut&ShutRd != 0:
		return 0, EPIPE
	case s.typ == unix.SOCK_DGRAM && t.state == usConnected && int(t.peer) != i:
		return 0, EPERM
	case int(s.name.N)+len(data) > t.ring.free() || t.rLen == unixMaxRecords:
		return 0, EAGAIN
	}
	used := t.ring.n
	if !t.ring.put(m, s.name.Bytes()) || !t.ring.put(m, data) {
		t.ring.n = used
		return 0, unix.ENOBUFS
	}
	t.recs[(t.rHead+t.rLen)%unixMaxRecords] = unixRecord{n: int32(len(data)), addrN: s.name.N, rights: int16(rights)}
	t.rLen++
	return len(data), ok
}

// peerTarget checks that message socket i may send to its peer:
// ENOTCONN without one; ECONNREFUSED, once, for a datagram peer that went
// away (the socket is then unconnected, as on Linux); EPIPE for a
// seqpacket peer that went away.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) peerTarget(i int) Errno {
	s := &us.s[i]
	switch {
	case s.state != usConnected:
		return unix.ENOTCONN
	case s.peerLive:
		return ok
	case s.typ == unix.SOCK_DGRAM:
		s.state, s.peer = usOpen, -1
		s.peerName = UnixAddr{}
		return unix.ECONNREFUSED
	}
	return EPIPE
}

// Recv moves queued data of i into dst (leaving it queued when peek): a
// stream read takes what is there up to len(dst), stopping after a
// message that carries descriptors; a datagram or message read takes one
// message, whose rest is lost if dst is short. An empty queue gives the
// pending error, end of file (N 0) when reading is shut down, or EAGAIN.
// EINVAL for a stream socket that is not connected, ENOTCONN for a
// seqpacket one.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Recv(m *Mem, i int, dst []byte, peek bool, msg *UnixMsg) Errno {
	s := &us.s[i]
	*msg = UnixMsg{}
	switch {
	case s.typ == unix.SOCK_STREAM && s.state != usConnected:
		return EINVAL
	case s.typ == unix.SOCK_SEQPACKET && s.state != usConnected:
		return unix.ENOTCONN
	case s.rLen == 0 && s.err != ok:
		return us.TakeError(i)
	case s.rLen == 0 && s.shut&ShutRd != 0:
		return ok
	case s.rLen == 0:
		return EAGAIN
	}
	if s.typ == unix.SOCK_STREAM {
		us.recvStream(m, i, dst, peek, msg)
		return ok
	}
	r := &s.recs[s.rHead]
	msg.From.N = uint8(s.ring.peek(m, 0, msg.From.Buf[:r.addrN]))
	msg.N = s.ring.peek(m, int(r.addrN), dst[:min(len(dst), int(r.n))])
	msg.Full = int(r.n)
	if !peek {
		msg.Rights = int(r.rights)
		s.ring.drop(int(r.addrN) + int(r.n))
		s.popRecord()
	}
	return ok
}

// recvStream reads a stream socket's queue.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) recvStream(m *Mem, i int, dst []byte, peek bool, msg *UnixMsg) {
	s := &us.s[i]
	msg.From = s.peerName
	off := 0
	for k := int16(0); k < s.rLen && msg.N < len(dst); k++ {
		r := &s.recs[(s.rHead+k)%unixMaxRecords]
		if r.rights != 0 && msg.Rights != 0 {
			break
		}
		c := s.ring.peek(m, off, dst[msg.N:msg.N+min(len(dst)-msg.N, int(r.n))])
		msg.N += c
		off += c
		if !peek && r.rights != 0 {
			msg.Rights, r.rights = int(r.rights), 0
		}
		if msg.Rights != 0 {
			break
		}
	}
	msg.Full = msg.N
	if peek {
		return
	}
	s.ring.drop(msg.N)
	for left := msg.N; left > 0 && s.rLen > 0; {
		r := &s.recs[s.rHead]
		c := min(left, int(r.n))
		r.n -= int32(c)
		left -= c
		if r.n == 0 {
			s.popRecord()
		}
	}
}

// popRecord drops the first record.
// Context: trap, kernel lock held; does not allocate.
func (s *unixSock) popRecord() {
	s.rHead = (s.rHead + 1) % unixMaxRecords
	s.rLen--
	if s.rLen == 0 {
		s.rHead = 0
	}
}

// NewRights takes a free rights set (1-based), 0 when too many are in
// flight (the caller answers ETOOMANYREFS, as Linux).
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) NewRights() int {
	for k := range us.rights {
		if !us.rights[k].used {
			us.rights[k] = RightsSet{used: true}
			return k + 1
		}
	}
	return 0
}

// Rights returns rights set k (1-based).
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Rights(k int) *RightsSet { return &us.rights[k-1] }

// FreeRights gives rights set k back.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) FreeRights(k int) { us.rights[k-1] = RightsSet{} }

// QueuedRights takes a rights set still queued on i (to be released by
// the caller before Close), 0 when none is left.
// Context: trap, kernel lock held; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (us *UnixSockets) QueuedRights(i int) int {
	s := &us.s[i]
	for k := range s.rLen {
		r := &s.recs[(s.rHead+k)%unixMaxRecords]
		if r.rights != 0 {
			set := int(r.rights)
			r.rights = 0
			return set
		}
	}
	return 0
}

// Ref counts another reference to i: a descriptor, or a message carrying
// it.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Ref(i int) { us.s[i].refs++ }

// Unref drops a reference to i; with the last, i is dying: the caller
// releases what its queue holds (QueuedRights, PopEmbryo) and Closes it.
// Context: trap, kernel lock held; does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (us *UnixSockets) Unref(i int) {
	s := &us.s[i]
	s.refs--
	if s.refs <= 0 {
		s.dying = true
	}
}

// Dying returns a socket with no reference left, -1 if none.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Dying() int {
	for i := range us.s {
		if us.s[i].dying {
			return i
		}
	}
	return -1
}

// PopEmbryo takes a connection still waiting on listener i, -1 if none.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) PopEmbryo(i int) int {
	c, e := us.Accept(i)
	if e != ok {
		return -1
	}
	us.s[c].err = unix.ECONNRESET // its peer learns it through Close
	return c
}

// Close frees dying socket i: a stream or seqpacket peer sees both
// directions shut (and ECONNRESET when i had unread data or was never
// accepted); a datagram socket connected to i gets ECONNREFUSED at its
// next send. It returns the peer to notify (-1 if none) and the socket
// inode i was bound to (0 if none), for the caller to release.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Close(m *Mem, i int) (int, Ino) {
	s := &us.s[i]
	peer := -1
	if s.peerLive {
		peer = int(s.peer)
	}
	if peer >= 0 && s.typ != unix.SOCK_DGRAM {
		p := &us.s[peer]
		p.shut = ShutRd | ShutWr
		p.peerLive = false
		if s.rLen > 0 || s.err == unix.ECONNRESET {
			p.err = unix.ECONNRESET
		}
	}
	for j := range us.s {
		if o := &us.s[j]; o.state != usFree && o.peerLive && int(o.peer) == i {
			o.peerLive = false
		}
	}
	ino := s.ino
	s.ring.release(m)
	*s = unixSock{}
	us.Live--
	return peer, ino
}

// Poll returns i's epoll events as Linux's unix_poll and unix_dgram_poll
// report them.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Poll(i int) uint32 {
	s := &us.s[i]
	var r uint32
	if s.err != ok {
		r |= unix.EPOLLERR
	}
	if s.shut == ShutRd|ShutWr {
		r |= unix.EPOLLHUP
	}
	if s.shut&ShutRd != 0 {
		r |= unix.EPOLLRDHUP | unix.EPOLLIN | unix.EPOLLRDNORM
	}
	if s.rLen > 0 || s.state == usListening && s.aLen > 0 {
		r |= unix.EPOLLIN | unix.EPOLLRDNORM
	}
	if s.typ != unix.SOCK_DGRAM && s.state == usOpen {
		r |= unix.EPOLLHUP
	}
	if s.state != usListening && us.writable(i) {
		r |= unix.EPOLLOUT | unix.EPOLLWRNORM | unix.EPOLLWRBAND
	}
	return r
}

// writable reports whether a send from i would find room: its peer's
// queue is at most three quarters full (a stand-in for Linux's count of
// the bytes i has in flight).
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) writable(i int) bool {
	s := &us.s[i]
	if !s.peerLive {
		return true
	}
	p := &us.s[s.peer]
	if s.typ == unix.SOCK_DGRAM && p.state == usConnected && int(p.peer) != i {
		return true // sends fail with EPERM at once
	}
	return p.ring.free() >= UnixRingSize/4 && p.rLen < unixMaxRecords
}

// Room returns how many bytes a stream send from i could queue now (at
// least 1, so that a send with no room finds out why), for the caller to
// copy no more than that. Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) Room(i int) int {
	s := &us.s[i]
	if s.typ != unix.SOCK_STREAM || !s.peerLive {
		return UnixMaxDgram
	}
	return max(us.s[s.peer].ring.free(), 1)
}

// ConnectedTo reports whether socket j sends to i (its live peer): the
// sockets to tell when i's queue drains or i closes.
// Context: trap, kernel lock held; does not allocate.
func (us *UnixSockets) ConnectedTo(i, j int) bool {
	s := &us.s[j]
	return s.state != usFree && s.peerLive && int(s.peer) == i
}
