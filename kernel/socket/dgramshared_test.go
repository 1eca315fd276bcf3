package socket

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// offHost is a peer off the host (TEST-NET-1): its datagrams go to the
// stack's transmit ring.
var offHost = SockAddr{IP: v4Mapped([4]byte{192, 0, 2, 1}), Port: 9}

// openDgram makes a connected UDP socket with a non-blocking descriptor
// and host rings, bound to port 5000 and connected to peer.
func openDgram(t *testing.T, peer SockAddr) (fd, i int) {
	i = allocSocket(abi.SockDgram, abi.Family4, false)
	require.GreaterOrEqual(t, i, 0)
	fd = fdtab.AllocDesc(fdtab.KindSocket, unix.O_NONBLOCK, int32(i))
	require.GreaterOrEqual(t, fd, 0)
	s := &Sockets[i]
	s.FD, s.State, s.Remote, s.Local = int32(fd), abi.SockConnected, peer, SockAddr{Port: 5000}
	hostRing(&s.Tx)
	hostRing(&s.Rx)
	return fd, i
}

// TestDgramSendNow: a datagram socket's send beside other calls queues
// a datagram off the host in the transmit ring and tells the stack
// once; it puts a datagram to a local address into its receiver's ring,
// or with none queues it for the stack; it answers as the locked path
// does for no peer, a datagram too long, a full ring (EAGAIN: it never
// waits) and a socket closed beside. An unbound socket gets its port.
func TestDgramSendNow(t *testing.T) {
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	_, i := openDgram(t, offHost)
	s := &Sockets[i]
	var io SockIO
	require.Zero(t, io.Measure())
	assert.Equal(t, int64(0), dgramSendNow(i, &io, nil), "an empty datagram, queued")
	assert.Equal(t, uint32(dgramHeaderSize), s.Tx.N)
	assert.Equal(t, uint32(1), s.Dirty, "the stack told")
	h, ok := s.Tx.nextDgram()
	require.True(t, ok)
	assert.Equal(t, offHost, h.addr)

	lo4 := v4Mapped([4]byte{127, 0, 0, 1})
	local := SockAddr{IP: lo4, Port: 53}
	j := allocSocket(abi.SockDgram, abi.Family4, false)
	Sockets[j].Local = SockAddr{Port: 53}
	hostRing(&Sockets[j].Rx)
	assert.Equal(t, int64(0), dgramSendNow(i, &io, &local), "to a local address: delivered")
	assert.Equal(t, uint32(dgramHeaderSize), Sockets[j].Rx.N, "into the receiver's ring (udpDeliver)")
	h, ok = Sockets[j].Rx.nextDgram()
	require.True(t, ok)
	assert.Equal(t, SockAddr{IP: lo4, Port: 5000}, h.addr, "from the sender's port and the source address for loopback")
	assert.Equal(t, uint32(dgramHeaderSize), s.Tx.N, "nothing queued for the stack")
	Sockets[j].State = abi.SockClosed
	assert.Equal(t, int64(0), dgramSendNow(i, &io, &local), "no receiver now: the stack's")
	assert.Equal(t, uint32(2*dgramHeaderSize), s.Tx.N, "queued for the stack")
	s.Tx.N = dgramHeaderSize

	noPort := SockAddr{IP: offHost.IP}
	assert.Equal(t, -abi.EINVAL, dgramSendNow(i, &io, &noPort), "to port 0, as Linux")
	long := SockIO{Total: maxDatagram + 1}
	assert.Equal(t, -abi.EMSGSIZE, dgramSendNow(i, &long, nil))
	s.Tx.N = sockBufSize - dgramHeaderSize + 1
	assert.Equal(t, -abi.EAGAIN, dgramSendNow(i, &io, nil), "no room: it never waits")
	s.Tx.N = dgramHeaderSize

	s.State = abi.SockOpen
	assert.Equal(t, -abi.EDESTADDRREQ, dgramSendNow(i, &io, nil), "no peer")
	s.Local.Port = 0
	assert.Equal(t, int64(0), dgramSendNow(i, &io, &offHost), "to an address given")
	assert.NotZero(t, s.Local.Port, "the send chose a port (autobind)")
	assert.Equal(t, uint32(2*dgramHeaderSize), s.Tx.N)

	s.State = abi.SockClosed
	assert.Equal(t, -abi.EBADF, dgramSendNow(i, &io, &offHost), "closed beside")
	assert.Equal(t, uint32(2*dgramHeaderSize), s.Tx.N)
}

