package socket

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// queueListener makes socket l a listener on descriptor fd (O_NONBLOCK
// if nonblock) with n connections in its accept queue, as the stack's
// NetCtlAccepted queues them, and returns their slots in queue order;
// every descriptor may be used (fdtab.NofileLimit) until the test ends.
func queueListener(t *testing.T, l, fd, n int, nonblock bool) []int {
	limit := fdtab.NofileLimit
	t.Cleanup(func() { fdtab.NofileLimit = limit })
	fdtab.NofileLimit = fdtab.MaxFDs
	Sockets[l] = socket{waiter: noThread, sockFields: sockFields{Typ: abi.SockStream, State: abi.SockListening, FD: int32(fd), backlog: acceptQueueCap}}
	fdtab.Files[fd] = fdtab.File{Kind: fdtab.KindSocket, Socket: l, Nonblock: nonblock}
	var conns []int
	for range n {
		c := allocSocket(abi.SockStream, abi.Family4, false)
		require.GreaterOrEqual(t, c, 0)
		Sockets[c].State = abi.SockConnected
		Sockets[l].acceptQ[(int(Sockets[l].aHead)+int(Sockets[l].ALen))%acceptQueueCap] = int16(c)
		Sockets[l].ALen++
		conns = append(conns, c)
	}
	return conns
}

// TestAcceptBeside: accept4 under the files lock held shared
// (AcceptNow, as package kernel's fileCalls runs it) from four
// goroutines at once on one non-blocking listener with 40 queued
// connections, beside epoll's look at the listener (SockReadiness) and
// the stack's moves of the queued connections' data (netShared, which
// tell the program through the socket's descriptor). Every connection
// is taken exactly once, as a descriptor of its own naming it, which the
// socket names back; then each caller gets EAGAIN. Run with -race (make
// race): without the listener's lock the detector reports the queue's
// changes, without the accepted socket's lock the descriptor's store
// beside the stack's tellProgram.
func TestAcceptBeside(t *testing.T) {
	const lfd, n, callers = 3, 40, 4
	freshTable(t, -1)
	l := allocSocket(abi.SockStream, abi.Family4, false)
	conns := queueListener(t, l, lfd, n, true)
	args := abi.SysArgs{lfd, 0, 0, unix.SOCK_NONBLOCK | unix.SOCK_CLOEXEC}
	var got [callers][]int64
	var wg, beside sync.WaitGroup
	var stop atomic.Bool
	var running atomic.Int32
	beside.Go(func() {
		for running.Add(1); !stop.Load(); {
			SockReadiness(l)
		}
	})
	beside.Go(func() {
		for running.Add(1); !stop.Load(); {
			for _, c := range conns {
				// The peer's end of stream, told to the program each time
				// (tellProgram reads the socket's FD), as it is told once.
				atomic.StoreUint32(&Sockets[c].peerEOF, 0)
				stackReq(abi.NetCtlPushRx, c, &abi.NetIO{Flags: abi.IoEOF})
			}
		}
	})
	for running.Load() < 2 { // both at work before the first accept
		runtime.Gosched()
	}
	for k := range callers {
		wg.Go(func() {
			for {
				r := AcceptNow(nil, sched.None, args)
				if r < 0 {
					assert.Equal(t, -abi.EAGAIN, r, "caller %d", k)
					return
				}
				got[k] = append(got[k], r)
			}
		})
	}
	wg.Wait()
	stop.Store(true)
	beside.Wait()

	taken := map[int]int64{}
	for _, rs := range got {
		for _, r := range rs {
			w, _ := fdtab.LoadFlags(int(r))
			require.Equal(t, fdtab.KindSocket, w.Kind(), "descriptor %d", r)
			assert.NotZero(t, w&fdtab.FlagNonblock, "SOCK_NONBLOCK")
			assert.NotZero(t, w&fdtab.FlagCloexec, "SOCK_CLOEXEC")
			c := fdtab.Files[r].Socket
			_, dup := taken[c]
			assert.False(t, dup, "connection %d taken twice", c)
			taken[c] = r
			assert.Equal(t, int32(r), Sockets[c].FD, "the socket names its descriptor")
		}
	}
	assert.Len(t, taken, n, "every connection taken")
	for _, c := range conns {
		assert.Contains(t, taken, c)
	}
	assert.Zero(t, Sockets[l].ALen)
	assert.Zero(t, SockReadiness(l)&unix.EPOLLIN, "the queue is empty")
	assert.Equal(t, uint32(1), Sockets[l].Dirty, "the stack told that the queue has room")
}

