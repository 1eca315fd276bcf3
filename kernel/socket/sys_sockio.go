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
// or the files lock alone where it says so (StreamIO's path: the stream
// sockets' calls that never wait).

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

// StreamSocket reports whether descriptor f is one StreamIO serves: a
// stream Internet socket opened O_NONBLOCK (as package net opens every
// socket). Context: trap, files lock held (or a first look without it,
// which the caller repeats under it); does not allocate.
func StreamSocket(f *fdtab.File) bool {
	// The index is checked too: a first look may read a descriptor that
	// another CPU is rewriting, kind and socket from different versions.
	return f.Kind == fdtab.KindSocket && f.Nonblock && uint(f.Socket) < uint(len(Sockets)) &&
		Sockets[f.Socket].Typ == abi.SockStream
}

// StreamIO is read(2) (write false) or write(2) of n bytes at buf on
// socket i, whose descriptor StreamSocket accepts, under the files lock
// alone (package kernel's fileTrap), as SockRecv and SockSend would on
// the kernel lock's path. It never waits (EAGAIN instead) and wakes no
// thread itself: what the stack must hear of is recorded (TellStack).
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
// at a descriptor closed and made again beside, a socket that is not a
// stream's: a socket(2) beside); so do the stack's new connections and
// its connect outcomes where no thread waits (netAccepted, netShared),
// socket(2), which makes a socket under its lock (NewSocket), and a
// non-blocking connect (connectTo, under the socket's lock). The other
// socket calls and the stack's other state requests hold the files
// lock exclusively, so none of them runs beside it (getsockname and
// getpeername, beside it too, read only what those change, a connect's
// outcome, and a free after a close beside).
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func StreamIO(write bool, i int, buf, n uintptr) int64 {
	io := SockIO{T: noThread, Buf: buf, N: n}
	if e := io.Measure(); e != 0 {
		return e
	}
	var r int64
	s := &Sockets[i]
	spin.LockWord(&s.held)
	if s.State == abi.SockClosed || s.Typ != abi.SockStream {
		r = -abi.EBADF // its descriptor closed beside since the caller looked (CloseFD), perhaps made again (NewSocket)
	} else if write {
		r = streamSend(i, &io)
	} else {
		var from SockAddr
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
// alone, StreamIO, which serves only descriptors opened O_NONBLOCK).
// Context: trap, files lock held (held shared: with the socket's lock,
// StreamIO); does not allocate.
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

// dgramSend queues one datagram.
// Context: trap, kernel lock held; does not allocate.
func dgramSend(i int, io *SockIO, dest *SockAddr) int64 {
	s := &Sockets[i]
	to := s.Remote
	if dest != nil {
		to = connectTarget(s.Family, *dest)
	} else if s.State != abi.SockConnected {
		return -abi.EDESTADDRREQ
	}
	if s.Family == abi.Family6 && s.opts&abi.OptV6Only != 0 && to.Is4() {
		return -int64(unix.ENETUNREACH) // man 7 ipv6: no IPv4 on this socket
	}
	if io.Total > maxDatagram {
		return -abi.EMSGSIZE
	}
	if !autobind(i) {
		return -int64(unix.EADDRNOTAVAIL)
	}
	if r, done := udpLocalSend(i, io, to); done {
		return r
	}
	if dgramHeaderSize+uint32(io.Total) > s.Tx.Space() {
		return io.wait(i)
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
	if Sockets[i].Typ != abi.SockStream {
		return dgramRecv(i, io, from, trunc)
	}
	if r := streamRecv(i, io, from); r != vfs.WouldBlock {
		return r
	}
	return io.wait(i)
}

// streamRecv is SockRecv on stream socket i after the buffers' check,
// with vfs.WouldBlock where the call must wait (io.wait: EAGAIN, or
// the wait, on the kernel lock's path; EAGAIN under the files lock
// alone, StreamIO, which serves only descriptors opened O_NONBLOCK).
// Context: trap, files lock held (held shared: with the socket's lock,
// StreamIO); does not allocate.
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

// dgramRecv reads one datagram.
// Context: trap, kernel lock held; does not allocate.
func dgramRecv(i int, io *SockIO, from *SockAddr, trunc *bool) int64 {
	s := &Sockets[i]
	h, ok := s.Rx.nextDgram()
	if !ok {
		if s.SoError != 0 {
			err := int64(s.SoError)
			s.SoError = 0
			return -err
		}
		return io.wait(i)
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

// SysSendto sends buf on a socket, to addr when it is an unconnected
// datagram socket. Context: trap, kernel lock held; does not allocate.
func SysSendto(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	fd, buf, n, flags, addr, alen := int(a[0]), a[1], a[2], int(a[3]), a[4], a[5]
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	io := SockIO{T: t, Nr: unix.SYS_SENDTO, Buf: buf, N: n, Flags: flags}
	if addr == 0 || Sockets[i].Typ == abi.SockStream {
		return SockSend(i, &io, nil)
	}
	to, e := readSockaddr(Sockets[i].Family, addr, alen)
	if e != 0 {
		return e
	}
	return SockSend(i, &io, &to)
}

// SysRecvfrom receives into buf and writes the sender's address.
// Context: trap, kernel lock held; does not allocate.
func SysRecvfrom(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	io := SockIO{T: t, Nr: unix.SYS_RECVFROM, Buf: a[1], N: a[2], Flags: int(a[3])}
	return sockRecvmsg(int(a[0]), &io, 0, Msghdr{Name: a[4], Namelen: a[5]})
}

// Msghdr is the part of struct msghdr the calls use.
type Msghdr struct {
	Name, Namelen, Iov, Iovlen, Control, Controllen uintptr
}

// ReadMsghdr reads the struct msghdr at addr and points io at its
// iovecs (a sendmsg or recvmsg); false if it is not readable.
// Context: trap, kernel lock held; does not allocate.
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

// SysSendmsg sends the iovecs of the msghdr at msg (to its name, for an
// unconnected datagram socket); control data is ignored. Context: trap, kernel lock held; does not allocate.
func SysSendmsg(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	fd, msg, flags := int(a[0]), a[1], int(a[2])
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	io := SockIO{T: t, Nr: unix.SYS_SENDMSG, Flags: flags}
	m, ok := ReadMsghdr(msg, &io)
	if !ok {
		return -abi.EFAULT
	}
	if m.Name == 0 || Sockets[i].Typ == abi.SockStream {
		return SockSend(i, &io, nil)
	}
	to, e := readSockaddr(Sockets[i].Family, m.Name, m.Namelen)
	if e != 0 {
		return e
	}
	return SockSend(i, &io, &to)
}

// SysRecvmsg receives into the iovecs of the msghdr at msg and fills in
// its name, flags (MSG_TRUNC) and an empty control part. Context: trap, kernel lock held; does not allocate.
func SysRecvmsg(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	io := SockIO{T: t, Nr: unix.SYS_RECVMSG, Flags: int(a[2])}
	return sockRecvmsg(int(a[0]), &io, a[1], Msghdr{})
}

// sockRecvmsg is recvmsg of the msghdr at msg on descriptor fd, into
// io's buffers, or, for recvfrom (io.Nr), recvfrom into io's buffer
// with m's name (its length's address in m.Namelen): a recvmsg's msg of
// 0 is EFAULT, as any header it cannot read.
// Context: trap, kernel lock held; does not allocate.
func sockRecvmsg(fd int, io *SockIO, msg uintptr, m Msghdr) int64 {
	i, e := sockOfFD(fd)
	if e != 0 {
		return e
	}
	lenAddr, isMsg := m.Namelen, io.Nr == unix.SYS_RECVMSG
	if isMsg {
		var ok bool
		if m, ok = ReadMsghdr(msg, io); !ok {
			return -abi.EFAULT
		}
		lenAddr = msg + 8
	}
	var from SockAddr
	var trunc bool
	r := SockRecv(i, io, &from, &trunc)
	if r < 0 {
		return r
	}
	if e := writeSockaddr(Sockets[i].Family, from, m.Name, lenAddr); e != 0 {
		return e
	}
	if !isMsg {
		return r
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
