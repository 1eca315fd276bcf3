package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Socket data calls: read/write (sys_file.go routes socket descriptors
// here), sendto/recvfrom, sendmsg/recvmsg, readv/writev. A call moves data
// between the program's memory and the socket's rings and, when the ring
// is empty (receive) or full (send), returns EAGAIN or blocks a blocking
// descriptor. Every function's context: trap, kernel lock held.

const (
	maxIovecs   = 1024 // UIO_MAXIOV
	maxDatagram = 65507
	msghdrSize  = 56
)

// sockIO is one call's direction, flags and iovec list (or single buffer).
type sockIO struct {
	t      sched.TID
	nr     uint64  // the system call, to restart a blocking one
	iov    uintptr // iovec array, or 0 for the single buffer
	iovcnt int
	buf, n uintptr // the single buffer
	flags  int     // MSG_* flags
	msg    bool    // sendmsg/recvmsg: too many iovecs is EMSGSIZE, not EINVAL
	total  uintptr // bytes in all buffers
}

// piece returns buffer k of io (base, length), false on a bad iovec.
// Context: trap, kernel lock held; does not allocate.
func (io *sockIO) piece(k int) (uintptr, uintptr, bool) {
	if io.iov == 0 {
		return io.buf, io.n, true
	}
	base, ok1 := vm.UserRead64(io.iov + uintptr(k)*16)
	n, ok2 := vm.UserRead64(io.iov + uintptr(k)*16 + 8)
	return uintptr(base), uintptr(n), ok1 && ok2 && int64(n) >= 0
}

// pieces returns the number of buffers.
func (io *sockIO) pieces() int {
	if io.iov == 0 {
		return 1
	}
	return io.iovcnt
}

// measure validates the iovecs and sums their lengths.
// Context: trap, kernel lock held; does not allocate.
func (io *sockIO) measure() int64 {
	if io.iov != 0 && (io.iovcnt < 0 || io.iovcnt > maxIovecs) {
		if io.msg {
			return -abi.EMSGSIZE
		}
		return -abi.EINVAL
	}
	io.total = 0
	for k := range io.pieces() {
		base, n, ok := io.piece(k)
		if !ok || (n != 0 && vm.IsKernelState(base, n, false)) {
			return -abi.EFAULT // as Linux, a kernel-state buffer fails before a byte moves
		}
		io.total += n
		if int64(io.total) < 0 {
			return -abi.EINVAL
		}
	}
	return 0
}

// nonblocking reports whether the call must not block.
func (io *sockIO) nonblocking(i int) bool {
	return io.flags&unix.MSG_DONTWAIT != 0 || fdtab.Files[sockets[i].fd].Nonblock
}

// wait is the would-block outcome of io on socket i.
// Context: trap, kernel lock held; does not allocate.
func (io *sockIO) wait(i int) int64 {
	if io.nonblocking(i) {
		return -abi.EAGAIN
	}
	return sockWait(io.t, i, io.nr)
}

// sockSend writes io's buffers to socket i (to dest for an unconnected
// datagram socket, nil otherwise).
// Context: trap, kernel lock held; does not allocate.
func sockSend(i int, io *sockIO, dest *sockAddr) int64 {
	if e := io.measure(); e != 0 {
		return e
	}
	s := &sockets[i]
	if s.typ != abi.SockStream {
		return dgramSend(i, io, dest)
	}
	if s.soError != 0 {
		err := int64(s.soError)
		s.soError = 0
		return -err
	}
	switch {
	case s.state == abi.SockFailed || s.flags&abi.EvShutWr != 0:
		return -abi.EPIPE
	case s.state == abi.SockConnecting:
		return io.wait(i) // as Linux: wait for the connection
	case s.state != abi.SockConnected:
		return -abi.EPIPE // never connected (Linux says EPIPE too)
	}
	if io.total == 0 {
		return 0
	}
	if s.tx.space() == 0 {
		return io.wait(i)
	}
	var done uintptr
	for k := range io.pieces() {
		base, n, _ := io.piece(k)
		n = min(n, uintptr(s.tx.space()))
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
		put := s.tx.put(b, true)
		done += uintptr(put)
		if uintptr(put) < n {
			break
		}
	}
	if done == 0 {
		return -abi.ENOBUFS // kernel memory exhausted
	}
	tellStack(i)
	return int64(done)
}

// dgramSend queues one datagram.
// Context: trap, kernel lock held; does not allocate.
func dgramSend(i int, io *sockIO, dest *sockAddr) int64 {
	s := &sockets[i]
	to := s.remote
	if dest != nil {
		to = connectTarget(s.family, *dest)
	} else if s.state != abi.SockConnected {
		return -abi.EDESTADDRREQ
	}
	if s.family == abi.Family6 && s.opts&abi.OptV6Only != 0 && to.is4() {
		return -int64(unix.ENETUNREACH) // man 7 ipv6: no IPv4 on this socket
	}
	if io.total > maxDatagram {
		return -abi.EMSGSIZE
	}
	if !autobind(i) {
		return -int64(unix.EADDRNOTAVAIL)
	}
	if r, done := udpLocalSend(i, io, to); done {
		return r
	}
	if dgramHeaderSize+uint32(io.total) > s.tx.space() {
		return io.wait(i)
	}
	mark, ok := s.tx.startDgram(dgramHeader{len: uint32(io.total), addr: to})
	if !ok {
		return -abi.ENOBUFS // the space was checked above: memory ran out
	}
	fault := false
	for k := 0; ok && k < io.pieces(); k++ {
		base, n, _ := io.piece(k)
		b, good := vm.UserBytes(base, n, false)
		fault = !good
		ok = good && s.tx.put(b, false) == len(b)
	}
	if !ok {
		s.tx.truncate(mark)
		if fault {
			return -abi.EFAULT
		}
		return -abi.ENOBUFS
	}
	tellStack(i)
	return int64(io.total)
}

// sockRecv reads into io's buffers from socket i; from receives the
// sender of a datagram. It returns the bytes read; *trunc is set when a
// datagram was longer than the buffers.
// Context: trap, kernel lock held; does not allocate.
func sockRecv(i int, io *sockIO, from *sockAddr, trunc *bool) int64 {
	if e := io.measure(); e != 0 {
		return e
	}
	s := &sockets[i]
	if s.typ != abi.SockStream {
		return dgramRecv(i, io, from, trunc)
	}
	if s.rx.n == 0 {
		switch {
		case s.soError != 0:
			err := int64(s.soError)
			s.soError = 0
			return -err
		case s.peerEOF || s.flags&abi.EvShutRd != 0 || s.state == abi.SockFailed:
			return 0
		case s.state != abi.SockConnected:
			return -abi.ENOTCONN
		case io.total == 0:
			return 0
		}
		return io.wait(i)
	}
	var done uint32
	for k := range io.pieces() {
		base, n, _ := io.piece(k)
		n = min(n, uintptr(s.rx.n-done))
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
		done += uint32(s.rx.peek(b, done))
	}
	if io.flags&unix.MSG_PEEK == 0 {
		s.rx.drop(done)
		if s.rxWanted {
			s.rxWanted = false
			tellStack(i)
		}
	}
	*from = s.remote
	return int64(done)
}

// dgramRecv reads one datagram.
// Context: trap, kernel lock held; does not allocate.
func dgramRecv(i int, io *sockIO, from *sockAddr, trunc *bool) int64 {
	s := &sockets[i]
	h, ok := s.rx.nextDgram()
	if !ok {
		if s.soError != 0 {
			err := int64(s.soError)
			s.soError = 0
			return -err
		}
		return io.wait(i)
	}
	var done uint32
	for k := range io.pieces() {
		base, n, _ := io.piece(k)
		n = min(n, uintptr(h.len-done))
		if n == 0 {
			break
		}
		b, ok := vm.UserBytes(base, n, true)
		if !ok {
			return -abi.EFAULT
		}
		done += uint32(s.rx.peek(b, dgramHeaderSize+done))
	}
	*trunc = done < h.len
	if io.flags&unix.MSG_PEEK == 0 {
		s.rx.drop(dgramHeaderSize + h.len)
	}
	*from = h.addr
	if io.flags&unix.MSG_TRUNC != 0 {
		return int64(h.len)
	}
	return int64(done)
}

// sysSendto sends buf on a socket, to addr when it is an unconnected
// datagram socket. Context: trap, kernel lock held; does not allocate.
func sysSendto(t sched.TID, fd int, buf, n uintptr, flags int, addr, alen uintptr) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	io := sockIO{t: t, nr: unix.SYS_SENDTO, buf: buf, n: n, flags: flags}
	if addr == 0 || sockets[i].typ == abi.SockStream {
		return sockSend(i, &io, nil)
	}
	to, e := readSockaddr(sockets[i].family, addr, alen)
	if e != 0 {
		return e
	}
	return sockSend(i, &io, &to)
}

