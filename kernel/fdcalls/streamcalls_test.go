package fdcalls

import (
	"sync"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestStreamCallOn: the files lock alone serves reads and writes of
// eventfds, of pipe ends and of stream Internet sockets opened
// O_NONBLOCK, the read of an MSI's interrupt descriptor (a blocking one
// too: with nothing counted StreamCall leaves it to the locked path; a
// platform device's line is devices.IRQShared's to refuse: package
// devices' tests), the network stack's read of /dev/netctl and its data,
// release, new-connection and connect-outcome requests (the last may
// still leave it to the locked path: socket.netShared), and the close of a pipe end or an Internet socket
// (which may still leave it to the locked path: closeStreamShared) and
// the shutdown of an Internet socket, and nothing else: a blocking descriptor may have to wait
// (the scheduler's work), a datagram socket may deliver to a local
// receiver at once, the stack's acknowledgement answers a waiting bind or
// listen, and every other kind and call goes to the locked path.
func TestStreamCallOn(t *testing.T) {
	saved := socket.Sockets
	t.Cleanup(func() { socket.Sockets = saved })
	socket.Sockets[3].Typ = abi.SockStream
	socket.Sockets[4].Typ = abi.SockDgram
	socket.Sockets[5].Typ = abi.SockRaw
	cases := []struct {
		name string
		nr   uint64
		f    fdtab.File
		a1   uintptr
		want bool
	}{
		{"stream socket read", unix.SYS_READ, fdtab.File{Kind: fdtab.KindSocket, Socket: 3, Nonblock: true}, 0, true},
		{"stream socket write", unix.SYS_WRITE, fdtab.File{Kind: fdtab.KindSocket, Socket: 3, Nonblock: true}, 0, true},
		{"blocking stream socket", unix.SYS_READ, fdtab.File{Kind: fdtab.KindSocket, Socket: 3}, 0, false},
		{"datagram socket write", unix.SYS_WRITE, fdtab.File{Kind: fdtab.KindSocket, Socket: 4, Nonblock: true}, 0, true},
		{"datagram socket read", unix.SYS_READ, fdtab.File{Kind: fdtab.KindSocket, Socket: 4, Nonblock: true}, 0, true},
		{"blocking datagram socket", unix.SYS_READ, fdtab.File{Kind: fdtab.KindSocket, Socket: 4}, 0, false},
		{"raw socket", unix.SYS_WRITE, fdtab.File{Kind: fdtab.KindSocket, Socket: 5, Nonblock: true}, 0, false},
		{"socket ioctl", unix.SYS_IOCTL, fdtab.File{Kind: fdtab.KindSocket, Socket: 3, Nonblock: true}, unix.SIOCINQ, false},
		{"netctl read", unix.SYS_READ, fdtab.File{Kind: fdtab.KindNetCtl}, 0, true},
		{"netctl write", unix.SYS_WRITE, fdtab.File{Kind: fdtab.KindNetCtl}, 0, false},
		{"netctl pull", unix.SYS_IOCTL, fdtab.File{Kind: fdtab.KindNetCtl}, abi.NetCtlPullTx, true},
		{"netctl push", unix.SYS_IOCTL, fdtab.File{Kind: fdtab.KindNetCtl}, abi.NetCtlPushRx, true},
		{"netctl release", unix.SYS_IOCTL, fdtab.File{Kind: fdtab.KindNetCtl}, abi.NetCtlRelease, true},
		{"netctl set state", unix.SYS_IOCTL, fdtab.File{Kind: fdtab.KindNetCtl}, abi.NetCtlSetState, true},
		{"netctl ack", unix.SYS_IOCTL, fdtab.File{Kind: fdtab.KindNetCtl}, abi.NetCtlAck, false},
		{"netctl accepted", unix.SYS_IOCTL, fdtab.File{Kind: fdtab.KindNetCtl}, abi.NetCtlAccepted, true},
		{"unix socket", unix.SYS_READ, fdtab.File{Kind: fdtab.KindUnix, Nonblock: true}, 0, false},
		{"irq read", unix.SYS_READ, fdtab.File{Kind: fdtab.KindIRQ, Vector: 0x41, Nonblock: true}, 0, true},
		{"blocking irq read", unix.SYS_READ, fdtab.File{Kind: fdtab.KindIRQ, Vector: 0x41}, 0, true},
		{"irq write", unix.SYS_WRITE, fdtab.File{Kind: fdtab.KindIRQ, Vector: 0x41, Nonblock: true}, 0, false},
		{"irq ioctl", unix.SYS_IOCTL, fdtab.File{Kind: fdtab.KindIRQ, Vector: 0x41, Nonblock: true}, 0x47490001, false},
		{"irq close", unix.SYS_CLOSE, fdtab.File{Kind: fdtab.KindIRQ, Vector: 0x41, Nonblock: true}, 0, false},
		{"eventfd read", unix.SYS_READ, fdtab.File{Kind: fdtab.KindEventfd}, 0, true},
		{"eventfd write", unix.SYS_WRITE, fdtab.File{Kind: fdtab.KindEventfd}, 0, true},
		{"non-blocking pipe read", unix.SYS_READ, fdtab.File{Kind: fdtab.KindPipe, Nonblock: true}, 0, true},
		{"non-blocking pipe write", unix.SYS_WRITE, fdtab.File{Kind: fdtab.KindPipe, Nonblock: true}, 0, true},
		{"blocking pipe read", unix.SYS_READ, fdtab.File{Kind: fdtab.KindPipe}, 0, false},
		{"blocking pipe write", unix.SYS_WRITE, fdtab.File{Kind: fdtab.KindPipe}, 0, false},
		{"pipe pread", unix.SYS_PREAD64, fdtab.File{Kind: fdtab.KindPipe, Nonblock: true}, 0, false},
		{"pipe close", unix.SYS_CLOSE, fdtab.File{Kind: fdtab.KindPipe, Nonblock: true}, 0, true},
		{"blocking pipe close", unix.SYS_CLOSE, fdtab.File{Kind: fdtab.KindPipe}, 0, true},
		{"eventfd close", unix.SYS_CLOSE, fdtab.File{Kind: fdtab.KindEventfd}, 0, false},
		{"socket close", unix.SYS_CLOSE, fdtab.File{Kind: fdtab.KindSocket, Socket: 3, Nonblock: true}, 0, true},
		{"blocking socket close", unix.SYS_CLOSE, fdtab.File{Kind: fdtab.KindSocket, Socket: 3}, 0, true},
		{"unix socket close", unix.SYS_CLOSE, fdtab.File{Kind: fdtab.KindUnix}, 0, false},
		{"socket shutdown", unix.SYS_SHUTDOWN, fdtab.File{Kind: fdtab.KindSocket, Socket: 3}, unix.SHUT_WR, true},
		{"unix socket shutdown", unix.SYS_SHUTDOWN, fdtab.File{Kind: fdtab.KindUnix}, unix.SHUT_WR, false},
		{"netlink socket shutdown", unix.SYS_SHUTDOWN, fdtab.File{Kind: fdtab.KindNetlink}, unix.SHUT_WR, false},
		{"pipe ioctl", unix.SYS_IOCTL, fdtab.File{Kind: fdtab.KindPipe, Nonblock: true}, unix.SIOCINQ, false},
		{"eventfd fstat", unix.SYS_FSTAT, fdtab.File{Kind: fdtab.KindEventfd}, 0, false},
		{"console write", unix.SYS_WRITE, fdtab.File{Kind: fdtab.KindConsole, Nonblock: true}, 0, false},
		{"file ioctl", unix.SYS_IOCTL, fdtab.File{Kind: fdtab.KindFile}, 0, false},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, StreamCallOn(c.nr, &c.f, c.a1), c.name)
	}
}

