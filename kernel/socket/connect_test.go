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

// TestConnectTo: a stream socket's connect beside other calls, once its
// address is read (connectTo), takes an ephemeral port, names its peer
// (the unspecified address is this host), becomes connecting and tells
// the stack, answering EINPROGRESS; the states that refuse a connect
// answer in Linux's order (connectRefused), a failed connect's error
// once; port 0 is ECONNREFUSED.
func TestConnectTo(t *testing.T) {
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	_, i := openSocket(t)
	s := &Sockets[i]
	s.State = abi.SockOpen
	assert.Equal(t, -int64(unix.ECONNREFUSED), connectTo(i, abi.Family4, SockAddr{}))
	assert.Equal(t, -abi.EINPROGRESS, connectTo(i, abi.Family4, SockAddr{Port: 80}))
	assert.Equal(t, uint8(abi.SockConnecting), s.State)
	assert.GreaterOrEqual(t, s.Local.Port, uint16(ephemeralLow), "an ephemeral port")
	assert.Equal(t, SockAddr{IP: v4Mapped([4]byte{127, 0, 0, 1}), Port: 80}, s.Remote, "the unspecified address is this host")
	assert.Equal(t, uint32(1), s.Dirty, "the stack is told")
	assert.Equal(t, -abi.EALREADY, connectTo(i, abi.Family4, SockAddr{Port: 80}))
	for state, want := range map[uint8]int64{abi.SockConnected: -abi.EISCONN, abi.SockListening: -abi.EISCONN, abi.SockClosed: -abi.EBADF} {
		s.State = state
		assert.Equal(t, want, connectRefused(s), "state %d", state)
	}
	s.State, s.SoError = abi.SockFailed, int32(unix.ECONNREFUSED)
	assert.Equal(t, -int64(unix.ECONNREFUSED), connectRefused(s), "a failed connect's error")
	assert.Equal(t, -abi.EINVAL, connectRefused(s), "once")
	s.Typ, s.State = 0, 0
	assert.Equal(t, -abi.EBADF, connectRefused(s), "freed beside")
}

// TestConnectNowOtherKinds: connect beside others leaves a blocking
// stream descriptor's to the kernel lock's path, having changed nothing,
// serves a datagram socket's (TestDgramConnectTo) and answers a descriptor
// that is not a socket's as Linux does.
func TestConnectNowOtherKinds(t *testing.T) {
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fd := NewSocket(abi.SysArgs{unix.AF_INET, unix.SOCK_DGRAM | unix.SOCK_NONBLOCK, 0}, false)
	require.GreaterOrEqual(t, fd, int64(0))
	assert.Equal(t, -abi.EFAULT, ConnectNow(nil, sched.None, abi.SysArgs{uintptr(fd), 0, 16}), "a datagram socket's, served: its address unreadable")
	assert.Equal(t, uint8(abi.SockOpen), Sockets[fdtab.Files[fd].Socket].State)
	blocking := NewSocket(abi.SysArgs{unix.AF_INET, unix.SOCK_STREAM, 0}, false)
	require.GreaterOrEqual(t, blocking, int64(0))
	assert.Equal(t, vfs.WouldBlock, ConnectNow(nil, sched.None, abi.SysArgs{uintptr(blocking), 0, 0}), "a blocking connect waits: alone")
	assert.Equal(t, uint8(abi.SockOpen), Sockets[fdtab.Files[blocking].Socket].State)
	assert.Equal(t, -abi.EBADF, ConnectNow(nil, sched.None, abi.SysArgs{uintptr(blocking + 1), 0, 0}))
}

// TestConnectBeside (for the race detector): connects on four CPUs at
// once, each of sockets of its own, beside epoll's looks at them (under
// the interest lists' lock), getsockname, sockets made and freed, and
// the stack's new connections on a listener: every connect gets a port
// of its own (the ports' lock orders the choices). Without the sockets'
// locks in the port's choice (portInUse), or in the filling of a new
// connection (netAccepted), the detector reports it.
func TestConnectBeside(t *testing.T) {
	const cpus, each = 4, 12
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	savedPort := nextPort
	t.Cleanup(func() { nextPort = savedPort })
	var socks [cpus][each]int
	for c := range cpus {
		for k := range each {
			fd := NewSocket(abi.SysArgs{unix.AF_INET, unix.SOCK_STREAM | unix.SOCK_NONBLOCK, 0}, false)
			require.GreaterOrEqual(t, fd, int64(0))
			socks[c][k] = fdtab.Files[fd].Socket
		}
	}
	var stop atomic.Bool
	var beside, connects sync.WaitGroup
	beside.Go(func() {
		for !stop.Load() {
			for c := range cpus {
				spin.LockWord(&fdtab.EpollHeld)
				SockReadiness(socks[c][0])
				spin.UnlockWord(&fdtab.EpollHeld)
				SysGetsockname(nil, sched.None, abi.SysArgs{uintptr(Sockets[socks[c][0]].FD), 0, 0})
			}
		}
	})
	l := allocSocket(abi.SockStream, abi.Family4, false)
	Sockets[l].State, Sockets[l].backlog, Sockets[l].Local.Port = abi.SockListening, 8, 8080
	beside.Go(func() { // the stack's new connections on a listener, refused once its queue is full
		for k := 0; k < 40 && !stop.Load(); k++ {
			netAccepted(&abi.NetIO{Sock: uint32(l), Gen: Sockets[l].gen, Local: abi.Addr{Port: 8080}}, false)
		}
	})
	beside.Go(func() { // sockets made and freed beside, as socket(2) and the stack's releases do
		for !stop.Load() {
			j := allocSocket(abi.SockStream, abi.Family4, false)
			spin.LockWord(&Sockets[j].held)
			freeSocket(j)
			spin.UnlockWord(&Sockets[j].held)
		}
	})
	for c := range cpus {
		connects.Go(func() {
			for _, i := range socks[c] {
				assert.Equal(t, -abi.EINPROGRESS, connectTo(i, abi.Family4, SockAddr{IP: v4Mapped([4]byte{10, 0, 2, 2}), Port: 443}))
			}
		})
	}
	connects.Wait()
	stop.Store(true)
	beside.Wait()
	ports := map[uint16]int{}
	for c := range cpus {
		for _, i := range socks[c] {
			p := Sockets[i].Local.Port
			assert.NotZero(t, p)
			if j, dup := ports[p]; dup {
				t.Errorf("sockets %d and %d both took port %d", j, i, p)
			}
			ports[p] = i
		}
	}
}
