package fdcalls

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// freshPipeTables gives the test empty pipe, description, descriptor
// and epoll tables; what was there comes back at the end, after the
// closes' leftovers are ended (vfs.Reclaim).
func freshPipeTables(t *testing.T) {
	resetEpolls(t)
	resetNotify(t)
	pipes, descs, files := vfs.Pipes, vfs.Descs, fdtab.Files
	t.Cleanup(func() {
		vfs.Reclaim(false)
		vfs.Pipes, vfs.Descs, fdtab.Files = pipes, descs, files
	})
	vfs.Pipes, vfs.Descs, fdtab.Files = fs.Pipes{}, [vfs.MaxDescs]vfs.Desc{}, [fdtab.MaxFDs]fdtab.File{}
}

// newPipeFDs makes a pipe and its two descriptors as pipe2 does beside
// other calls (makePipe), but for the copy of their numbers to the
// program.
func newPipeFDs(t require.TestingT) (p int, r, w int) {
	rfd, wfd := makePipe(unix.O_NONBLOCK, true)
	require.GreaterOrEqual(t, rfd, int64(0))
	require.GreaterOrEqual(t, wfd, int64(0))
	rw, _ := fdtab.LoadFlags(int(rfd))
	return int(vfs.DescAt(rw.Desc()).Pipe), int(rfd), int(wfd)
}

// TestClosePipeShared: a pipe end's close beside other calls frees its
// descriptor and its entries in the epoll interest lists, ends its end
// with the last descriptor of its description (not before: a dup still
// holds it), and answers NotFileCall, having changed nothing, for a
// descriptor closed already and for a FIFO's end.
func TestClosePipeShared(t *testing.T) {
	freshPipeTables(t)
	p, r, w := newPipeFDs(t)
	fdtab.Install(20, fdtab.File{Kind: fdtab.KindEpoll, Epoll: 1})
	epolls[1].used = true
	require.GreaterOrEqual(t, addEntry(1, epollEntry{fd: int32(r), events: unix.EPOLLIN, used: true}), 0)
	require.GreaterOrEqual(t, addEntry(1, epollEntry{fd: int32(w), events: unix.EPOLLOUT, used: true}), 0)
	d := fdtab.Files[w].Desc
	vfs.Descs[d].Refs++ // a dup of the write end
	dup := fdtab.AllocDesc(fdtab.KindPipe, unix.O_NONBLOCK, d)

	assert.Zero(t, closeStreamShared(w, -1))
	assert.Nil(t, fdtab.Get(w), "the descriptor goes")
	assert.Less(t, find(1, w), 0, "and its interest list entry")
	assert.GreaterOrEqual(t, find(1, r), 0, "not the other end's")
	readers, writers := vfs.Pipes.Ends(p)
	assert.Equal(t, [2]int32{1, 1}, [2]int32{readers, writers}, "the dup holds the write end")
	assert.Equal(t, NotFileCall, closeStreamShared(w, -1), "closed already: the locked path answers (EBADF)")

	assert.Zero(t, closeStreamShared(dup, -1))
	readers, writers = vfs.Pipes.Ends(p)
	assert.Equal(t, [2]int32{1, 0}, [2]int32{readers, writers}, "the last descriptor ends the write end")
	assert.True(t, fdtab.NotifyFDs.Has(r), "the read end's watchers are told")
	checkEpollIndex(t, 0)

	fifo := vfs.AllocDesc(9, unix.O_RDONLY) // a FIFO's read end: its inode
	vfs.Descs[fifo].Pipe, vfs.Descs[fifo].Reader = int32(p), true
	ffd := fdtab.AllocDesc(fdtab.KindPipe, 0, fifo)
	assert.Equal(t, NotFileCall, closeStreamShared(ffd, -1), "a FIFO's end: the locked path")
	assert.NotNil(t, fdtab.Get(ffd), "which finds it open")
	fdtab.Free(fdtab.Get(ffd))
	vfs.FreeDesc(fifo)
}

