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

// TestReleaseBeside: the stack's releases of closed sockets
// (NetCtlRelease, which netShared serves under the files lock held
// shared) run beside its moves of the same sockets' data and its reads
// of their events, as the stack's goroutines may make them at once.
// Each release frees its socket once (a second one is ESTALE, as is a
// move after it); a move never works on a freed slot, a read never
// reports one, and in the end every slot is free with its generation
// kept, and no mark or count is left. A socket the program has not
// closed is not released (EINVAL). Run with -race (make race): without
// the socket's lock in the release, or with a free that clears the lock
// word, the mark or the waiter, the detector reports it beside the moves
// and the reads.
func TestReleaseBeside(t *testing.T) {
	const stackFD, socks = 9, 24
	freshTable(t, stackFD)
	var gens [socks]uint32
	for i := range socks {
		require.Equal(t, i, allocSocket(abi.SockStream, abi.Family4, false))
		Sockets[i].State = abi.SockClosed
		gens[i] = Sockets[i].gen
		TellStack(i)
	}
	open := allocSocket(abi.SockStream, abi.Family4, false)
	assert.Equal(t, -abi.EINVAL, stackReq(abi.NetCtlRelease, open, &abi.NetIO{}), "the program has not closed it")

	var stop atomic.Bool
	var beside, releases sync.WaitGroup
	beside.Go(func() { // the stack's moves
		for !stop.Load() {
			for i := range socks {
				io := abi.NetIO{Sock: uint32(i), Gen: gens[i]}
				if r := netShared(abi.NetCtlPullTx, &io); r != 0 {
					assert.Equal(t, -int64(unix.ESTALE), r, "socket %d", i)
				}
			}
		}
	})
	beside.Go(func() { // the stack's reads of the events
		for !stop.Load() {
			for _, ev := range stackRead(maxSockets) {
				assert.Equal(t, uint8(abi.SockStream), ev.Type, "socket %d: an event of a live socket", ev.Sock)
				assert.Equal(t, uint8(abi.SockClosed), ev.State, "socket %d", ev.Sock)
			}
		}
	})
	for half := range 2 {
		releases.Go(func() {
			for i := half; i < socks; i += 2 {
				io := abi.NetIO{Sock: uint32(i), Gen: gens[i]}
				assert.Zero(t, netShared(abi.NetCtlRelease, &io), "socket %d", i)
				assert.Equal(t, -int64(unix.ESTALE), netShared(abi.NetCtlRelease, &io), "socket %d: released once", i)
			}
		})
	}
	releases.Wait()
	stop.Store(true)
	beside.Wait()
	for i := range socks {
		assert.Zero(t, Sockets[i].Typ, "socket %d freed", i)
		assert.Equal(t, gens[i], Sockets[i].gen, "socket %d: its generation kept", i)
		assert.Zero(t, Sockets[i].Dirty, "socket %d", i)
		assert.Zero(t, Sockets[i].held, "socket %d: its lock released", i)
		assert.Equal(t, noThread, Sockets[i].waiter, "socket %d", i)
	}
	assert.Zero(t, DirtyCount, "every mark taken or freed, counted down once")
	assert.Equal(t, uint8(abi.SockOpen), Sockets[open].State)
}

// TestReleaseDirty: a release of a socket whose mark the stack has not
// read drops the mark and its count; with other marks left it records
// /dev/netctl's change again (a read beside may have met the dropped
// mark as its last and answered EAGAIN), with none left it does not.
func TestReleaseDirty(t *testing.T) {
	const stackFD = 9
	freshTable(t, stackFD)
	a, b := allocSocket(abi.SockStream, abi.Family4, false), allocSocket(abi.SockStream, abi.Family4, false)
	Sockets[a].State, Sockets[b].State = abi.SockClosed, abi.SockClosed
	TellStack(a)
	TellStack(b)
	seq := fdtab.Files[stackFD].Seq
	fdtab.NotifyFDs.TakeWord(stackFD / 64)
	require.Zero(t, stackReq(abi.NetCtlRelease, a, &abi.NetIO{}))
	assert.Equal(t, int32(1), DirtyCount)
	assert.Equal(t, seq+1, fdtab.Files[stackFD].Seq, "b's mark is left: the change recorded again")
	assert.True(t, fdtab.NotifyFDs.Has(stackFD))
	fdtab.NotifyFDs.TakeWord(stackFD / 64)
	require.Zero(t, stackReq(abi.NetCtlRelease, b, &abi.NetIO{}))
	assert.Zero(t, DirtyCount)
	assert.Equal(t, seq+1, fdtab.Files[stackFD].Seq, "no mark left: nothing to read")
	assert.False(t, fdtab.NotifyFDs.Has(stackFD))
	assert.Empty(t, stackRead(maxSockets))
}
