package socket

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// quietMoment lets the files lock pass a moment with no shared holder,
// as the last of a trap's shared holds does when it leaves.
func quietMoment(t *testing.T) {
	t.Helper()
	ok, _ := spin.FilesLock.TryRLock()
	require.True(t, ok)
	require.True(t, spin.FilesLock.RUnlock(), "no other shared holder in the test")
}

// TestAllocSocketBeside: beside other calls a slot that has held no
// socket is taken, a slot freed since the files lock's last quiet moment
// is not (a call beside may still hold its old socket) until the next
// one, and alone any free slot is.
func TestAllocSocketBeside(t *testing.T) {
	freshTable(t, 9)
	quietMoment(t)
	a := allocSocket(abi.SockStream, abi.Family4, true)
	require.Equal(t, 0, a, "a slot that never held a socket")
	spin.LockWord(&Sockets[a].held)
	freeSocket(a) // beside, as the stack's release: under the socket's lock
	spin.UnlockWord(&Sockets[a].held)
	b := allocSocket(abi.SockStream, abi.Family4, true)
	assert.Equal(t, 1, b, "the slot freed since the last quiet moment is passed over")
	assert.Equal(t, uint8(0), Sockets[a].Typ, "and stays free")
	quietMoment(t)
	assert.Equal(t, a, allocSocket(abi.SockDgram, abi.Family6, true), "after the next quiet moment it is taken")
	s := &Sockets[a]
	assert.Equal(t, uint32(2), s.gen, "the slot's second socket")
	assert.Equal(t, []uint8{abi.SockDgram, abi.Family6, abi.SockOpen}, []uint8{s.Typ, s.Family, s.State})
	assert.Equal(t, int32(-1), s.FD)

	freeSocket(b)
	assert.Equal(t, 2, allocSocket(abi.SockStream, abi.Family4, true), "beside: not b")
	assert.Equal(t, b, allocSocket(abi.SockStream, abi.Family4, false), "alone: any free slot")
	for i := range Sockets {
		Sockets[i].Typ = abi.SockStream
	}
	assert.Equal(t, -1, allocSocket(abi.SockStream, abi.Family4, true), "none free")
}

// TestNewSocket: socket(2) of an Internet socket makes the socket and
// its descriptor and tells the stack, beside other calls or alone; where
// no slot or no descriptor is free beside others it answers RunAlone
// having kept nothing (the slot it took is free again), and alone ENFILE
// or EMFILE; a raw socket keeps its protocol; the errors before the
// table's come first, in Linux's order, and with no stack it is
// EAFNOSUPPORT.
func TestNewSocket(t *testing.T) {
	const stackFD = 9
	freshTable(t, stackFD)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	savedLimit := fdtab.NofileLimit
	t.Cleanup(func() { fdtab.NofileLimit = savedLimit })
	quietMoment(t)
	fd := NewSocket(abi.SysArgs{unix.AF_INET6, unix.SOCK_STREAM | unix.SOCK_NONBLOCK, 0}, true)
	require.GreaterOrEqual(t, fd, int64(0))
	i := fdtab.Files[fd].Socket
	s := &Sockets[i]
	assert.Equal(t, int32(fd), s.FD)
	assert.Equal(t, []uint8{abi.SockStream, abi.Family6}, []uint8{s.Typ, s.Family})
	assert.Equal(t, uint32(1), s.Dirty, "the stack is told")
	w, _ := fdtab.LoadFlags(int(fd))
	assert.NotZero(t, w&fdtab.FlagNonblock, "SOCK_NONBLOCK")

	raw := NewSocket(abi.SysArgs{unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_ICMP}, false)
	require.GreaterOrEqual(t, raw, int64(0))
	assert.Equal(t, uint8(unix.IPPROTO_ICMP), Sockets[fdtab.Files[raw].Socket].proto)

	fdtab.NofileLimit = uint64(raw) + 1 // every descriptor the limit allows is taken
	next := 2                           // the slot the next socket takes
	assert.Equal(t, int64(vfs.RunAlone), NewSocket(abi.SysArgs{unix.AF_INET, unix.SOCK_DGRAM, 0}, true), "no descriptor beside others")
	assert.Equal(t, uint8(0), Sockets[next].Typ, "the slot it took is free again")
	assert.Equal(t, -abi.EMFILE, NewSocket(abi.SysArgs{unix.AF_INET, unix.SOCK_DGRAM, 0}, false), "alone")
	assert.Equal(t, uint8(0), Sockets[next].Typ)
	fdtab.NofileLimit = savedLimit

	for k := range Sockets {
		if Sockets[k].Typ == 0 {
			Sockets[k].Typ = abi.SockDgram
		}
	}
	assert.Equal(t, int64(vfs.RunAlone), NewSocket(abi.SysArgs{unix.AF_INET, unix.SOCK_STREAM, 0}, true), "no slot beside others")
	assert.Equal(t, -abi.ENFILE, NewSocket(abi.SysArgs{unix.AF_INET, unix.SOCK_STREAM, 0}, false), "alone")
	assert.Equal(t, -abi.EAFNOSUPPORT, NewSocket(abi.SysArgs{unix.AF_APPLETALK, unix.SOCK_STREAM, 0}, true))
	assert.Equal(t, -abi.EINVAL, NewSocket(abi.SysArgs{unix.AF_INET, 99, 0}, true))
	assert.Equal(t, -abi.EPROTONOSUPPORT, NewSocket(abi.SysArgs{unix.AF_INET, unix.SOCK_STREAM, unix.IPPROTO_UDP}, true))
	NetStackFD = -1
	assert.Equal(t, -abi.EINVAL, NewSocket(abi.SysArgs{unix.AF_INET, 99, 0}, false), "a bad type before the missing stack")
	assert.Equal(t, -abi.EAFNOSUPPORT, NewSocket(abi.SysArgs{unix.AF_INET, unix.SOCK_STREAM, 0}, false), "no stack")
}