// TestPipeLifeBeside: four callers make and close pipes beside each
// other, as pipe2 and close run on other CPUs under the files lock held
// shared, while a fifth adds interest list entries for the descriptors
// they hold and deletes them (epoll_ctl, beside too) and a sixth reads
// and writes (nothing) through whatever those numbers name. No pipe,
// description or descriptor is taken twice: each caller finds its
// pipe's ends as it made and closed them. No entry outlives its
// descriptor, and the hold alone after them frees every pipe and
// description. Run with -race (make race).
func TestPipeLifeBeside(t *testing.T) {
	freshPipeTables(t)
	const epfd, callers, rounds = 40, 4, 60
	fdtab.Install(epfd, fdtab.File{Kind: fdtab.KindEpoll, Epoll: 1})
	epolls[1].used = true
	done := make(chan struct{})
	var watcher sync.WaitGroup
	watcher.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			fd := i % (2 * callers)
			if i%3 == 2 {
				EpollCtl(nil, sched.None, abi.SysArgs{epfd, unix.EPOLL_CTL_DEL, uintptr(fd)})
				continue
			}
			watchPipe(epfd, fd) // an EPOLL_CTL_ADD but for its event's copy from the program
		}
	})
	watcher.Go(func() { // reads and empty writes of whatever the numbers name: no program memory
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			fd, nr := i%(2*callers), uint64(unix.SYS_READ)
			if i%2 == 1 {
				nr = unix.SYS_WRITE
			}
			switch r := StreamCall(nr, fd, &fdtab.Files[fd], 0, uintptr(8*(1-i%2)), true); r {
			case 0, -abi.EAGAIN, -abi.EBADF, NotFileCall:
			default:
				t.Errorf("a stream call on descriptor %d: %d", fd, r)
				return
			}
		}
	})
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for k := range rounds {
				if err := pipeRound(); err != nil {
					t.Errorf("caller %d round %d: %v", c, k, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	watcher.Wait()
	checkEpollIndex(t, 0)
	for fd := range 2 * callers {
		assert.Less(t, find(1, fd), 0, "descriptor %d is closed: no entry of it is left", fd)
	}
	vfs.Reclaim(false)
	for d := range vfs.Descs {
		assert.LessOrEqual(t, vfs.Descs[d].Refs, int32(0), "description %d", d)
	}
	made := 0
	for _, e := vfs.Pipes.New(); e == 0; _, e = vfs.Pipes.New() {
		made++
	}
	assert.Equal(t, fs.MaxPipes, made, "every pipe is free again")
}

// pipeRound makes a pipe as pipe2 does beside other calls (makePipe),
// checks that its write end names it and that it has one end of each,
// closes the write end and checks that the read end alone is left, then
// closes the read end; it returns the first thing that was not so.
func pipeRound() error {
	r, w := makePipe(unix.O_NONBLOCK, true)
	if r < 0 || w < 0 {
		return fmt.Errorf("pipe2: %d, %d", r, w)
	}
	rw, _ := fdtab.LoadFlags(int(r))
	ww, _ := fdtab.LoadFlags(int(w))
	p := vfs.DescAt(rw.Desc()).Pipe
	if wd := vfs.DescAt(ww.Desc()); wd.Pipe != p || wd.Reader {
		return fmt.Errorf("the write end names pipe %d (reader %v), the read end %d", wd.Pipe, wd.Reader, p)
	}
	for _, step := range []struct {
		fd               int64
		readers, writers int32
	}{{-1, 1, 1}, {w, 1, 0}, {r, 0, 0}} {
		if step.fd >= 0 && closeStreamShared(int(step.fd), -1) != 0 {
			return fmt.Errorf("the close of descriptor %d failed", step.fd)
		}
		if readers, writers := vfs.Pipes.Ends(int(p)); readers != step.readers || writers != step.writers {
			return fmt.Errorf("ends %d, %d, want %d, %d", readers, writers, step.readers, step.writers)
		}
	}
	return nil
}

// watchPipe adds an entry for descriptor fd to epoll instance epfd's
// interest list if fd is a pipe end not watched yet, looking at the
// descriptor under the lists' lock, as epollCtl does.
func watchPipe(epfd, fd int) {
	spin.LockWord(&fdtab.EpollHeld)
	if w, _ := fdtab.LoadFlags(fd); w.Kind() == fdtab.KindPipe && find(fdtab.Files[epfd].Epoll, fd) < 0 {
		addEntry(fdtab.Files[epfd].Epoll, epollEntry{fd: int32(fd), events: unix.EPOLLIN, lastSeq: ^uint64(0), used: true})
	}
	spin.UnlockWord(&fdtab.EpollHeld)
}

// TestMakePipeFull: where the pipe table or the descriptors run out,
// pipe2 beside other calls answers fsys.RunAlone (pipes and descriptions
// closed beside others wait for a hold alone, which ends them before the
// call runs again), and alone ENFILE or EMFILE; either way it gives back
// what it made: a read end's descriptor made before the write end's
// failed is closed, and its pipe and descriptions are free after the
// next hold alone.
func TestMakePipeFull(t *testing.T) {
	freshPipeTables(t)
	for {
		if _, e := vfs.Pipes.New(); e != 0 {
			break
		}
	}
	r, w := makePipe(0, true)
	assert.Equal(t, [2]int64{fsys.RunAlone, 0}, [2]int64{r, w}, "no pipe free beside others: alone")
	r, w = makePipe(0, false)
	assert.Equal(t, [2]int64{-abi.ENFILE, 0}, [2]int64{r, w}, "alone")
	vfs.Pipes = fs.Pipes{}

	limit := fdtab.NofileLimit
	t.Cleanup(func() { fdtab.NofileLimit = limit })
	fdtab.NofileLimit = 1 // one descriptor: the read end's
	r, w = makePipe(0, true)
	assert.Equal(t, [2]int64{fsys.RunAlone, 0}, [2]int64{r, w}, "no second descriptor beside others")
	assert.Nil(t, fdtab.Get(0), "the read end's descriptor was closed")
	readers, writers := vfs.Pipes.Ends(0)
	assert.Equal(t, [2]int32{0, 0}, [2]int32{readers, writers}, "both ends ended")
	assert.True(t, vfs.ClosesPending(), "its description waits for the hold alone")
	vfs.Reclaim(false)
	for d := range vfs.Descs {
		require.Zero(t, vfs.Descs[d].Refs, "description %d", d)
	}
	p, e := vfs.Pipes.New()
	assert.Equal(t, [2]int{0, 0}, [2]int{p, int(e)}, "the pipe is free again")
	vfs.Pipes = fs.Pipes{}

	fdtab.NofileLimit = 0
	r, w = makePipe(0, false)
	assert.Equal(t, [2]int64{-abi.EMFILE, 0}, [2]int64{r, w}, "alone")
	p, e = vfs.Pipes.New()
	assert.Equal(t, [2]int{0, 0}, [2]int{p, int(e)}, "the pipe was given back")
	for d := range vfs.Descs {
		require.Zero(t, vfs.Descs[d].Refs, "description %d", d)
	}
}

// TestCloseSocketShared: an Internet socket's close beside other calls
// (closeStreamShared, as StreamCall serves it) frees its descriptor and
// its entries in the epoll interest lists and closes the socket, marked
// for the stack; a descriptor closed already, and a socket with a dup of
// its descriptor, answer NotFileCall, having changed nothing, for the
// locked path; a call that found the socket before the close answers
// EBADF, even once the number is a file's. (socket.CloseFD's other
// cases: kernel/socket's tests.)
func TestCloseSocketShared(t *testing.T) {
	freshPipeTables(t)
	const stackFD = 9
	saved, savedFD, savedCount := socket.Sockets, socket.NetStackFD, socket.DirtyCount
	t.Cleanup(func() { socket.Sockets, socket.NetStackFD, socket.DirtyCount = saved, savedFD, savedCount })
	clear(socket.Sockets[:])
	socket.NetStackFD = stackFD
	fdtab.Install(stackFD, fdtab.File{Kind: fdtab.KindNetCtl})
	fdtab.Install(20, fdtab.File{Kind: fdtab.KindEpoll, Epoll: 1})
	epolls[1].used = true
	newSocket := func() (int, int) {
		fd := socket.SysSocket(nil, sched.None, abi.SysArgs{unix.AF_INET, unix.SOCK_STREAM | unix.SOCK_NONBLOCK})
		require.GreaterOrEqual(t, fd, int64(0))
		return int(fd), fdtab.Files[fd].Socket
	}
	other, _ := newSocket() // slot 0: fd's socket is another slot
	fd, i := newSocket()
	require.NotZero(t, i)
	require.GreaterOrEqual(t, addEntry(1, epollEntry{fd: int32(fd), events: unix.EPOLLIN, used: true}), 0)
	require.GreaterOrEqual(t, addEntry(1, epollEntry{fd: int32(other), events: unix.EPOLLIN, used: true}), 0)
	beside := vfs.ClosesBeside.Load()

	assert.Zero(t, closeStreamShared(fd, -1))
	assert.Nil(t, fdtab.Get(fd), "the descriptor goes")
	assert.Less(t, find(1, fd), 0, "and its interest list entry")
	assert.GreaterOrEqual(t, find(1, other), 0, "not the other socket's")
	s := &socket.Sockets[i]
	assert.Equal(t, uint8(abi.SockClosed), s.State, "closed, for the stack to release")
	assert.Equal(t, int32(-1), s.FD)
	assert.Equal(t, uint32(1), s.Dirty, "marked for the stack")
	assert.Equal(t, beside+1, vfs.ClosesBeside.Load(), "counted as a close beside others")
	assert.Equal(t, NotFileCall, closeStreamShared(fd, -1), "closed already: the locked path answers (EBADF)")
	checkEpollIndex(t, 0)
	// A read beside that loaded fd's word before the close and reads its
	// socket after an open gave the number to a file finds the closed
	// socket (EBADF), not slot 0, another connection.
	require.Equal(t, fd, fdtab.AllocDesc(fdtab.KindFile, 0, 1))
	assert.Equal(t, i, fdtab.Files[fd].Socket)
	assert.Equal(t, -abi.EBADF, socket.SocketIO(false, fdtab.Files[fd].Socket, 0, 0))

	socket.Sockets[fdtab.Files[other].Socket].ExtraFDs = 1 // a dup: the locked path finds which descriptor is left
	assert.Equal(t, NotFileCall, closeStreamShared(other, -1))
	assert.NotNil(t, fdtab.Get(other), "still open")
	assert.GreaterOrEqual(t, find(1, other), 0)
}

// TestStreamCallBlockingSocket: a read or write that StreamCallOn took
// for a non-blocking socket's, whose descriptor is a blocking socket's
// by the time StreamCall loads its word (closed beside and given to an
// accepted socket, or an F_SETFL beside), goes to the locked path, which
// waits, instead of answering EAGAIN.
func TestStreamCallBlockingSocket(t *testing.T) {
	freshPipeTables(t)
	saved := socket.Sockets
	t.Cleanup(func() { socket.Sockets = saved })
	socket.Sockets[3].Typ = abi.SockStream
	fdtab.Install(7, fdtab.File{Kind: fdtab.KindSocket, Socket: 3})
	f := fdtab.Get(7)
	assert.Equal(t, NotFileCall, StreamCall(unix.SYS_READ, 7, f, 0, 0, true))
	assert.Equal(t, NotFileCall, StreamCall(unix.SYS_WRITE, 7, f, 0, 0, true))
}

// TestShutdownBeside: an Internet socket's shutdown served beside other
// calls (StreamCall) sets its flags, and runs beside epoll's looks at
// the socket, which read the flags under the interest lists' lock
// (SockReadiness, as collect and NotifyEpolls call it). Run with -race
// (make race): without that lock in the shutdown the detector reports
// the flags' change beside the looks.
func TestShutdownBeside(t *testing.T) {
	freshPipeTables(t)
	saved, savedFD, savedCount := socket.Sockets, socket.NetStackFD, socket.DirtyCount
	t.Cleanup(func() { socket.Sockets, socket.NetStackFD, socket.DirtyCount = saved, savedFD, savedCount })
	clear(socket.Sockets[:])
	socket.NetStackFD = 9
	fdtab.Install(9, fdtab.File{Kind: fdtab.KindNetCtl})
	fd := socket.SysSocket(nil, sched.None, abi.SysArgs{unix.AF_INET, unix.SOCK_STREAM | unix.SOCK_NONBLOCK})
	require.GreaterOrEqual(t, fd, int64(0))
	i := fdtab.Files[fd].Socket
	socket.Sockets[i].State = abi.SockConnected
	var stop atomic.Bool
	var looks sync.WaitGroup
	looks.Go(func() {
		for !stop.Load() {
			spin.LockWord(&fdtab.EpollHeld)
			socket.SockReadiness(i)
			spin.UnlockWord(&fdtab.EpollHeld)
		}
	})
	for k := range 300 { // again and again, as a shutdown may be repeated
		how := uintptr(k % 3) // SHUT_RD, SHUT_WR, SHUT_RDWR
		assert.Zero(t, StreamCall(unix.SYS_SHUTDOWN, int(fd), fdtab.Get(int(fd)), how, 0, true))
	}
	stop.Store(true)
	looks.Wait()
	assert.Equal(t, uint8(abi.EvShutRd|abi.EvShutWr), socket.Sockets[i].Flags)
	assert.Zero(t, socket.SockReadiness(i)&unix.EPOLLOUT, "shut for writing: epoll no longer reports it writable")
}
