package socket

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Socket data calls: read/write (kernel/fdcalls routes socket descriptors
// here), sendto/recvfrom, sendmsg/recvmsg, readv/writev. A call moves data
// between the program's memory and the socket's rings and, when the ring
// is empty (receive) or full (send), returns EAGAIN or blocks a blocking
// descriptor. Every function's context: trap, kernel and files locks held,
// or the files lock alone where it says so (the stream and datagram
// sockets' calls that never wait: SocketIO, sockCallNow).

const (
	MaxIovecs   = 1024 // UIO_MAXIOV
	maxDatagram = 65507
	msghdrSize  = 56
)

// SockIO is one call's direction, flags and iovec list (or single buffer).
type SockIO struct {
	T      sched.TID
	Nr     uint64  // the system call, to restart a blocking one
	Iov    uintptr // iovec array, or 0 for the single buffer
	Iovcnt int
	Buf, N uintptr // the single buffer
	Flags  int     // MSG_* flags
	Msg    bool    // sendmsg/recvmsg: too many iovecs is EMSGSIZE, not EINVAL
	Total  uintptr // bytes in all buffers
}

// Piece returns buffer k of io (base, length), false on a bad iovec.
// Context: trap, files lock held; does not allocate.
func (io *SockIO) Piece(k int) (uintptr, uintptr, bool) {
	if io.Iov == 0 {
		return io.Buf, io.N, true
	}
	base, ok1 := vm.UserRead64(io.Iov + uintptr(k)*16)
	n, ok2 := vm.UserRead64(io.Iov + uintptr(k)*16 + 8)
	return uintptr(base), uintptr(n), ok1 && ok2 && int64(n) >= 0
}

// Pieces returns the number of buffers.
func (io *SockIO) Pieces() int {
	if io.Iov == 0 {
		return 1
	}
	return io.Iovcnt
}

// Measure validates the iovecs and sums their lengths.
// Context: trap, files lock held; does not allocate.
func (io *SockIO) Measure() int64 {
	if io.Iov != 0 && (io.Iovcnt < 0 || io.Iovcnt > MaxIovecs) {
		if io.Msg {
			return -abi.EMSGSIZE
		}
		return -abi.EINVAL
	}
	io.Total = 0
	for k := range io.Pieces() {
		base, n, ok := io.Piece(k)
		if !ok || (n != 0 && vm.IsKernelState(base, n, false)) {
			return -abi.EFAULT // as Linux, a kernel-state buffer fails before a byte moves
		}
		io.Total += n
		if int64(io.Total) < 0 {
			return -abi.EINVAL
		}
	}
	return 0
}

// nonblocking reports whether the call must not block.
func (io *SockIO) nonblocking(i int) bool {
	return io.Flags&unix.MSG_DONTWAIT != 0 || fdtab.Files[Sockets[i].FD].Nonblock
}

// wait is the would-block outcome of io on socket i.
// Context: trap, kernel lock held; does not allocate.
func (io *SockIO) wait(i int) int64 {
	if io.nonblocking(i) {
		return -abi.EAGAIN
	}
	return SockWait(io.T, i, io.Nr)
}

// SockSend writes io's buffers to socket i (to dest for an unconnected
// datagram socket, nil otherwise).
// Context: trap, kernel and files locks held; does not allocate.
func SockSend(i int, io *SockIO, dest *SockAddr) int64 {
	if e := io.Measure(); e != 0 {
		return e
	}
	if Sockets[i].Typ != abi.SockStream {
		return dgramSend(i, io, dest)
	}
	if r := streamSend(i, io); r != vfs.WouldBlock {
		return r
	}
	return io.wait(i)
}

// IOSocket reports whether descriptor f is one SocketIO serves: a
// stream or datagram Internet socket opened O_NONBLOCK (as package net
// opens every socket). Context: trap, files lock held (or a first look
// without it, which the caller repeats under it); does not allocate.
func IOSocket(f *fdtab.File) bool {
	// The index is checked too: a first look may read a descriptor that
	// another CPU is rewriting, kind and socket from different versions.
	if f.Kind != fdtab.KindSocket || !f.Nonblock || uint(f.Socket) >= uint(len(Sockets)) {
		return false
	}
	typ := Sockets[f.Socket].Typ
	return typ == abi.SockStream || typ == abi.SockDgram
}

// SocketIO is read(2) (write false) or write(2) of n bytes at buf on
// socket i, whose descriptor IOSocket accepts, under the files lock
// alone (package kernel's fileTrap), as SockRecv and SockSend would on
// the kernel lock's path. It never waits (EAGAIN instead) and wakes no
// thread itself: what the stack must hear of is recorded (TellStack).
// A datagram write to a local address is put into its receiver's ring
// (dgramSendNow, udpDeliver).
// It holds the files lock shared, beside other calls (the reads and
// writes of other sockets, and of this one on another CPU, the file
// calls, the netpoller's epoll_wait that does not wait), and the
// socket's own lock (socket.held) while it changes the socket, as do
// setsockopt and getsockopt, which may run beside it (their options and
// the pending error), and the network stack's read of the socket's
// event and its moves of the socket's data (takeEvents,
// NetCtlSharedIoctl; its release frees only a closed socket, which no
// descriptor names), an accept that makes it a descriptor (AcceptNow,
// which sets its FD under its lock), and a close of its descriptor
// (CloseFD, under its lock: a read or write that found the socket
// before answers EBADF after, as does one that found, by a second look
// at a descriptor closed and made again beside, a raw socket: a
// socket(2) beside); so do the stack's new connections and
// its connect outcomes where no thread waits (netAccepted, netShared),
// socket(2), which makes a socket under its lock (NewSocket), a
// non-blocking connect (connectTo) and a datagram socket's connect
// (dgramConnect), each under the socket's lock, and a datagram socket's
// sendto, recvfrom, sendmsg and recvmsg (sockCallNow). The other
// socket calls and the stack's other state requests hold the files
// lock exclusively, so none of them runs beside it (getsockname and
// getpeername, beside it too, read only what those change, a connect's
// outcome, and a free after a close beside).
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func SocketIO(write bool, i int, buf, n uintptr) int64 {
	io := SockIO{T: noThread, Buf: buf, N: n}
	if e := io.Measure(); e != 0 {
		return e
	}
	s := &Sockets[i]
	spin.LockWord(&s.held)
	typ := s.Typ
	if s.closedBeside() {
		typ = 0 // its descriptor closed beside since the caller looked (CloseFD), perhaps made again as a raw socket (NewSocket): EBADF
	}
	if write && typ == abi.SockDgram {
		spin.UnlockWord(&s.held)
		return dgramSendNow(i, &io, nil) // its port is chosen with the socket's lock released (autobind)
	}
	var from SockAddr
	var trunc bool
	r := -abi.EBADF
	switch {
	case typ == abi.SockDgram:
		r = dgramRecv(i, &io, &from, &trunc)
	case typ == abi.SockStream && write:
		r = streamSend(i, &io)
	case typ == abi.SockStream:
		r = streamRecv(i, &io, &from)
	}
	spin.UnlockWord(&s.held)
	if r == vfs.WouldBlock {
		return -abi.EAGAIN
	}
	return r
}

// streamSend is SockSend on stream socket i after the buffers' check,
// with vfs.WouldBlock where the call must wait (io.wait: EAGAIN, or
// the wait, on the kernel lock's path; EAGAIN under the files lock
// alone, SocketIO, which serves only descriptors opened O_NONBLOCK).
// Context: trap, files lock held (held shared: with the socket's lock,
// SocketIO); does not allocate.
func streamSend(i int, io *SockIO) int64 {
	s := &Sockets[i]
	if s.SoError != 0 {
		err := int64(s.SoError)
		atomic.StoreInt32(&s.SoError, 0) // SockReadiness may load it beside this call
		return -err
	}
	switch {
	case s.State == abi.SockFailed || s.Flags&abi.EvShutWr != 0:
		return -abi.EPIPE
	case s.State == abi.SockConnecting:
		return vfs.WouldBlock // as Linux: wait for the connection
	case s.State != abi.SockConnected:
		return -abi.EPIPE // never connected (Linux says EPIPE too)
	}
	if io.Total == 0 {
		return 0
	}
	if s.Tx.Space() == 0 {
		return vfs.WouldBlock
	}
	var done uintptr
	for k := range io.Pieces() {
		base, n, _ := io.Piece(k)
		n = min(n, uintptr(s.Tx.Space()))
		if n == 0 {
			break
		}
		b, ok := vm.UserBytes(base, n, false)
		if !ok {
			if done > 0 {
				break
			}
			return -abi.EFAULT
		}
		put := s.Tx.Put(b, true)
		done += uintptr(put)
		if uintptr(put) < n {
			break
		}
	}
	if done == 0 {
		return -abi.ENOBUFS // kernel memory exhausted
	}
	TellStack(i)
	return int64(done)
}

// dgramSend queues one datagram of socket i (a datagram or raw
// socket), or delivers it to a local receiver (udpLocalSend), or waits
// for room (io.wait). Context: trap, kernel lock held; does not
// allocate.
func dgramSend(i int, io *SockIO, dest *SockAddr) int64 {
	var to SockAddr
	if _, e := dgramRoute(&Sockets[i], io, dest, &to); e != 0 {
		return e
	}
	if !autobind(i) {
		return -int64(unix.EADDRNOTAVAIL)
	}
	if r, done := udpLocalSend(i, io, to); done {
		return r
	}
	if r := dgramQueue(i, io, to); r != vfs.WouldBlock {
		return r
	}
	return io.wait(i)
}

// dgramSendNow is dgramSend of datagram socket i beside other calls
// (the files lock held shared: SocketIO, sockCallNow), which never waits
// (EAGAIN where the ring has no room; the caller serves only
// non-blocking descriptors). The checks are made under the socket's
// lock, the port chosen with it released (autobind takes portsHeld
// first), and the checks made again under it: then a datagram off the
// host is queued for the stack under it (dgramQueueNow), and one to a
// local address is delivered after it, into its receiver's ring under
// the receiver's lock (udpDeliver), or, with no receiver, queued for
// the stack as well. A socket closed beside since its descriptor was
// looked at answers EBADF.
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func dgramSendNow(i int, io *SockIO, dest *SockAddr) int64 {
	s := &Sockets[i]
	var to SockAddr
	spin.LockWord(&s.held)
	bound, e := dgramRoute(s, io, dest, &to)
	spin.UnlockWord(&s.held)
	switch {
	case e != 0:
		return e
	case !bound && !autobind(i):
		return -int64(unix.EADDRNOTAVAIL)
	}
	spin.LockWord(&s.held)
	_, e = dgramRoute(s, io, dest, &to) // a connect beside may have changed the peer
	src, local := udpSource(s, to)
	r := e
	if e == 0 && !local {
		r = dgramQueueNow(i, io, to)
	}
	spin.UnlockWord(&s.held)
	if e != 0 || !local {
		return r
	}
	if r, done := udpDeliver(io, src, to); done {
		return r
	}
	// No local receiver: the stack sends it (and answers the port's
	// ICMP). A connect beside may have changed the peer meanwhile, to
	// another local address too: the stack delivers that one.
	spin.LockWord(&s.held)
	if _, r = dgramRoute(s, io, dest, &to); r == 0 {
		r = dgramQueueNow(i, io, to)
	}
	spin.UnlockWord(&s.held)
	return r
}

// dgramQueueNow is dgramQueue beside other calls, which answers EAGAIN
// where the ring has no room.
// Context: trap, files lock held, the socket's lock held; does not
// allocate.
func dgramQueueNow(i int, io *SockIO, to SockAddr) int64 {
	r := dgramQueue(i, io, to)
	if r == vfs.WouldBlock {
		return -abi.EAGAIN
	}
	return r
}

// dgramRoute checks a datagram of io.Total bytes from socket s to dest
// (the peer if nil), sets *to to where it goes and reports whether s has
// its port (a raw socket needs none), or answers the errno: EBADF for a
// socket closed beside since its descriptor was looked at (closedBeside:
// dgramSendNow), EINVAL for a UDP datagram to port 0, EDESTADDRREQ for
// no peer, ENETUNREACH for IPv4 on an
// IPV6_V6ONLY socket, EMSGSIZE.
// Context: trap, files lock held (shared: s's lock held too); does not
// allocate.
func dgramRoute(s *socket, io *SockIO, dest, to *SockAddr) (bool, int64) {
	switch {
	case s.closedBeside():
		return false, -abi.EBADF
	case dest != nil && dest.Port == 0 && s.Typ == abi.SockDgram:
		return false, -abi.EINVAL // as Linux's udp_sendmsg: no port to send to
	case dest != nil:
		*to = connectTarget(s.Family, *dest)
	case s.State != abi.SockConnected:
		return false, -abi.EDESTADDRREQ
	default:
		*to = s.Remote
	}
	if s.Family == abi.Family6 && s.opts&abi.OptV6Only != 0 && to.Is4() {
		return false, -int64(unix.ENETUNREACH) // man 7 ipv6: no IPv4 on this socket
	}
	if io.Total > maxDatagram {
		return false, -abi.EMSGSIZE
	}
	return s.Local.Port != 0 || s.Typ == abi.SockRaw, 0
}

// dgramQueue queues io's datagram to to in socket i's transmit ring
// for the stack (TellStack), or answers vfs.WouldBlock when the ring
// has no room for it. Context: trap, files lock held (shared: the
// socket's lock held too); does not allocate.
func dgramQueue(i int, io *SockIO, to SockAddr) int64 {
	s := &Sockets[i]
	if dgramHeaderSize+uint32(io.Total) > s.Tx.Space() {
		return vfs.WouldBlock
	}
	if e := s.Tx.putDgram(to, io); e != 0 {
		return e // EFAULT, or ENOBUFS: the space was checked above, memory ran out
	}
	TellStack(i)
	return int64(io.Total)
}

// putDgram queues io's datagram (io.Total bytes, measured) in ring b
// with addr as its peer. It returns 0, or leaves the ring as it was and
// returns EFAULT for a buffer that is not readable or ENOBUFS when the
// datagram does not fit or memory runs out.
// Context: trap, files lock held; does not allocate.
func (b *sockBuf) putDgram(addr SockAddr, io *SockIO) int64 {
	mark, ok := b.startDgram(dgramHeader{len: uint32(io.Total), addr: addr})
	if !ok {
		return -abi.ENOBUFS
	}
	for k := range io.Pieces() {
		base, n, _ := io.Piece(k)
		p, good := vm.UserBytes(base, n, false)
		if !good || b.Put(p, false) != len(p) {
			b.truncate(mark)
			if !good {
				return -abi.EFAULT
			}
			return -abi.ENOBUFS
		}
	}
	return 0
}

// SockRecv reads into io's buffers from socket i; from receives the
// sender of a datagram. It returns the bytes read; *trunc is set when a
// datagram was longer than the buffers.
// Context: trap, kernel lock held; does not allocate.
func SockRecv(i int, io *SockIO, from *SockAddr, trunc *bool) int64 {
	if e := io.Measure(); e != 0 {
		return e
	}
	var r int64
	if Sockets[i].Typ != abi.SockStream {
		r = dgramRecv(i, io, from, trunc)
	} else {
		r = streamRecv(i, io, from)
	}
	if r != vfs.WouldBlock {
		return r
	}
	return io.wait(i)
}

// streamRecv is SockRecv on stream socket i after the buffers' check,
// with vfs.WouldBlock where the call must wait (io.wait: EAGAIN, or
// the wait, on the kernel lock's path; EAGAIN under the files lock
// alone, SocketIO, which serves only descriptors opened O_NONBLOCK).
// Context: trap, files lock held (held shared: with the socket's lock,
// SocketIO); does not allocate.
func streamRecv(i int, io *SockIO, from *SockAddr) int64 {
	s := &Sockets[i]
	if s.Rx.N == 0 {
		switch {
		case s.SoError != 0:
			err := int64(s.SoError)
			atomic.StoreInt32(&s.SoError, 0) // SockReadiness may load it beside this call
			return -err
		case s.peerEOF != 0 || s.Flags&abi.EvShutRd != 0 || s.State == abi.SockFailed:
			return 0
		case s.State != abi.SockConnected:
			return -abi.ENOTCONN
		case io.Total == 0:
			return 0
		}
		return vfs.WouldBlock
	}
	var done uint32
	for k := range io.Pieces() {
		base, n, _ := io.Piece(k)
		n = min(n, uintptr(s.Rx.N-done))
		if n == 0 {
			break
		}
		b, ok := vm.UserBytes(base, n, true)
		if !ok {
			if done > 0 {
				break
			}
			return -abi.EFAULT
		}
		done += uint32(s.Rx.peek(b, done))
	}
	if io.Flags&unix.MSG_PEEK == 0 {
		s.Rx.drop(done)
		if s.rxWanted {
			s.rxWanted = false
			TellStack(i)
		}
	}
	*from = s.Remote
	return int64(done)
}

// dgramRecv reads one datagram of socket i (a datagram or raw
// socket), or answers its pending error, or vfs.WouldBlock when none is
// queued (io.wait: EAGAIN, or the wait, on the kernel lock's path;
// EAGAIN under the files lock alone, SocketIO and sockCallNow, which
// serve only non-blocking calls).
// Context: trap, files lock held (held shared: with the socket's lock);
// does not allocate.
func dgramRecv(i int, io *SockIO, from *SockAddr, trunc *bool) int64 {
	s := &Sockets[i]
	h, ok := s.Rx.nextDgram()
	if !ok {
		if err := atomic.SwapInt32(&s.SoError, 0); err != 0 { // SockReadiness loads it beside
			return -int64(err)
		}
		return vfs.WouldBlock
	}
	var done uint32
	for k := range io.Pieces() {
		base, n, _ := io.Piece(k)
		n = min(n, uintptr(h.len-done))
		if n == 0 {
			break
		}
		b, ok := vm.UserBytes(base, n, true)
		if !ok {
			return -abi.EFAULT
		}
		done += uint32(s.Rx.peek(b, dgramHeaderSize+done))
	}
	*trunc = done < h.len
	if io.Flags&unix.MSG_PEEK == 0 {
		s.Rx.drop(dgramHeaderSize + h.len)
	}
	*from = h.addr
	if io.Flags&unix.MSG_TRUNC != 0 {
		return int64(h.len)
	}
	return int64(done)
}

// SysSendto, SysRecvfrom, SysSendmsg and SysRecvmsg are sendto(2),
// recvfrom(2), sendmsg(2) and recvmsg(2) on the kernel lock's path
// (sockCall). Context: trap, kernel and files locks held; does not
// allocate.
func SysSendto(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	return sockCall(true, false, t, a)
}

// SysRecvfrom is recvfrom(2): see SysSendto. Context: trap, kernel and
// files locks held; does not allocate.
func SysRecvfrom(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	return sockCall(false, false, t, a)
}

// SysSendmsg is sendmsg(2): see SysSendto. Context: trap, kernel and
// files locks held; does not allocate.
func SysSendmsg(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	return sockCall(true, true, t, a)
}

// SysRecvmsg is recvmsg(2): see SysSendto. Context: trap, kernel and
// files locks held; does not allocate.
func SysRecvmsg(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	return sockCall(false, true, t, a)
}

// SendtoNow, RecvfromNow, SendmsgNow and RecvmsgNow are the same calls
// beside other calls (the files lock held shared: package kernel's
// fileCalls), for a datagram Internet socket's call that never waits
// (sockCallNow). Context: trap, files lock held, kernel lock not held;
// does not allocate.
func SendtoNow(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	return sockCallNow(true, false, a)
}

// RecvfromNow is recvfrom(2) beside other calls: see SendtoNow.
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func RecvfromNow(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	return sockCallNow(false, false, a)
}

// SendmsgNow is sendmsg(2) beside other calls: see SendtoNow.
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func SendmsgNow(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	return sockCallNow(true, true, a)
}

// RecvmsgNow is recvmsg(2) beside other calls: see SendtoNow.
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func RecvmsgNow(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	return sockCallNow(false, true, a)
}

// sockCall serves SysSendto and the others on the kernel lock's path
// (send, and isMsg for sendmsg and recvmsg, whose struct msghdr is at
// a[1]): the socket found (EBADF, ENOTSOCK), the call's buffers and
// address read ((*sockCallState).args: a stream socket's address is
// ignored), the data moved by SockSend or SockRecv, which may wait, and
// a receive's sender and a recvmsg's result written
// ((*sockCallState).result).
// Context: trap, kernel and files locks held; does not allocate.
func sockCall(send, isMsg bool, t sched.TID, a abi.SysArgs) int64 {
	i, e := sockOfFD(int(int32(a[0]))) // an int, as Linux reads it
	if e != 0 {
		return e
	}
	var c sockCallState
	if e := c.args(send, isMsg, t, a, Sockets[i].Family, Sockets[i].Typ); e != 0 {
		return e
	}
	if send {
		return SockSend(i, &c.io, c.dest())
	}
	return c.result(isMsg, a[1], SockRecv(i, &c.io, &c.peer, &c.trunc))
}

// sockCallNow is sockCall beside other calls, for a datagram Internet
// socket's call that never waits (dgramNow) in the same order: the
// datagram queued by dgramSendNow, or taken under the socket's lock
// (dgramRecv; EAGAIN when none is queued). A call that may wait,
// and another socket's answer vfs.WouldBlock, for the kernel lock's
// path.
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func sockCallNow(send, isMsg bool, a abi.SysArgs) int64 {
	flags := a[3]
	if isMsg {
		flags = a[2]
	}
	i, family, e := dgramNow(int(int32(a[0])), int(flags))
	if e != 0 {
		return e
	}
	var c sockCallState
	if e := c.args(send, isMsg, noThread, a, family, abi.SockDgram); e != 0 {
		return e
	}
	if e := c.io.Measure(); e != 0 {
		return e
	}
	if send {
		return dgramSendNow(i, &c.io, c.dest())
	}
	r := -abi.EBADF // closed beside since its descriptor was looked at
	s := &Sockets[i]
	spin.LockWord(&s.held)
	if !s.closedBeside() {
		r = dgramRecv(i, &c.io, &c.peer, &c.trunc)
	}
	spin.UnlockWord(&s.held)
	if r == vfs.WouldBlock {
		r = -abi.EAGAIN
	}
	return c.result(isMsg, a[1], r)
}

// sockCallState is one sendto, recvfrom, sendmsg or recvmsg: its
// buffers, its address (where to send, or where the sender's goes) and
// what the receive found.
type sockCallState struct {
	io            SockIO
	name, nameLen uintptr // a send's address and its length; a receive's buffer for the sender and its length's address
	family        uint8
	peer          SockAddr // the address a send read, or the sender a receive found
	sendTo        bool     // a send to peer (else to the socket's own peer)
	trunc         bool     // a datagram longer than the buffers
}

// args reads call's buffers (a recvmsg's or sendmsg's struct msghdr:
// EFAULT) and a send's address, for a socket of family and typ (a
// stream socket's address is ignored), for thread t.
// Context: trap, files lock held; does not allocate.
func (c *sockCallState) args(send, isMsg bool, t sched.TID, a abi.SysArgs, family, typ uint8) int64 {
	nr := uint64(unix.SYS_SENDTO) // the call a wait runs again: sendto, recvfrom, sendmsg and recvmsg are 44 to 47
	if isMsg {
		nr += 2
	}
	if !send {
		nr++
	}
	c.io = SockIO{T: t, Nr: nr, Buf: a[1], N: a[2], Flags: int(a[3])}
	c.name, c.nameLen, c.family = a[4], a[5], family
	if isMsg {
		c.io = SockIO{T: t, Nr: nr, Flags: int(a[2])}
		m, ok := ReadMsghdr(a[1], &c.io)
		if !ok {
			return -abi.EFAULT
		}
		c.name, c.nameLen = m.Name, m.Namelen
		if !send {
			c.nameLen = a[1] + 8 // where the sender's length goes
		}
	}
	if send && c.name != 0 && typ != abi.SockStream {
		var e int64
		if c.peer, e = readSockaddr(family, c.name, c.nameLen); e != 0 {
			return e
		}
		c.sendTo = true
	}
	return 0
}

// dest is where a send goes: &c.peer, or nil for the socket's peer.
// Context: trap, files lock held; does not allocate.
func (c *sockCallState) dest() *SockAddr {
	if c.sendTo {
		return &c.peer
	}
	return nil
}

// result is a receive's answer r, once it took the data: an errno or a
// wait as it is, else the sender's address written (writeSockaddr) and, for a
// recvmsg, its struct msghdr's msg_controllen (0: no control data)
// and msg_flags at msg. Context: trap, files lock held; does not
// allocate.
func (c *sockCallState) result(isMsg bool, msg uintptr, r int64) int64 {
	if r < 0 || r == blocked {
		return r // a wait (SockWait) writes nothing: the call runs again after it
	}
	if e := writeSockaddr(c.family, c.peer, c.name, c.nameLen); e != 0 {
		return e
	}
	if !isMsg {
		return r
	}
	var mflags uint32 // no control data; MSG_TRUNC for a datagram longer than the buffers
	if c.trunc {
		mflags = unix.MSG_TRUNC
	}
	if !vm.UserWrite64(msg+40, 0) || !vm.UserWrite32(msg+48, mflags) { // msg_controllen, msg_flags
		return -abi.EFAULT
	}
	return r
}

// dgramNow is the socket and family of descriptor fd for sockCallNow: EBADF or ENOTSOCK as sockOfFD, or vfs.WouldBlock
// for a socket that is not a datagram one or a call that may wait (a
// blocking descriptor without MSG_DONTWAIT): the kernel lock's path
// serves those.
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func dgramNow(fd, flags int) (int, uint8, int64) {
	i, e := sockOfFD(fd)
	if e != 0 {
		return 0, 0, e
	}
	w, _ := fdtab.LoadFlags(fd)
	s := &Sockets[i]
	spin.LockWord(&s.held)
	dgram, family := s.Typ == abi.SockDgram, s.Family
	spin.UnlockWord(&s.held)
	if !dgram || w&fdtab.FlagNonblock == 0 && flags&unix.MSG_DONTWAIT == 0 {
		return 0, 0, vfs.WouldBlock
	}
	return i, family, 0
}

// Msghdr is the part of struct msghdr the calls use.
type Msghdr struct {
	Name, Namelen, Iov, Iovlen, Control, Controllen uintptr
}

// ReadMsghdr reads the struct msghdr at addr and points io at its
// iovecs (a sendmsg or recvmsg); false if it is not readable.
// Context: trap, files lock held; does not allocate.
func ReadMsghdr(addr uintptr, io *SockIO) (Msghdr, bool) {
	b, ok := vm.UserBytes(addr, msghdrSize, false)
	if !ok {
		return Msghdr{}, false
	}
	le := binary.LittleEndian
	m := Msghdr{Name: uintptr(le.Uint64(b)), Namelen: uintptr(le.Uint32(b[8:])), Iov: uintptr(le.Uint64(b[16:])),
		Iovlen: uintptr(le.Uint64(b[24:])), Control: uintptr(le.Uint64(b[32:])), Controllen: uintptr(le.Uint64(b[40:]))}
	io.Iov, io.Iovcnt, io.Msg = m.Iov, int(m.Iovlen), true
	return m, true
}

// SockReadv serves readv on a socket.
// Context: trap, kernel lock held; does not allocate.
func SockReadv(t sched.TID, i int, iov uintptr, cnt int) int64 {
	io := SockIO{T: t, Nr: unix.SYS_READV, Iov: iov, Iovcnt: cnt}
	var from SockAddr
	var trunc bool
	return SockRecv(i, &io, &from, &trunc)
}

// SockWritev serves writev on a socket.
// Context: trap, kernel lock held; does not allocate.
func SockWritev(t sched.TID, i int, iov uintptr, cnt int) int64 {
	io := SockIO{T: t, Nr: unix.SYS_WRITEV, Iov: iov, Iovcnt: cnt}
	return SockSend(i, &io, nil)
}

// Gather copies io's bytes from offset off into dst and returns how
// many; false when a buffer is not readable.
// Context: trap, kernel lock held; does not allocate.
func (io *SockIO) Gather(off uintptr, dst []byte) (int, bool) {
	n := 0
	for k := 0; k < io.Pieces() && n < len(dst); k++ {
		base, l, _ := io.Piece(k)
		if off >= l {
			off -= l
			continue
		}
		c := min(l-off, uintptr(len(dst)-n))
		b, ok := vm.UserBytes(base+off, c, false)
		if !ok {
			return n, false
		}
		n += copy(dst[n:], b)
		off = 0
	}
	return n, true
}

// Scatter copies src into io's buffers; false when one is not writable.
// Context: trap, kernel lock held; does not allocate.
func (io *SockIO) Scatter(src []byte) bool {
	for k := 0; k < io.Pieces() && len(src) > 0; k++ {
		base, l, _ := io.Piece(k)
		c := min(l, uintptr(len(src)))
		if c == 0 {
			continue
		}
		b, ok := vm.UserBytes(base, c, true)
		if !ok {
			return false
		}
		copy(b, src[:c])
		src = src[c:]
	}
	return true
}
