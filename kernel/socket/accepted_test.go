package socket

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// usedSlots counts the socket table's slots in use.
func usedSlots() int {
	n := 0
	for i := range Sockets {
		if Sockets[i].Typ != 0 {
			n++
		}
	}
	return n
}

// TestNetAccepted: the stack's new connection on a listener
// (NetCtlAccepted, netAccepted) makes a connected socket of the
// listener's family and options, queues it, names it back and tells the
// program, beside other calls or alone; a full queue is EAGAIN, a
// socket that is gone ESTALE, one that does not listen EINVAL, a full
// table ENFILE alone and RunAlone beside others (not counted), and none
// of them keeps a slot.
func TestNetAccepted(t *testing.T) {
	const lfd = 5
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	quietMoment(t)
	l := allocSocket(abi.SockStream, abi.Family6, false)
	ls := &Sockets[l]
	ls.State, ls.backlog, ls.opts, ls.FD = abi.SockListening, 2, 1<<3, lfd
	fdtab.Files[lfd] = fdtab.File{Kind: fdtab.KindSocket, Socket: l}
	req := func(gen uint32, beside bool) (*abi.NetIO, int64) {
		io := &abi.NetIO{Sock: uint32(l), Gen: gen, Local: abi.Addr{Port: 80}, Remote: abi.Addr{Port: 40000}}
		return io, netAccepted(io, beside)
	}
	rejected := NetRejected
	for k, beside := range []bool{true, false} {
		io, r := req(ls.gen, beside)
		require.Equal(t, int64(0), r)
		c := int(io.Sock)
		s := &Sockets[c]
		assert.Equal(t, s.gen, io.Gen, "named back")
		assert.Equal(t, []uint8{abi.SockStream, abi.Family6, abi.SockConnected}, []uint8{s.Typ, s.Family, s.State})
		assert.True(t, s.accepted)
		assert.Equal(t, uint16(80), s.Local.Port)
		assert.Equal(t, uint16(40000), s.Remote.Port)
		assert.Equal(t, ls.opts, s.opts, "the listener's options")
		assert.Equal(t, int16(c), ls.acceptQ[k], "queued")
	}
	assert.Equal(t, uint8(2), ls.ALen)
	assert.NotZero(t, fdtab.Files[lfd].Seq, "the program is told through the listener's descriptor")
	used := usedSlots()
	_, r := req(ls.gen, true)
	assert.Equal(t, -abi.EAGAIN, r, "a full queue")
	assert.Equal(t, rejected+1, NetRejected, "counted")
	_, r = req(ls.gen+1, true)
	assert.Equal(t, -int64(unix.ESTALE), r, "another socket's generation")
	ls.backlog = acceptQueueCap
	ls.State = abi.SockClosed
	_, r = req(ls.gen, true)
	assert.Equal(t, -abi.EINVAL, r, "not listening")
	ls.State = abi.SockListening
	assert.Equal(t, -int64(unix.ESTALE), netAccepted(&abi.NetIO{Sock: maxSockets}, true), "past the table")
	assert.Equal(t, used, usedSlots(), "no refused connection keeps a slot")

	for i := range Sockets {
		if Sockets[i].Typ == 0 {
			Sockets[i].Typ = abi.SockDgram
		}
	}
	_, r = req(ls.gen, true)
	assert.Equal(t, int64(vfs.RunAlone), r, "a full table beside others")
	assert.Equal(t, rejected+1, NetRejected, "not counted: the run alone answers")
	_, r = req(ls.gen, false)
	assert.Equal(t, -abi.ENFILE, r, "a full table alone")
	assert.Equal(t, rejected+2, NetRejected)
}

// TestNetAcceptedBeside (for the race detector): two of the stack's
// threads queue new connections on one listener beside the program's
// accept4 on it (AcceptNow) and beside socket(2) calls (NewSocket),
// with a short queue that refuses some (EAGAIN): every connection made
// is in a slot of its own and accepted exactly once. Without the listener's lock in netAccepted the detector reports
// the queue's changes.
func TestNetAcceptedBeside(t *testing.T) {
	const lfd, perThread = 3, 30
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	quietMoment(t)
	l := allocSocket(abi.SockStream, abi.Family4, false)
	queueListener(t, l, lfd, 0, true)
	Sockets[l].backlog = 4 // a queue that fills: refusals beside the accepts too
	var made [2][]int
	var stack, program sync.WaitGroup
	var stop atomic.Bool
	for k := range 2 {
		stack.Go(func() {
			for len(made[k]) < perThread {
				io := &abi.NetIO{Sock: uint32(l), Gen: Sockets[l].gen}
				if r := netAccepted(io, true); r == 0 {
					made[k] = append(made[k], int(io.Sock))
				} else {
					assert.Equal(t, -abi.EAGAIN, r, "only a full queue refuses")
				}
			}
		})
	}
	var accepted []int
	program.Go(func() {
		args := abi.SysArgs{lfd, 0, 0, unix.SOCK_NONBLOCK}
		for !stop.Load() || Sockets[l].ALen > 0 {
			if r := AcceptNow(nil, sched.None, args); r >= 0 {
				accepted = append(accepted, fdtab.Files[r].Socket)
			}
		}
	})
	program.Go(func() {
		for k := 0; k < 100 && !stop.Load(); k++ { // far from a full table: 1 + 60 + 100 slots of 512
			NewSocket(abi.SysArgs{unix.AF_INET, unix.SOCK_DGRAM, 0}, true)
		}
	})
	stack.Wait()
	stop.Store(true)
	program.Wait()
	seen := map[int]bool{}
	for _, c := range append(made[0], made[1]...) {
		assert.False(t, seen[c], "slot %d made twice", c)
		seen[c] = true
	}
	assert.ElementsMatch(t, append(made[0], made[1]...), accepted, "each connection accepted once")
}