// TestRecvfromBeside: recvfrom beside other calls takes the oldest
// datagram, answers a pending error once (then EAGAIN: it never waits),
// and leaves a blocking descriptor's call without MSG_DONTWAIT and a
// stream socket's to the kernel lock's path; with MSG_DONTWAIT a
// blocking descriptor's is served. recvmsg and sendmsg answer a NULL
// header with EFAULT, as Linux's.
func TestRecvfromBeside(t *testing.T) {
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fd, i := openDgram(t, offHost)
	s := &Sockets[i]
	var empty SockIO
	for range 2 {
		require.Zero(t, s.Rx.putDgram(offHost, &empty))
	}
	recv := func(fd, flags int) int64 {
		return RecvfromNow(nil, sched.None, abi.SysArgs{uintptr(fd), 0, 0, uintptr(flags), 0, 0})
	}
	assert.Equal(t, int64(0), recv(fd, 0), "the first datagram")
	assert.Equal(t, uint32(dgramHeaderSize), s.Rx.N, "taken")
	assert.Equal(t, int64(0), recv(fd, unix.MSG_PEEK), "peeked")
	assert.Equal(t, uint32(dgramHeaderSize), s.Rx.N, "left")
	assert.Equal(t, int64(0), SocketIO(false, i, 0, 0), "read(2) takes it too")
	assert.Equal(t, -abi.EAGAIN, recv(fd, 0), "none left")
	s.SoError = int32(unix.ECONNREFUSED)
	assert.Equal(t, -int64(unix.ECONNREFUSED), recv(fd, 0), "the pending error")
	assert.Equal(t, -abi.EAGAIN, recv(fd, 0), "once")
	assert.Equal(t, -abi.EFAULT, RecvmsgNow(nil, sched.None, abi.SysArgs{uintptr(fd), 0, 0}), "recvmsg: a NULL header, as Linux")
	assert.Equal(t, -abi.EFAULT, SendmsgNow(nil, sched.None, abi.SysArgs{uintptr(fd), 0, 0}), "sendmsg too")

	w, _ := fdtab.LoadFlags(fd)
	fdtab.SetFlag(fd, w, fdtab.FlagNonblock, false) // fcntl's F_SETFL
	assert.Equal(t, vfs.WouldBlock, recv(fd, 0), "a blocking call: the locked path")
	assert.Equal(t, -abi.EAGAIN, recv(fd, unix.MSG_DONTWAIT), "MSG_DONTWAIT never waits")
	assert.Equal(t, vfs.WouldBlock, SendtoNow(nil, sched.None, abi.SysArgs{uintptr(fd), 0, 0, 0, 0, 0}), "a blocking sendto: the locked path")
	assert.Equal(t, vfs.WouldBlock, RecvmsgNow(nil, sched.None, abi.SysArgs{uintptr(fd), 0, 0}), "a blocking recvmsg: the locked path, before the header is read")
	assert.Equal(t, -abi.EFAULT, RecvmsgNow(nil, sched.None, abi.SysArgs{uintptr(fd), 0, unix.MSG_DONTWAIT}), "with MSG_DONTWAIT: served")

	sfd, _ := openSocket(t)
	assert.Equal(t, vfs.WouldBlock, recv(sfd, 0), "a stream socket's: the locked path")
	assert.Equal(t, -abi.EBADF, recv(sfd+1, 0))
}

// TestDgramBeside (for the race detector): a UDP socket's sends and
// receives (SocketIO) on two CPUs each, beside a third that changes its
// peer by datagram connects (dgramConnectTo, under the interest lists'
// lock and the socket's), epoll's looks (SockReadiness) and the stack's
// pushes and pulls of datagrams (under the socket's lock, as netShared
// takes it). Without the socket's lock around the send's queueing, or
// with the pending error taken by a plain store, the detector reports it.
func TestDgramBeside(t *testing.T) {
	const rounds = 400
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	_, i := openDgram(t, offHost)
	s := &Sockets[i]
	var sent, got, refused atomic.Int64
	var pushed atomic.Bool
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for range rounds {
				switch r := SocketIO(true, i, 0, 0); r {
				case 0:
					sent.Add(1)
				case -abi.EAGAIN, vfs.WouldBlock:
				default:
					refused.Add(1)
				}
			}
		})
		wg.Go(func() { // until the stack has pushed its last datagram
			for more := true; more; {
				more = !pushed.Load() || got.Load() == 0
				if SocketIO(false, i, 0, 0) == 0 {
					got.Add(1)
				}
			}
		})
	}
	wg.Go(func() { // connect: another peer off the host, then back
		for k := range rounds {
			peer := offHost
			peer.Port += uint16(k % 2)
			if !assert.Zero(t, dgramConnectTo(i, peer, false)) {
				return
			}
		}
	})
	wg.Go(func() { // the stack: a datagram in, the queued ones out, an error now and then
		var empty SockIO
		for k := range rounds {
			spin.LockWord(&s.held)
			s.Rx.putDgram(offHost, &empty)
			for {
				h, ok := s.Tx.nextDgram()
				if !ok {
					break
				}
				s.Tx.drop(dgramHeaderSize + h.len)
			}
			if k%50 == 0 {
				atomic.StoreInt32(&s.SoError, int32(unix.ECONNREFUSED))
			}
			spin.UnlockWord(&s.held)
		}
		pushed.Store(true)
	})
	wg.Go(func() { // epoll's looks: the race detector checks what they read
		for range rounds {
			spin.LockWord(&fdtab.EpollHeld)
			SockReadiness(i)
			spin.UnlockWord(&fdtab.EpollHeld)
		}
	})
	wg.Wait()
	assert.Zero(t, refused.Load(), "no send was refused")
	assert.Positive(t, sent.Load())
	assert.Positive(t, got.Load())
}