// TestAcceptNow: the answers of accept4 that does not wait: oldest
// connection first; EAGAIN on an empty queue of a descriptor opened
// O_NONBLOCK and vfs.WouldBlock on a blocking one (the locked path
// waits); EINVAL for unknown flags and for a socket that does not
// listen, EOPNOTSUPP for a UDP socket; EFAULT for an address that does
// not reach the program and EMFILE with no descriptor free, the
// connection left queued; EBADF, EINVAL for flags and ENOTSOCK in
// Linux's order.
func TestAcceptNow(t *testing.T) {
	freshTable(t, -1)
	l := allocSocket(abi.SockStream, abi.Family4, false)
	conns := queueListener(t, l, 3, 2, false)
	accept := func(flags int) int64 { return AcceptNow(nil, sched.None, abi.SysArgs{3, 0, 0, uintptr(flags)}) }
	assert.Equal(t, -abi.EINVAL, accept(unix.O_APPEND), "an unknown flag")
	assert.Equal(t, -abi.EFAULT, AcceptNow(nil, sched.None, abi.SysArgs{3, 0x800, 0x800, 0}), "an address below the program's lowest page")
	assert.Equal(t, uint8(2), Sockets[l].ALen, "the connection stays queued")
	fdtab.NofileLimit = 4 // 0 to 3: the listener's is the last
	for fd := range 3 {
		fdtab.Files[fd] = fdtab.File{Kind: fdtab.KindEventfd}
	}
	assert.Equal(t, -abi.EMFILE, accept(0))
	assert.Equal(t, uint8(2), Sockets[l].ALen, "the connection stays queued")
	fdtab.NofileLimit = fdtab.MaxFDs
	r := accept(0)
	require.GreaterOrEqual(t, r, int64(0))
	assert.Equal(t, conns[0], fdtab.Files[r].Socket, "the oldest first")
	r = accept(0)
	require.GreaterOrEqual(t, r, int64(0))
	assert.Equal(t, conns[1], fdtab.Files[r].Socket)
	assert.Equal(t, vfs.WouldBlock, accept(0), "a blocking descriptor waits, on the locked path")
	fdtab.Files[3].Nonblock = true
	assert.Equal(t, -abi.EAGAIN, accept(0))
	Sockets[l].State = abi.SockConnected
	assert.Equal(t, -abi.EINVAL, accept(0), "not listening")
	Sockets[l].Typ = abi.SockDgram
	assert.Equal(t, -int64(unix.EOPNOTSUPP), accept(0), "a UDP socket has no connections")

	// Linux's order: a bad descriptor before bad flags, bad flags before
	// a descriptor that is not a socket.
	on := func(fd, flags int) int64 {
		return AcceptNow(nil, sched.None, abi.SysArgs{uintptr(fd), 0, 0, uintptr(flags)})
	}
	assert.Equal(t, -abi.EBADF, on(7, unix.O_APPEND), "closed, bad flags")
	assert.Equal(t, -abi.EINVAL, on(0, unix.O_APPEND), "an eventfd, bad flags")
	assert.Equal(t, -int64(unix.ENOTSOCK), on(0, 0), "an eventfd")
	assert.Equal(t, -abi.EBADF, on(7, 0), "closed")
}