// TestNetSetStateShared: a connect's outcome served beside other calls
// (netShared) connects the socket, with the addresses the stack chose,
// or fails it with the error, and tells the program; a socket a thread
// waits on is left to the kernel lock's path (vfs.WouldBlock, nothing
// changed); a closed socket stays closed, another socket's generation
// is ESTALE.
func TestNetSetStateShared(t *testing.T) {
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fd, i := openSocket(t)
	s := &Sockets[i]
	s.State = abi.SockConnecting
	io := &abi.NetIO{Local: abi.Addr{Port: 41000}, Remote: abi.Addr{Port: 80}}
	s.waiter = 3
	assert.Equal(t, vfs.WouldBlock, stackReq(abi.NetCtlSetState, i, io), "a thread waits")
	assert.Equal(t, uint8(abi.SockConnecting), s.State, "unchanged")
	s.waiter = noThread
	seq := fdtab.Files[fd].Seq
	assert.Equal(t, int64(0), stackReq(abi.NetCtlSetState, i, io))
	assert.Equal(t, uint8(abi.SockConnected), s.State)
	assert.Equal(t, []uint16{41000, 80}, []uint16{s.Local.Port, s.Remote.Port})
	assert.Greater(t, fdtab.Files[fd].Seq, seq, "the program is told")

	s.State = abi.SockConnecting
	assert.Equal(t, int64(0), stackReq(abi.NetCtlSetState, i, &abi.NetIO{Errno: int32(unix.ECONNREFUSED)}))
	assert.Equal(t, uint8(abi.SockFailed), s.State)
	assert.Equal(t, int32(unix.ECONNREFUSED), s.SoError)
	s.State = abi.SockClosed
	assert.Equal(t, int64(0), stackReq(abi.NetCtlSetState, i, io))
	assert.Equal(t, uint8(abi.SockClosed), s.State, "a closed socket stays closed")
	assert.Equal(t, -int64(unix.ESTALE), netShared(abi.NetCtlSetState, &abi.NetIO{Sock: uint32(i), Gen: s.gen + 1}))
}

// TestSetStateUnderInterestLock: the stack's connect outcome served
// beside other calls waits for the epoll interest lists' lock
// (fdtab.EpollHeld), as epoll's looks read the socket's state under
// it (SockReadiness); its data moves do not wait for it.
func TestSetStateUnderInterestLock(t *testing.T) {
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	_, i := openSocket(t)
	Sockets[i].State = abi.SockConnecting
	spin.LockWord(&fdtab.EpollHeld) // a look in progress
	t.Cleanup(func() { atomic.StoreUint32(&fdtab.EpollHeld, 0) })
	done := make(chan int64, 1)
	go func() {
		done <- netSharedReq(abi.NetCtlSetState, &abi.NetIO{Sock: uint32(i), Gen: Sockets[i].gen}, true)
	}()
	select {
	case r := <-done:
		t.Fatalf("the connect outcome answered %d while a look held the interest lists' lock", r)
	case <-time.After(100 * time.Millisecond):
	}
	assert.Zero(t, netSharedReq(abi.NetCtlPullTx, &abi.NetIO{Sock: uint32(i), Gen: Sockets[i].gen}, true), "a data move does not wait for it")
	spin.UnlockWord(&fdtab.EpollHeld)
	assert.Zero(t, <-done)
	assert.Equal(t, uint8(abi.SockConnected), Sockets[i].State)
}

// TestConnectOutcomeBeside (for the race detector): the stack's connect
// outcomes beside epoll's looks at the socket (under the interest lists'
// lock), the program's getsockname, getpeername and getsockopt
// SO_ERROR, all on one socket: each reads the state, the addresses and
// the pending error under the lock that the outcome holds. Without the
// socket's lock in getsockname or getpeername, or the interest lists'
// lock around the outcome, the detector reports it.
func TestConnectOutcomeBeside(t *testing.T) {
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fd, i := openSocket(t)
	var stop atomic.Bool
	var beside sync.WaitGroup
	beside.Go(func() {
		for !stop.Load() {
			spin.LockWord(&fdtab.EpollHeld)
			SockReadiness(i)
			spin.UnlockWord(&fdtab.EpollHeld)
		}
	})
	beside.Go(func() {
		for !stop.Load() {
			SysGetsockname(nil, sched.None, abi.SysArgs{uintptr(fd), 0, 0})
			SysGetpeername(nil, sched.None, abi.SysArgs{uintptr(fd), 0, 0})
			optionValueHeld(i, unix.SOL_SOCKET, unix.SO_ERROR)
		}
	})
	for k := range 3000 {
		s := &Sockets[i]
		spin.LockWord(&fdtab.EpollHeld) // a connect, as the files lock held exclusively orders it
		spin.LockWord(&s.held)
		s.State = abi.SockConnecting
		spin.UnlockWord(&s.held)
		spin.UnlockWord(&fdtab.EpollHeld)
		io := &abi.NetIO{Sock: uint32(i), Gen: s.gen, Local: abi.Addr{Port: uint16(40000 + k%1000)}, Remote: abi.Addr{Port: 80}}
		if k%2 == 1 {
			io.Errno = int32(unix.ECONNREFUSED)
		}
		assert.Zero(t, netSharedReq(abi.NetCtlSetState, io, true))
	}
	stop.Store(true)
	beside.Wait()
}
