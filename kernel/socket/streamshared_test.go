package socket

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestStreamSocketsBeside: what a program's read or write of a stream
// socket does under the files lock held shared (SocketIO) runs for four
// sockets at once, each socket's write and read on two goroutines taking
// turns under its lock (socket.held) as SocketIO takes it: the write's
// Tx.Put and TellStack, the read's Rx.drop and TellStack; beside them epoll_wait's
// look without the lock (SockReadiness) loads the counts. Run with -race
// (make race), the atomic stores of the counts and of DirtyCount are
// what keep it clean. Every socket ends dirty once, counted once, and
// the stack's descriptor records the change once (the count's 0 to 1).
func TestStreamSocketsBeside(t *testing.T) {
	const stackFD, socks, rounds, record = 9, 4, 300, 100
	freshTable(t, stackFD)
	seq := fdtab.Files[stackFD].Seq
	fdtab.NotifyFDs.TakeWord(stackFD / 64)
	for i := range socks {
		Sockets[i] = socket{waiter: noThread, sockFields: sockFields{Typ: abi.SockStream, State: abi.SockConnected, FD: -1}}
		hostRing(&Sockets[i].Tx)
		hostRing(&Sockets[i].Rx)
		Sockets[i].Rx.N = sockBufSize // the stack pushed a full ring
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	for i := range socks {
		s := &Sockets[i]
		wg.Go(func() { // the write: SocketIO(true, ...) and streamSend's changes
			rec := make([]byte, record)
			for range rounds {
				spin.LockWord(&s.held)
				put := s.Tx.Put(rec, true)
				TellStack(i)
				spin.UnlockWord(&s.held)
				if !assert.Equal(t, record, put) {
					return
				}
			}
		})
		wg.Go(func() { // the read: SocketIO(false, ...) and streamRecv's changes
			got := make([]byte, record)
			for range rounds {
				spin.LockWord(&s.held)
				n := s.Rx.peek(got, 0)
				s.Rx.drop(uint32(n))
				TellStack(i) // as streamRecv does for a stack that waits for room (rxWanted)
				spin.UnlockWord(&s.held)
			}
		})
	}
	var looks sync.WaitGroup
	looks.Go(func() { // epoll_wait's answers that do not wait
		for !stop.Load() {
			for i := range socks {
				r := SockReadiness(i)
				assert.NotZero(t, r&unix.EPOLLOUT, "socket %d: a ring of 128 KiB never fills here", i)
			}
		}
	})
	wg.Wait()
	stop.Store(true)
	looks.Wait()

	require.Equal(t, int32(socks), DirtyCount, "each socket counted once")
	for i := range socks {
		assert.Equal(t, uint32(1), Sockets[i].Dirty)
		assert.Equal(t, uint32(rounds*record), Sockets[i].Tx.N, "socket %d: every write stored", i)
		assert.Equal(t, uint32(sockBufSize-rounds*record), Sockets[i].Rx.N, "socket %d: every read taken", i)
	}
	assert.Equal(t, seq+1, fdtab.Files[stackFD].Seq, "the stack's descriptor changed once")
	assert.True(t, fdtab.NotifyFDs.Has(stackFD), "and its change is recorded for epoll")
	fdtab.NotifyFDs.TakeWord(stackFD / 64)
	fdtab.NotifyPending.Store(false)
}

// TestStreamIOBeside runs SocketIO itself, a read and a write of each of
// eight sockets at once, round after round, as CPUs under the files lock
// held shared do; between rounds the network stack's side (the files
// lock held exclusively, here the goroutines' start and end) makes half
// the sockets report an error (SoError) and the other half hold data for
// a stack that waits for room (rxWanted). The calls move no byte (empty
// buffers: no program memory in a host test), but they make every change
// of the socket that SocketIO makes under its lock: a pending error
// taken by exactly one of the two calls, the read's note to the stack,
// the count of dirty sockets and the stack descriptor's one record. Run
// with -race (make race): without the socket's lock in SocketIO the
// detector reports the two calls, and with a plain store of the error
// the call and SockReadiness, which looks beside them.
func TestStreamIOBeside(t *testing.T) {
	const stackFD, socks, rounds = 9, 8, 40
	freshTable(t, stackFD)
	for i := range socks {
		Sockets[i] = socket{waiter: noThread, sockFields: sockFields{Typ: abi.SockStream, State: abi.SockConnected, FD: -1}}
		hostRing(&Sockets[i].Rx)
	}
	for r := range rounds {
		// The stack's side, alone.
		seq := fdtab.Files[stackFD].Seq
		DirtyCount = 0
		for i := range socks {
			s := &Sockets[i]
			s.Dirty = 0
			if i%2 == 0 {
				s.SoError = int32(unix.ECONNRESET)
			} else {
				s.Rx.N, s.rxWanted = 1, true
			}
		}
		// The program's reads and writes, beside each other.
		var results [socks][2]int64
		var wg sync.WaitGroup
		for i := range socks {
			for k, write := range []bool{false, true} {
				wg.Go(func() { results[i][k] = SocketIO(write, i, 0, 0) })
			}
		}
		wg.Go(func() { // epoll_wait's answers that do not wait, beside them
			for i := range socks {
				SockReadiness(i)
			}
		})
		wg.Wait()
		for i := range socks {
			if i%2 == 0 {
				errs := 0
				for _, res := range results[i] {
					if res == -int64(unix.ECONNRESET) {
						errs++
					} else {
						assert.Zero(t, res, "round %d socket %d", r, i)
					}
				}
				assert.Equal(t, 1, errs, "round %d socket %d: the error reported once: %v", r, i, results[i])
				assert.Zero(t, Sockets[i].SoError)
			} else {
				assert.Equal(t, [2]int64{0, 0}, results[i], "round %d socket %d", r, i)
				assert.False(t, Sockets[i].rxWanted, "round %d socket %d: the read told the stack", r, i)
				assert.Equal(t, uint32(1), Sockets[i].Dirty)
			}
		}
		assert.Equal(t, int32(socks/2), DirtyCount, "round %d: each read that told the stack counted once", r)
		assert.Equal(t, seq+1, fdtab.Files[stackFD].Seq, "round %d: the stack's descriptor changed once", r)
	}
	fdtab.NotifyFDs.TakeWord(stackFD / 64)
	fdtab.NotifyPending.Store(false)
}

// TestSocketOptionsBeside: a socket's option calls run beside its reads
// and writes and beside each other (the files lock held shared: package
// kernel's fileCalls), each under the socket's lock (setOptionHeld,
// optionValueHeld): a getsockopt of SO_ERROR and a read or write take
// the pending error exactly once between them, and setsockopts of
// different options on one socket lose none of the flags and tell the
// stack once in all (its descriptor's one record). Run with -race (make
// race): without the socket's lock the detector reports the options'
// changes and the error's take.
func TestSocketOptionsBeside(t *testing.T) {
	const stackFD, rounds = 9, 40
	freshTable(t, stackFD)
	Sockets[0] = socket{waiter: noThread, sockFields: sockFields{Typ: abi.SockStream, State: abi.SockConnected, FD: -1}}
	hostRing(&Sockets[0].Rx)
	s := &Sockets[0]
	for r := range rounds {
		s.SoError, s.opts, s.Dirty, DirtyCount = int32(unix.ECONNRESET), 0, 0, 0
		seq := fdtab.Files[stackFD].Seq
		var got [3]int64
		var wg sync.WaitGroup
		wg.Go(func() {
			v, known := optionValueHeld(0, unix.SOL_SOCKET, unix.SO_ERROR)
			assert.True(t, known)
			got[0] = -int64(v)
		})
		wg.Go(func() { got[1] = SocketIO(false, 0, 0, 0) })
		wg.Go(func() { got[2] = SocketIO(true, 0, 0, 0) })
		wg.Go(func() { setOptionHeld(0, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1, 0) })
		wg.Go(func() { setOptionHeld(0, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1, 0) })
		wg.Wait()
		errs := 0
		for _, g := range got {
			if g == -int64(unix.ECONNRESET) {
				errs++
			}
		}
		assert.Equal(t, 1, errs, "round %d: the pending error taken once: %v", r, got)
		assert.Equal(t, uint32(abi.OptNoDelay|abi.OptKeepAlive), s.opts, "round %d: both options set", r)
		assert.Equal(t, int32(1), DirtyCount, "round %d: the stack told once", r)
		assert.Equal(t, seq+1, fdtab.Files[stackFD].Seq, "round %d: the stack's descriptor changed once", r)
	}
	fdtab.NotifyFDs.TakeWord(stackFD / 64)
	fdtab.NotifyPending.Store(false)
}

// TestSetsockoptErrors: setsockopt's errors come in Linux's order, before
// the option is known: the level (ENOPROTOOPT: TCP on a datagram
// socket), the length (EINVAL, 8 bytes for SO_LINGER), the value's
// address (EFAULT), and only then the option (an unknown one with a bad
// address is EFAULT); IPV6_V6ONLY after bind is EINVAL and tells the
// stack nothing.
func TestSetsockoptErrors(t *testing.T) {
	freshTable(t, -1)
	Sockets[0] = socket{waiter: noThread, sockFields: sockFields{Typ: abi.SockDgram, Family: abi.Family6, FD: 3, bound: true}}
	fdtab.Files[3] = fdtab.File{Kind: fdtab.KindSocket, Socket: 0}
	call := func(level, name int, n uintptr) int64 {
		return SysSetsockopt(nil, sched.None, abi.SysArgs{3, uintptr(level), uintptr(name), 0, n})
	}
	assert.Equal(t, -abi.ENOPROTOOPT, call(unix.IPPROTO_TCP, unix.TCP_NODELAY, 4), "TCP on a datagram socket")
	assert.Equal(t, -abi.EINVAL, call(unix.SOL_SOCKET, unix.SO_REUSEADDR, 2), "short")
	assert.Equal(t, -abi.EINVAL, call(unix.SOL_SOCKET, unix.SO_LINGER, 4), "SO_LINGER takes 8")
	assert.Equal(t, -abi.EFAULT, call(unix.SOL_SOCKET, unix.SO_REUSEADDR, 4), "the value's address")
	assert.Equal(t, -abi.EFAULT, call(unix.SOL_SOCKET, 9999, 4), "an unknown option: the address first")
	assert.Equal(t, -abi.EINVAL, setOptionHeld(0, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1, 0), "V6ONLY after bind")
	assert.Equal(t, -abi.ENOPROTOOPT, setOptionHeld(0, unix.SOL_SOCKET, 9999, 1, 0), "an unknown option")
	assert.Zero(t, setOptionHeld(0, unix.SOL_SOCKET, unix.SO_RCVBUF, 1, 0), "accepted, not applied")
	assert.Zero(t, DirtyCount, "none of them told the stack")
	assert.Zero(t, setOptionHeld(0, unix.SOL_SOCKET, unix.SO_LINGER, 1, 5))
	assert.Equal(t, int32(5), Sockets[0].linger)
	assert.Equal(t, int32(1), DirtyCount, "a linger tells the stack")
}