// TestNewSocketBeside (for the race detector): sockets made on two CPUs
// at once, beside the stack's releases of closed sockets, each take a
// slot and a descriptor of their own, whole; a slot released beside is
// not reused while the releases' shared holds last.
func TestNewSocketBeside(t *testing.T) {
	freshTable(t, 9)
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	quietMoment(t)
	const closed, perSide = 16, 24
	for k := range closed { // closed sockets, their descriptors gone, waiting for the stack's release
		require.Equal(t, k, allocSocket(abi.SockStream, abi.Family4, false))
		Sockets[k].State = abi.SockClosed
	}
	ok, _ := spin.FilesLock.TryRLock() // the shared holds of the calls below
	require.True(t, ok)
	var fds [2][perSide]int64
	var wg sync.WaitGroup
	for side := range 2 {
		wg.Go(func() {
			for k := range perSide {
				fds[side][k] = NewSocket(abi.SysArgs{unix.AF_INET, unix.SOCK_STREAM | unix.SOCK_NONBLOCK, 0}, true)
			}
		})
	}
	wg.Go(func() {
		for k := range closed {
			spin.LockWord(&Sockets[k].held)
			freeSocket(k)
			spin.UnlockWord(&Sockets[k].held)
		}
	})
	wg.Wait()
	seen := map[int]bool{}
	for side := range 2 {
		for _, fd := range fds[side] {
			require.GreaterOrEqual(t, fd, int64(0))
			i := fdtab.Files[fd].Socket
			assert.GreaterOrEqual(t, i, closed, "a slot released beside is not reused during the hold")
			assert.False(t, seen[i], "slot %d made twice", i)
			seen[i] = true
			assert.Equal(t, int32(fd), Sockets[i].FD)
		}
	}
	require.True(t, spin.FilesLock.RUnlock())
	assert.Equal(t, 0, allocSocket(abi.SockStream, abi.Family4, true), "after the quiet moment the released slots are taken")
}

// TestStackReqBesideReuse (for the race detector): the stack's requests
// naming a released socket (slot and generation) answer ESTALE while
// socket calls beside reuse its slot over and over: they never move the
// data of, nor release, a later socket of the slot (netShared compares
// the generation under the socket's lock).
func TestStackReqBesideReuse(t *testing.T) {
	freshTable(t, 9)
	i := allocSocket(abi.SockStream, abi.Family4, false)
	old := Sockets[i].gen
	Sockets[i].State = abi.SockClosed
	require.Equal(t, int64(0), netShared(abi.NetCtlRelease, &abi.NetIO{Sock: uint32(i), Gen: old}))
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() { // the stack's requests for the released socket
		for !stop.Load() {
			for _, req := range []uint{abi.NetCtlPullTx, abi.NetCtlRelease} {
				r := netShared(req, &abi.NetIO{Sock: uint32(i), Gen: old})
				assert.Equal(t, -int64(unix.ESTALE), r, "request %d", req)
			}
		}
	})
	for range 200 { // socket calls beside, each after a quiet moment, and the new sockets' releases
		quietMoment(t)
		j := allocSocket(abi.SockStream, abi.Family4, true)
		require.Equal(t, i, j)
		s := &Sockets[j]
		spin.LockWord(&s.held)
		s.State = abi.SockClosed
		spin.UnlockWord(&s.held)
		require.Equal(t, int64(0), netShared(abi.NetCtlRelease, &abi.NetIO{Sock: uint32(j), Gen: s.gen}), "the new socket's own release")
	}
	stop.Store(true)
	wg.Wait()
}

// TestSocketIOOtherKind: a read or write that reaches a raw socket
// (its descriptor found by a second look after a close and a socket(2)
// beside gave the number to one) answers EBADF, as for the closed socket
// it looked for, and leaves the socket as it was; a datagram socket's
// are served (TestDgramSendNow, TestRecvfromBeside).
func TestSocketIOOtherKind(t *testing.T) {
	freshTable(t, 9)
	i := allocSocket(abi.SockRaw, abi.Family4, false)
	Sockets[i].State = abi.SockConnected
	assert.Equal(t, -abi.EBADF, SocketIO(false, i, 0, 0), "read")
	assert.Equal(t, -abi.EBADF, SocketIO(true, i, 0, 0), "write")
	assert.Zero(t, Sockets[i].Dirty, "unchanged")
}