// TestDgramConnectTo: a datagram socket's connect chooses a port for an
// unbound socket and the source address for its peer (sourceFor) and
// connects it; a disconnect (AF_UNSPEC) leaves it unconnected and drops
// the source address unless the socket was bound, keeping the port; a
// socket closed beside answers EBADF, unchanged, and so does connect(2)
// beside others (ConnectNow) through its descriptor.
func TestDgramConnectTo(t *testing.T) {
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fd, i := openDgram(t, SockAddr{})
	s := &Sockets[i]
	s.State, s.Local = abi.SockOpen, SockAddr{}
	require.Zero(t, dgramConnectTo(i, offHost, false))
	assert.Equal(t, uint8(abi.SockConnected), s.State)
	assert.Equal(t, offHost, s.Remote)
	assert.NotZero(t, s.Local.Port, "a port chosen (autobind)")
	assert.Equal(t, sourceFor(offHost), s.Local.IP, "the source address connect picked")
	assert.Equal(t, uint32(1), s.Dirty, "the stack told")
	port := s.Local.Port

	require.Zero(t, dgramConnectTo(i, SockAddr{}, true))
	assert.Equal(t, uint8(abi.SockOpen), s.State, "disconnected")
	assert.Equal(t, SockAddr{Port: port}, s.Local, "the picked address dropped, the port kept")
	assert.Equal(t, SockAddr{}, s.Remote)

	s.bound, s.Local.IP = true, v4Mapped([4]byte{127, 0, 0, 1})
	require.Zero(t, dgramConnectTo(i, offHost, false))
	require.Zero(t, dgramConnectTo(i, SockAddr{}, true))
	assert.Equal(t, v4Mapped([4]byte{127, 0, 0, 1}), s.Local.IP, "a bound socket keeps its address")

	s.State = abi.SockClosed
	assert.Equal(t, -abi.EBADF, dgramConnectTo(i, offHost, false), "closed beside")
	assert.Equal(t, SockAddr{}, s.Remote, "unchanged")
	assert.Equal(t, -abi.EBADF, ConnectNow(nil, sched.None, abi.SysArgs{uintptr(fd), 0, 16}), "through its descriptor, before the address is read")
	s.sockFields = sockFields{} // freed beside (freeSocket)
	assert.True(t, autobind(i), "its caller looks again and answers EBADF")
	assert.Zero(t, s.Local.Port, "no port stored in a free slot")
}

// TestSockCallNr: the call a blocking sendto, recvfrom, sendmsg or
// recvmsg runs again after its wait (SockIO.Nr, which SockWait stores
// as the thread's restart number) is its own, whatever args finds
// after (a msghdr it cannot read is EFAULT); and a receive that waits
// writes no result (result passes the wait on).
func TestSockCallNr(t *testing.T) {
	for _, c := range []struct {
		send, isMsg bool
		nr          uint64
	}{
		{true, false, unix.SYS_SENDTO}, {false, false, unix.SYS_RECVFROM},
		{true, true, unix.SYS_SENDMSG}, {false, true, unix.SYS_RECVMSG},
	} {
		var st sockCallState
		e := st.args(c.send, c.isMsg, 3, abi.SysArgs{5, 0, 0, 0, 0, 0}, abi.Family4, abi.SockDgram)
		assert.Equal(t, c.nr, st.io.Nr, "send %v msg %v", c.send, c.isMsg)
		assert.Equal(t, sched.TID(3), st.io.T)
		if c.isMsg {
			assert.Equal(t, -abi.EFAULT, e, "a NULL msghdr")
		} else {
			assert.Zero(t, e)
		}
	}
	var st sockCallState
	st.name, st.nameLen = 0x10, 0x20 // in the first page, never the program's: a write fails
	assert.Equal(t, int64(blocked), st.result(true, 0x30, blocked), "a wait is passed on, nothing written")
	assert.Equal(t, -abi.EFAULT, st.result(true, 0x30, 0), "a result is written (and faults here)")
}