// TestEventfdCounter: a read takes the whole count and resets it, EAGAIN
// when there is none; a write adds, records the descriptor for epoll and
// refuses the value 2^64-1 and an overflow, as Linux's eventfd does;
// buffers under 8 bytes are EINVAL. (The user-memory half runs in the
// boot tests: on the host the program's memory is not mapped, so the
// calls that reach it are only checked up to their argument checks.)
func TestEventfdCounter(t *testing.T) {
	resetNotify(t)
	f := fdtab.File{Kind: fdtab.KindEventfd}
	assert.Equal(t, int64(-abi.EINVAL), eventfdRead(&f, 0, 4))
	assert.Equal(t, int64(-abi.EINVAL), eventfdWrite(5, &f, 0, 7))
	assert.Equal(t, int64(-abi.EAGAIN), eventfdRead(&f, 0, 8), "nothing counted")
	assert.False(t, fdtab.NotifyPending.Load(), "a refused call records nothing")
}

// TestEventfdSemaphoreFlag: eventfd2 keeps EFD_SEMAPHORE (File.Stream
// 1), whose reads take 1 at a time (eventfdRead; the boot test
// TestFileLockBoot reads one against the host's), and the counter
// starts at initval.
func TestEventfdSemaphoreFlag(t *testing.T) {
	saved := fdtab.Files
	t.Cleanup(func() { fdtab.Files = saved })
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	sem := SysEventfd(nil, sched.None, abi.SysArgs{3, unix.EFD_SEMAPHORE | unix.EFD_NONBLOCK})
	plain := SysEventfd(nil, sched.None, abi.SysArgs{5, unix.EFD_NONBLOCK})
	assert.Equal(t, uint8(1), fdtab.Files[sem].Stream)
	assert.Equal(t, uint64(3), fdtab.Files[sem].Count)
	assert.Zero(t, fdtab.Files[plain].Stream)
	assert.Equal(t, uint64(5), fdtab.Files[plain].Count)
	assert.Equal(t, int64(-abi.EINVAL), SysEventfd(nil, sched.None, abi.SysArgs{0, 0x1234}))
}