// sysRecvfrom receives into buf and writes the sender's address.
// Context: trap, kernel lock held; does not allocate.
func sysRecvfrom(t sched.TID, fd int, buf, n uintptr, flags int, addr, alen uintptr) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	io := sockIO{t: t, nr: unix.SYS_RECVFROM, buf: buf, n: n, flags: flags}
	var from sockAddr
	var trunc bool
	r := sockRecv(i, &io, &from, &trunc)
	if r >= 0 {
		if e := writeSockaddr(sockets[i].family, from, addr, alen); e != 0 {
			return e
		}
	}
	return r
}

// msghdr is the part of struct msghdr the calls use.
type msghdr struct {
	name, namelen, iov, iovlen uintptr
}

// readMsghdr reads the struct msghdr at addr; false if it is not readable.
// Context: trap, kernel lock held; does not allocate.
func readMsghdr(addr uintptr) (msghdr, bool) {
	var m msghdr
	b, ok := vm.UserBytes(addr, msghdrSize, false)
	if !ok {
		return m, false
	}
	m.name, m.namelen, m.iov, m.iovlen = msgWord(b, 0), msgWord(b, 8)&0xffffffff, msgWord(b, 16), msgWord(b, 24)
	return m, true
}

// msgWord reads a little-endian word at b[o:].
func msgWord(b []byte, o int) uintptr {
	var v uint64
	for k := 7; k >= 0; k-- {
		v = v<<8 | uint64(b[o+k])
	}
	return uintptr(v)
}