// TestUDPLocalBeside (for the race detector): two sockets send
// datagrams to a third bound to the port's wildcard on the loopback
// address (SocketIO, which delivers them into its ring: udpDeliver)
// while it reads them on another CPU, a fourth socket takes and gives
// back the same wildcard (the last found takes a datagram) and the
// third closes and opens again beside (so the scan's second look at a
// wildcard finds it gone, and the datagram goes to the stack), and epoll
// looks at the receiver; a datagram is either read, still in a
// receiver's ring, counted dropped for want of room or queued for the
// stack, never lost. Without the receivers' locks in the scan and the
// put, the detector reports it.
func TestUDPLocalBeside(t *testing.T) {
	const rounds = 300
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	lo := SockAddr{IP: v4Mapped([4]byte{127, 0, 0, 1}), Port: 53}
	_, r := openDgram(t, SockAddr{})
	Sockets[r].State, Sockets[r].Local = abi.SockOpen, SockAddr{Port: 53}
	var senders [2]int
	for k := range senders {
		_, senders[k] = openDgram(t, lo)
		Sockets[senders[k]].Local.Port = uint16(6000 + k)
	}
	_, other := openDgram(t, SockAddr{})
	dropped := atomic.LoadUint64(&NetDropped)
	var sent, got atomic.Int64
	var done atomic.Bool
	var wg sync.WaitGroup
	for _, i := range senders {
		wg.Go(func() {
			for range rounds {
				if assert.Zero(t, SocketIO(true, i, 0, 0)) {
					sent.Add(1)
				}
			}
		})
	}
	var reader sync.WaitGroup
	reader.Go(func() {
		for !done.Load() {
			for _, k := range [2]int{r, other} {
				if SocketIO(false, k, 0, 0) == 0 {
					got.Add(1)
				}
			}
		}
	})
	wg.Go(func() { // another socket takes the port's wildcard and gives it back; the receiver closes and opens
		o, rs := &Sockets[other], &Sockets[r]
		setState := func(state uint8) { // as a close does: under the interest lists' lock too (epoll's looks read State)
			spin.LockWord(&fdtab.EpollHeld)
			spin.LockWord(&rs.held)
			rs.State = state
			spin.UnlockWord(&rs.held)
			spin.UnlockWord(&fdtab.EpollHeld)
		}
		for k := range rounds {
			spin.LockWord(&o.held)
			o.State, o.Local = abi.SockOpen, SockAddr{Port: uint16(53 * (k % 2))}
			spin.UnlockWord(&o.held)
			setState([2]uint8{abi.SockOpen, abi.SockClosed}[k%3/2])
		}
		setState(abi.SockOpen)
	})
	wg.Go(func() {
		for range rounds {
			spin.LockWord(&fdtab.EpollHeld)
			SockReadiness(r)
			spin.UnlockWord(&fdtab.EpollHeld)
		}
	})
	wg.Wait()
	done.Store(true)
	reader.Wait()
	left := 0 // still in a ring: the receivers' and, for the stack, the senders'
	for _, b := range []*sockBuf{&Sockets[r].Rx, &Sockets[other].Rx, &Sockets[senders[0]].Tx, &Sockets[senders[1]].Tx} {
		for {
			h, ok := b.nextDgram()
			if !ok {
				break
			}
			b.drop(dgramHeaderSize + h.len)
			left++
		}
	}
	assert.Equal(t, int64(2*rounds), sent.Load())
	assert.Equal(t, sent.Load(), got.Load()+int64(left)+int64(atomic.LoadUint64(&NetDropped)-dropped), "every datagram read, queued or counted dropped")
}

// TestSlotsUsed: allocSocket raises the high-water mark of the slots it
// gave out to one past the highest, from several CPUs at once, and not
// for a slot below it reused; a port held in the slot just raised is
// found (portInUse scans up to the mark).
func TestSlotsUsed(t *testing.T) {
	freshTable(t, 9)
	slotsUsed.Store(0)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 5 {
				allocSocket(abi.SockDgram, abi.Family4, false)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, uint32(20), slotsUsed.Load(), "slots 0 to 19 given out")
	Sockets[3].sockFields = sockFields{} // freed
	assert.Equal(t, 3, allocSocket(abi.SockDgram, abi.Family4, false), "the lowest free slot")
	assert.Equal(t, uint32(20), slotsUsed.Load(), "unchanged")
	Sockets[19].Local.Port = 4000
	assert.True(t, portInUse(0, abi.SockDgram, SockAddr{Port: 4000}), "the holder in the highest slot")
	Sockets[20].sockFields = sockFields{Typ: abi.SockDgram, State: abi.SockOpen, Local: SockAddr{Port: 4001}}
	assert.False(t, portInUse(0, abi.SockDgram, SockAddr{Port: 4001}), "a slot past the mark is not looked at")
}