// TestStreamCallIRQ: a read of an MSI's interrupt descriptor under the
// files lock alone answers as the locked path's IRQRead does where it
// need not wait (EINVAL for a buffer under 8 bytes, EAGAIN for a
// non-blocking one with nothing counted), and leaves a blocking one with
// nothing counted to the locked path (NotFileCall), which waits. (A
// count is read with a store to the program's memory: the boot test,
// qemu's TestDeviceAccess.)
func TestStreamCallIRQ(t *testing.T) {
	nb := fdtab.Alloc(fdtab.KindIRQ, unix.O_NONBLOCK)
	bl := fdtab.Alloc(fdtab.KindIRQ, 0)
	require.True(t, nb >= 0 && bl >= 0)
	t.Cleanup(func() {
		fdtab.Free(fdtab.Get(nb))
		fdtab.Free(fdtab.Get(bl))
	})
	for _, fd := range []int{nb, bl} {
		f := fdtab.Get(fd)
		f.Vector = 0x41
		require.True(t, StreamCallOn(unix.SYS_READ, f, 0))
		assert.Equal(t, int64(-abi.EINVAL), StreamCall(unix.SYS_READ, fd, f, 0, 4, true), "a buffer under 8 bytes")
	}
	assert.Equal(t, int64(-abi.EAGAIN), StreamCall(unix.SYS_READ, nb, fdtab.Get(nb), 0, 8, true), "non-blocking, nothing counted")
	assert.Equal(t, NotFileCall, StreamCall(unix.SYS_READ, bl, fdtab.Get(bl), 0, 8, true), "blocking, nothing counted: the locked path waits")
	assert.Zero(t, fdtab.Get(nb).Seq+fdtab.Get(bl).Seq, "nothing taken")
}

// resetNotify clears the descriptors' records for a test and after it.
func resetNotify(t *testing.T) {
	clearRecords := func() {
		fdtab.NotifyFDs.Clear()
		fdtab.NotifyPending.Store(false)
	}
	clearRecords()
	t.Cleanup(clearRecords)
}

