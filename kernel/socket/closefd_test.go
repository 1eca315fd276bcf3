package socket

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// openSocket makes a connected stream socket with a non-blocking
// descriptor, as socket and connect leave one, and returns both.
func openSocket(t *testing.T) (fd, i int) {
	i = allocSocket(abi.SockStream, abi.Family4, false)
	require.GreaterOrEqual(t, i, 0)
	fd = fdtab.AllocDesc(fdtab.KindSocket, unix.O_NONBLOCK, int32(i))
	require.GreaterOrEqual(t, fd, 0)
	Sockets[i].FD, Sockets[i].State = int32(fd), abi.SockConnected
	return fd, i
}

// TestCloseFD: close of a socket's one descriptor (CloseFD) frees the
// descriptor and closes the socket for the stack to release (marked),
// or frees it at once with no stack; it leaves to the locked path,
// having changed nothing, a socket a thread waits on, a listener with
// queued connections, a socket with a dup of its descriptor, a
// descriptor that is not the socket's (closed beside already, or given
// to another file), and a slot out of range. A read, a write and a
// setsockopt of the closed socket through a descriptor found before the
// close answer EBADF (SocketIO, setOptionHeld), as after the stack's
// release.
func TestCloseFD(t *testing.T) {
	const stackFD = 9
	freshTable(t, stackFD)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fd, i := openSocket(t)
	s := &Sockets[i]
	refused := func(why string) {
		t.Helper()
		assert.False(t, CloseFD(fd, i), why)
		assert.NotNil(t, fdtab.Get(fd), "%s: the descriptor stays", why)
		assert.Equal(t, uint8(abi.SockConnected), s.State, why)
	}
	s.waiter = 7
	refused("a thread waits on it")
	s.waiter, s.ALen = noThread, 1
	refused("a listener with queued connections")
	s.ALen, s.ExtraFDs = 0, 1
	refused("a dup of its descriptor")
	s.ExtraFDs, s.FD = 0, int32(fd+1)
	refused("another descriptor's")
	s.FD = int32(fd)
	assert.False(t, CloseFD(fd, maxSockets), "a slot out of range")

	require.True(t, CloseFD(fd, i))
	assert.Nil(t, fdtab.Get(fd), "the descriptor freed")
	assert.Equal(t, uint8(abi.SockClosed), s.State)
	assert.Equal(t, int32(-1), s.FD)
	assert.Equal(t, uint32(1), s.Dirty, "marked for the stack")
	assert.False(t, CloseFD(fd, i), "closed already")
	assert.Equal(t, -abi.EBADF, SocketIO(false, i, 0, 0), "a read found the socket before the close")
	assert.Equal(t, -abi.EBADF, SocketIO(true, i, 0, 0))
	assert.Equal(t, -abi.EBADF, setOptionHeld(i, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1, 0))
	require.Zero(t, stackReq(abi.NetCtlRelease, i, &abi.NetIO{}))
	assert.Equal(t, -abi.EBADF, SocketIO(false, i, 0, 0), "and after the release")
	assert.Equal(t, -abi.EBADF, setOptionHeld(i, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1, 0))
	assert.Zero(t, Sockets[i].Dirty, "a refused setsockopt marks nothing")

	NetStackFD = -1
	fd, i = openSocket(t)
	require.True(t, CloseFD(fd, i))
	assert.Zero(t, Sockets[i].Typ, "no stack: freed at once")
}