// msgCall starts sendmsg or recvmsg (nr): the socket, the header and the
// call's buffers.
// Context: trap, kernel lock held; does not allocate.
func msgCall(t sched.TID, nr uint64, fd int, msg uintptr, flags int) (int, msghdr, sockIO, int64) {
	i, e := sockOfFD(fd)
	if e != 0 {
		return 0, msghdr{}, sockIO{}, e
	}
	m, ok := readMsghdr(msg)
	if !ok {
		return 0, msghdr{}, sockIO{}, -abi.EFAULT
	}
	return i, m, sockIO{t: t, nr: nr, iov: m.iov, iovcnt: int(m.iovlen), flags: flags, msg: true}, 0
}

// sysSendmsg sends the iovecs of the msghdr at msg (to its name, for an
// unconnected datagram socket); control data is ignored. Context: trap, kernel lock held; does not allocate.
func sysSendmsg(t sched.TID, fd int, msg uintptr, flags int) int64 {
	i, m, io, e := msgCall(t, unix.SYS_SENDMSG, fd, msg, flags)
	if e != 0 {
		return e
	}
	if m.name == 0 || sockets[i].typ == abi.SockStream {
		return sockSend(i, &io, nil)
	}
	to, e := readSockaddr(sockets[i].family, m.name, m.namelen)
	if e != 0 {
		return e
	}
	return sockSend(i, &io, &to)
}

// sysRecvmsg receives into the iovecs of the msghdr at msg and fills in
// its name, flags (MSG_TRUNC) and an empty control part. Context: trap, kernel lock held; does not allocate.
func sysRecvmsg(t sched.TID, fd int, msg uintptr, flags int) int64 {
	i, m, io, e := msgCall(t, unix.SYS_RECVMSG, fd, msg, flags)
	if e != 0 {
		return e
	}
	var from sockAddr
	var trunc bool
	r := sockRecv(i, &io, &from, &trunc)
	if r < 0 {
		return r
	}
	if e := writeSockaddr(sockets[i].family, from, m.name, msg+8); e != 0 {
		return e
	}
	var mflags uint32
	if trunc {
		mflags = unix.MSG_TRUNC
	}
	if !vm.UserWrite64(msg+40, 0) || !vm.UserWrite32(msg+48, mflags) { // msg_controllen, msg_flags
		return -abi.EFAULT
	}
	return r
}

// sockReadv and sockWritev serve readv and writev on a socket.
// Context: trap, kernel lock held; does not allocate.
func sockReadv(t sched.TID, i int, iov uintptr, cnt int) int64 {
	io := sockIO{t: t, nr: unix.SYS_READV, iov: iov, iovcnt: cnt}
	var from sockAddr
	var trunc bool
	return sockRecv(i, &io, &from, &trunc)
}

func sockWritev(t sched.TID, i int, iov uintptr, cnt int) int64 {
	io := sockIO{t: t, nr: unix.SYS_WRITEV, iov: iov, iovcnt: cnt}
	return sockSend(i, &io, nil)
}