// TestRecordsNeedKernel: after a call under the files lock alone, the
// kernel lock's path is needed exactly when a record would wake a
// thread: a changed descriptor that an epoll instance with a waiter
// watches. Records that would wake nobody are dropped, so that the kernel
// lock's paths do not take the files lock for them; those that would are
// kept for that path.
func TestRecordsNeedKernel(t *testing.T) {
	resetEpolls(t)
	resetNotify(t)
	assert.False(t, RecordsNeedKernel(&percpu.CPUs[0]), "nothing recorded")

	epolls[2].used = true
	epollWatch[70] = 1 << 2 // instance 2 watches descriptor 70, nobody waits in it
	fdtab.Notify(70)
	fdtab.Notify(9) // watched by nobody
	assert.False(t, RecordsNeedKernel(&percpu.CPUs[0]), "no thread to wake")
	assert.False(t, fdtab.NotifyPending.Load(), "the records that wake nobody are dropped")
	assert.True(t, fdtab.NotifyFDs.Empty())

	epolls[2].waiter = sched.TID(4)
	fdtab.Notify(9)
	assert.False(t, RecordsNeedKernel(&percpu.CPUs[0]), "the waiter does not watch descriptor 9")
	fdtab.Notify(9)
	fdtab.Notify(70)
	fdtab.Notify(100)
	assert.True(t, RecordsNeedKernel(&percpu.CPUs[0]), "descriptor 70's change wakes instance 2's waiter")
	assert.True(t, fdtab.NotifyPending.Load(), "kept for the kernel lock's path")
	assert.False(t, fdtab.NotifyFDs.Has(9), "dropped: it wakes nobody (its word came first)")
	assert.True(t, fdtab.NotifyFDs.Has(70))
	assert.True(t, fdtab.NotifyFDs.Has(100), "70's word is kept whole")

	epolls[2].used = false // a closed instance wakes nobody, whatever its stale waiter
	assert.False(t, RecordsNeedKernel(&percpu.CPUs[0]))
}

// TestRecordsNeedKernelBeside: calls under the files lock held shared
// record and look beside each other: a watched descriptor's record, once
// made, is never dropped (whoever takes it puts it back, with the flag
// set), whatever the others drop meanwhile. Run with -race.
func TestRecordsNeedKernelBeside(t *testing.T) {
	resetEpolls(t)
	resetNotify(t)
	epolls[1].used, epolls[1].waiter = true, sched.TID(3)
	epollWatch[130] = 1 << 1
	const callers, each = 4, 2000
	var wg sync.WaitGroup
	woke := make([]int, callers)
	for c := range callers { // a CPU each: their counts and flags are their own
		saved := percpu.CPUs[c].ID
		t.Cleanup(func() { percpu.CPUs[c].ID = saved })
		percpu.CPUs[c].ID = c
	}
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range each {
				fd := 64*c + k%64 // unwatched records, in the watched one's word too
				if fd == 130 {
					fd = 131
				}
				fdtab.Notify(fd)
				if c == 0 && k == each/2 {
					fdtab.Notify(130)
				}
				if RecordsNeedKernel(&percpu.CPUs[c]) {
					woke[c]++
				}
			}
		}()
	}
	wg.Wait()
	assert.True(t, fdtab.NotifyFDs.Has(130), "the watched descriptor's record stays for the kernel lock's path")
	assert.True(t, fdtab.NotifyPending.Load(), "with the flag that sends the path to it")
	assert.True(t, RecordsNeedKernel(&percpu.CPUs[0]))
	assert.Positive(t, woke[0], "the caller that recorded it was told, or another was after it")
}

// TestRecordsNeedKernelPipe: a pipe whose waiters must be woken always
// needs the kernel lock's path, and only a pipe that a thread started
// waiting on records one (vfs.PipeChanged).
func TestRecordsNeedKernelPipe(t *testing.T) {
	resetEpolls(t)
	resetNotify(t)
	t.Cleanup(func() { vfs.PipeWakePending.Store(false) })
	vfs.PipeChanged(3)
	assert.False(t, vfs.PipeWakePending.Load(), "nobody ever waited on pipe 3")
	assert.False(t, RecordsNeedKernel(&percpu.CPUs[0]))
	vfs.PipeWakePending.Store(true) // what PipeChanged records for a waited pipe (vfs's own test)
	assert.True(t, RecordsNeedKernel(&percpu.CPUs[0]))
}
