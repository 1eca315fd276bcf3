package socket

import (
	"sync"
	"sync/atomic"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// stackRead reads at most k events as NetCtlRead does (takeEvents),
// into host memory.
func stackRead(k int) []abi.NetEvent {
	evs := make([]abi.NetEvent, k)
	got := takeEvents(uintptr(unsafe.Pointer(&evs[0])), k)
	return evs[:got]
}

// eventSocks is the sockets events name, in order.
func eventSocks(evs []abi.NetEvent) []int {
	var got []int
	for _, ev := range evs {
		got = append(got, int(ev.Sock))
	}
	return got
}

// TestDirtyMarks: TellStack marks a socket once and counts it once, and
// records the stack descriptor's change when the count leaves 0; the
// stack's read reports the marked sockets in slot order, the first and
// the last slot included, at most as many as its buffer holds (the rest
// stay marked and counted), takes the marks and the count down to zero,
// and answers a bind's wait for its acknowledgement once (EvAck); a mark
// after a read that took the count to 0 records the change again;
// freeSocket drops a mark with its count, and leaves the count for a
// socket with none.
func TestDirtyMarks(t *testing.T) {
	const stackFD = 9
	freshTable(t, stackFD)
	require.Equal(t, uintptr(abi.NetEventSize), unsafe.Sizeof(abi.NetEvent{}))
	assert.Empty(t, stackRead(maxSockets))
	seq := fdtab.Files[stackFD].Seq
	for _, i := range []int{maxSockets - 1, 0, 7, 300, 7} {
		TellStack(i)
	}
	assert.Equal(t, int32(4), DirtyCount)
	assert.Equal(t, seq+1, fdtab.Files[stackFD].Seq, "the count's step from 0 records the change once")
	Sockets[7].ackWanted = true
	evs := stackRead(2)
	assert.Equal(t, []int{0, 7}, eventSocks(evs), "as many as the buffer holds")
	assert.NotZero(t, evs[1].Flags&abi.EvAck, "the bind's wait asks for an answer")
	assert.Zero(t, evs[0].Flags&abi.EvAck)
	assert.Equal(t, int32(2), DirtyCount)
	assert.Equal(t, []int{300, maxSockets - 1}, eventSocks(stackRead(maxSockets)))
	assert.Zero(t, DirtyCount)
	assert.Empty(t, stackRead(maxSockets), "every mark taken")
	assert.False(t, Sockets[7].ackWanted, "asked once")

	fdtab.NotifyFDs.TakeWord(stackFD / 64)
	TellStack(7)
	assert.Equal(t, seq+2, fdtab.Files[stackFD].Seq, "a mark after the count went back to 0 records the change again")
	assert.True(t, fdtab.NotifyFDs.Has(stackFD))
	TellStack(300)
	freeSocket(7)
	freeSocket(5) // not marked: the count stays
	assert.Equal(t, int32(1), DirtyCount)
	assert.Equal(t, []int{300}, eventSocks(stackRead(maxSockets)))

	// The walk stops once it has met as many marks as the count held:
	// with the count one short it leaves the last for a later read.
	for _, i := range []int{3, 40, maxSockets - 1} {
		TellStack(i)
	}
	DirtyCount--
	assert.Equal(t, []int{3, 40}, eventSocks(stackRead(maxSockets)))
	assert.Equal(t, uint32(1), Sockets[maxSockets-1].Dirty)
	DirtyCount++
	assert.Equal(t, []int{maxSockets - 1}, eventSocks(stackRead(maxSockets)))
}

// TestNetCtlRead: the read's answers before any event is taken: a
// buffer smaller than one event is EINVAL, nothing dirty is EAGAIN, and
// a buffer that faults (here, below the program's lowest page) is
// EFAULT having taken no mark and left the count.
func TestNetCtlRead(t *testing.T) {
	freshTable(t, 9)
	assert.Equal(t, -abi.EINVAL, NetCtlRead(0x10000, abi.NetEventSize-1))
	assert.Equal(t, -abi.EAGAIN, NetCtlRead(0x10000, abi.NetEventSize))
	TellStack(2)
	TellStack(5)
	assert.Equal(t, -abi.EFAULT, NetCtlRead(0x800, 4*abi.NetEventSize))
	assert.Equal(t, int32(2), DirtyCount)
	assert.Equal(t, []int{2, 5}, eventSocks(stackRead(maxSockets)), "both marks still there")
}

// TestStackReadBeside: the stack's read of the events (takeEvents, two
// readers at once as a program could make) runs beside the program's
// writes of four sockets (Tx.Put, an option's change and TellStack under
// the socket's lock, as SocketIO and setsockopt), as the files lock held
// shared lets it. No change is lost: after the last write, what the
// readers last saw of each socket, or the read after them, is its whole
// transmit ring, and the marks and their count end at zero. Run with
// -race (make race): without the socket's lock in takeEvents the
// detector reports its reads of the ring and the options beside the
// writes.
func TestStackReadBeside(t *testing.T) {
	const stackFD, socks, rounds, record = 9, 4, 200, 64
	freshTable(t, stackFD)
	for i := range socks {
		Sockets[i] = socket{waiter: noThread, sockFields: sockFields{Typ: abi.SockStream, State: abi.SockConnected, FD: -1}}
		hostRing(&Sockets[i].Tx)
	}
	var seen [socks]atomic.Uint32 // the largest TxLen an event reported
	see := func(evs []abi.NetEvent) {
		for _, ev := range evs {
			if !assert.Less(t, int(ev.Sock), socks) {
				continue
			}
			for old := seen[ev.Sock].Load(); ev.TxLen > old && !seen[ev.Sock].CompareAndSwap(old, ev.TxLen); old = seen[ev.Sock].Load() {
			}
		}
	}
	var writers, readers sync.WaitGroup
	var stop atomic.Bool
	for i := range socks {
		s := &Sockets[i]
		writers.Go(func() {
			rec := make([]byte, record)
			for range rounds {
				spin.LockWord(&s.held)
				s.Tx.Put(rec, true)
				s.opts ^= abi.OptNoDelay // a setsockopt's change, under the same lock
				TellStack(i)
				spin.UnlockWord(&s.held)
			}
		})
	}
	for range 2 {
		readers.Go(func() {
			// As the stack: once the writes are over, read until a read
			// takes nothing (EAGAIN), then stop.
			for done := false; ; {
				evs := stackRead(socks)
				see(evs)
				if done && len(evs) == 0 {
					return
				}
				done = stop.Load()
			}
		})
	}
	writers.Wait()
	stop.Store(true)
	readers.Wait()
	for i := range socks {
		assert.Equal(t, uint32(rounds*record), seen[i].Load(), "socket %d: its last write reached the stack", i)
		assert.Zero(t, Sockets[i].Dirty, "socket %d: its mark taken", i)
	}
	assert.Zero(t, DirtyCount, "every mark taken, counted down once")
}

// TestStackMovesBeside: the stack's data moves (netShared, as
// NetCtlSharedIoctl runs them under the files lock held shared) run for
// four datagram sockets and four stream sockets at once, beside the
// program's calls that run beside them, epoll's look (SockReadiness),
// setsockopt (setOptionHeld) and, on a stream socket, a read
// (SocketIO), and beside the stack's own read of the events
// (takeEvents), which its engine runs on another goroutine. Each datagram push stores one empty datagram and tells
// the program once (its descriptor's sequence and epoll record), each
// pull takes one of the empty datagrams the program queued; a stream socket's
// end of stream (IoEOF) is recorded once however many moves carry it.
// Run with -race (make race): without the socket's lock in the moves the
// detector reports them beside the program's read and the stack's read
// of the events, and without the atomic stores of the counts and of
// peerEOF beside epoll's look.
func TestStackMovesBeside(t *testing.T) {
	const socks, rounds, firstFD = 8, 60, 20
	freshTable(t, -1)
	var seq [socks]uint64
	for i := range socks {
		typ := uint8(abi.SockDgram)
		if i >= socks/2 {
			typ = abi.SockStream
		}
		Sockets[i] = socket{waiter: noThread, sockFields: sockFields{Typ: typ, State: abi.SockConnected, FD: int32(firstFD + i)}}
		fdtab.Files[firstFD+i] = fdtab.File{Kind: fdtab.KindSocket, Socket: i}
		hostRing(&Sockets[i].Rx)
		hostRing(&Sockets[i].Tx)
		if typ == abi.SockDgram {
			for range rounds { // the program's sends, queued before
				_, ok := Sockets[i].Tx.startDgram(dgramHeader{})
				require.True(t, ok)
			}
		}
		seq[i] = fdtab.Files[firstFD+i].Seq
	}
	var wg sync.WaitGroup
	var stop atomic.Bool
	for i := range socks {
		stream := Sockets[i].Typ == abi.SockStream
		wg.Go(func() { // the stack
			for range rounds {
				io := abi.NetIO{}
				if stream {
					io.Flags = abi.IoEOF
				}
				assert.Zero(t, stackReq(abi.NetCtlPushRx, i, &io))
				io = abi.NetIO{}
				assert.Zero(t, stackReq(abi.NetCtlPullTx, i, &io))
			}
		})
		wg.Go(func() { // the program
			for k := range rounds {
				setOptionHeld(i, unix.SOL_SOCKET, unix.SO_KEEPALIVE, uint32(k&1), 0) // marks it for the stack
				if stream {
					SocketIO(false, i, 0, 0) // an empty read: it reads the ring's count and peerEOF under the socket's lock
				}
			}
		})
	}
	var looks sync.WaitGroup
	looks.Go(func() { // epoll's look, without the sockets' locks
		for !stop.Load() {
			for i := range socks {
				SockReadiness(i)
			}
		}
	})
	looks.Go(func() { // the stack's read of the events, which reads the rings' counts under the sockets' locks
		for !stop.Load() {
			stackRead(socks)
		}
	})
	wg.Wait()
	stop.Store(true)
	looks.Wait()
	for i := range socks {
		s, fd := &Sockets[i], firstFD+i
		if s.Typ == abi.SockDgram {
			assert.Equal(t, uint32(rounds*dgramHeaderSize), s.Rx.N, "socket %d: every push stored", i)
			assert.Zero(t, s.Tx.N, "socket %d: every queued datagram pulled", i)
			assert.Equal(t, seq[i]+rounds, fdtab.Files[fd].Seq, "socket %d: each push told the program once (a pull of an empty datagram frees no room to speak of)", i)
		} else {
			assert.Equal(t, uint32(1), s.peerEOF, "socket %d", i)
			assert.Equal(t, seq[i]+1, fdtab.Files[fd].Seq, "socket %d: the end of stream told the program once", i)
			assert.NotZero(t, SockReadiness(i)&unix.EPOLLRDHUP)
		}
		assert.True(t, fdtab.NotifyFDs.Has(fd), "socket %d: its change recorded for epoll", i)
	}
	assert.False(t, ProgramWakePending.Load(), "no thread waits: no wake recorded")
}

// TestLiveSocket: the stack's requests name a socket by slot and
// generation; a slot out of range, a free one and one reused since
// (another generation) are stale (ESTALE), a live one is its slot.
func TestLiveSocket(t *testing.T) {
	freshTable(t, -1)
	i := allocSocket(abi.SockStream, abi.Family4, false)
	require.GreaterOrEqual(t, i, 0)
	gen := Sockets[i].gen
	assert.Equal(t, i, liveSocket(&abi.NetIO{Sock: uint32(i), Gen: gen}))
	assert.Equal(t, -1, liveSocket(&abi.NetIO{Sock: maxSockets, Gen: gen}), "out of range")
	assert.Equal(t, -1, liveSocket(&abi.NetIO{Sock: 1 << 31, Gen: gen}), "far out of range")
	assert.Equal(t, -1, liveSocket(&abi.NetIO{Sock: uint32(i) + 1, Gen: 0}), "a free slot")
	freeSocket(i)
	assert.Equal(t, -1, liveSocket(&abi.NetIO{Sock: uint32(i), Gen: gen}), "freed")
	j := allocSocket(abi.SockStream, abi.Family4, false)
	require.Equal(t, i, j, "the lowest free slot again")
	assert.Equal(t, -1, liveSocket(&abi.NetIO{Sock: uint32(i), Gen: gen}), "reused: another generation")
	assert.Equal(t, j, liveSocket(&abi.NetIO{Sock: uint32(j), Gen: Sockets[j].gen}))
}

// TestSocketSize: a socket stays 760 bytes (the dirty mark and the
// socket's lock live in padding), so the table adds nothing to the
// image's memory, which is at hello's 16 MiB floor
// (qemu's TestMemoryMinimum).
func TestSocketSize(t *testing.T) {
	assert.Equal(t, uintptr(760), unsafe.Sizeof(socket{}))
}