// TestCloseBeside: a socket's close (CloseFD, as closeStreamShared runs
// it under the files lock held shared) beside the program's empty reads
// and writes and its setsockopts through the descriptor found before
// it, and beside the stack's reads of the events and its release of the
// closed socket, for many sockets at once. Each call answers as before the close or
// EBADF after it; every socket ends released, and no mark or count is
// left. Run with -race (make race): without the socket's lock in the
// close the detector reports it beside the calls.
func TestCloseBeside(t *testing.T) {
	const stackFD, socks = 9, 16
	freshTable(t, stackFD)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	var fds, idx [socks]int
	for k := range socks {
		fds[k], idx[k] = openSocket(t)
	}
	var stop atomic.Bool
	var beside, closes sync.WaitGroup
	for k := range socks {
		i := idx[k]
		beside.Go(func() { // the program's other thread, on the descriptor it found before
			for !stop.Load() {
				if r := SocketIO(false, i, 0, 0); r != 0 { // an empty read of an open socket answers 0

					assert.Equal(t, -abi.EBADF, r, "socket %d: read", i)
				}
				if r := SocketIO(true, i, 0, 0); r != 0 {
					assert.Equal(t, -abi.EBADF, r, "socket %d: write", i)
				}
				if r := setOptionHeld(i, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1, 0); r != 0 {
					assert.Equal(t, -abi.EBADF, r, "socket %d: setsockopt", i)
				}
			}
		})
	}
	beside.Go(func() { // the stack: it reads the events and releases what is closed
		for !stop.Load() {
			for _, ev := range stackRead(maxSockets) {
				if ev.State == abi.SockClosed {
					r := stackReq(abi.NetCtlRelease, int(ev.Sock), &abi.NetIO{})
					assert.Zero(t, r, "socket %d: released", ev.Sock)
				}
			}
		}
	})
	closes.Go(func() {
		for k := range socks {
			assert.True(t, CloseFD(fds[k], idx[k]), "socket %d", idx[k])
		}
	})
	closes.Wait()
	stop.Store(true)
	beside.Wait()
	for evs := stackRead(maxSockets); len(evs) > 0; evs = stackRead(maxSockets) { // what the stack had not read when it stopped
		for _, ev := range evs {
			if ev.State == abi.SockClosed {
				assert.Zero(t, stackReq(abi.NetCtlRelease, int(ev.Sock), &abi.NetIO{}))
			}
		}
	}
	for k := range socks {
		assert.Zero(t, Sockets[idx[k]].Typ, "socket %d released", idx[k])
		assert.Nil(t, fdtab.Get(fds[k]))
	}
	assert.Zero(t, DirtyCount)
}

// TestShutdown: shutdown sets the socket's flags for how (SHUT_RD
// reading, SHUT_WR writing, SHUT_RDWR both) and marks the socket for the
// stack, under the socket's lock; its errors come in Linux's order, an
// unknown how (EINVAL) before a socket that is not connected
// (ENOTCONN), and a socket closed beside since the call found its
// descriptor is EBADF.
func TestShutdown(t *testing.T) {
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	shutdown := func(fd, how int) int64 {
		return SysShutdown(nil, noThread, abi.SysArgs{uintptr(fd), uintptr(how)})
	}
	for _, c := range []struct {
		how  int
		want uint8
	}{{unix.SHUT_RD, abi.EvShutRd}, {unix.SHUT_WR, abi.EvShutWr}, {unix.SHUT_RDWR, abi.EvShutRd | abi.EvShutWr}} {
		fd, i := openSocket(t)
		require.Zero(t, shutdown(fd, c.how), "how %d", c.how)
		assert.Equal(t, c.want, Sockets[i].Flags, "how %d", c.how)
		assert.Equal(t, uint32(1), Sockets[i].Dirty, "how %d: marked for the stack", c.how)
		assert.Zero(t, Sockets[i].held)
	}
	fd, i := openSocket(t)
	Sockets[i].State = abi.SockOpen
	assert.Equal(t, -abi.EINVAL, shutdown(fd, 3), "an unknown how first")
	assert.Equal(t, -abi.EINVAL, shutdown(fd, -1))
	assert.Equal(t, -abi.ENOTCONN, shutdown(fd, unix.SHUT_WR))
	Sockets[i].State = abi.SockClosed // closed beside after the call found the descriptor
	assert.Equal(t, -abi.EBADF, shutdown(fd, unix.SHUT_WR))
	assert.Zero(t, Sockets[i].Flags)
	assert.Equal(t, -abi.EBADF, shutdown(fd+1, unix.SHUT_WR), "no such descriptor")
}
