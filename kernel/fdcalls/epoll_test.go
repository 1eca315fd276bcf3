package fdcalls

import (
	"math/rand/v2"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// resetEpolls clears the epoll tables for a test and again after it.
func resetEpolls(t *testing.T) {
	clear := func() {
		for i := range epolls {
			epolls[i] = epollInstance{}
			epolls[i].waiter = sched.None
		}
		epollWatch = [len(epollWatch)]uint8{}
	}
	clear()
	t.Cleanup(clear)
}

// checkEpollIndex compares the bookkeeping (hi, epollWatch, find) with a
// full scan of every interest list, as the kernel did before it kept them.
func checkEpollIndex(t *testing.T, step int) {
	for i := range epolls {
		ep := &epolls[i]
		last := -1
		for k := range ep.entries {
			if ep.entries[k].used {
				last = k
			}
		}
		require.Equal(t, last+1, ep.hi, "step %d: instance %d's hi", step, i)
	}
	for fd := range epollWatch {
		var want uint8
		for i := range epolls {
			if !epolls[i].used {
				continue
			}
			for k := range epolls[i].entries {
				if e := epolls[i].entries[k]; e.used && int(e.fd) == fd {
					want |= 1 << i
				}
			}
		}
		require.Equal(t, want, epollWatch[fd], "step %d: watchers of fd %d", step, fd)
	}
}

// TestEpollIndex drives the interest lists with random adds, deletes,
// descriptor closes and instance closes and checks after each step that
// the bounds (hi) and the per-descriptor watcher bits (epollWatch) say
// what a scan of all entries says, that find finds exactly the entries
// a scan finds, and that an add takes the first free slot, as before.
func TestEpollIndex(t *testing.T) {
	resetEpolls(t)
	rng := rand.New(rand.NewPCG(1, 2))
	const fds = 40
	for i := 0; i < 3; i++ {
		epolls[i].used = true
	}
	for step := 0; step < 1500; step++ {
		i, fd := rng.IntN(3), rng.IntN(fds)
		switch op := rng.IntN(10); {
		case op < 5:
			if find(i, fd) >= 0 {
				continue
			}
			free := 0
			for epolls[i].entries[free].used {
				free++
			}
			assert.Equal(t, free, addEntry(i, epollEntry{fd: int32(fd), used: true}), "step %d: first free slot", step)
		case op < 8:
			if k := find(i, fd); k >= 0 {
				removeEntry(i, k)
			}
		case op < 9:
			epollForgetFD(fd)
			for j := range epolls {
				assert.Equal(t, -1, find(j, fd), "step %d: fd %d forgotten", step, fd)
			}
		default:
			releaseEpoll(i)
			epolls[i] = epollInstance{}
			epolls[i].used, epolls[i].waiter = true, sched.None
		}
		checkEpollIndex(t, step)
		for j := 0; j < 3; j++ {
			for f := 0; f < fds; f++ {
				want := -1
				for k := range epolls[j].entries {
					if e := epolls[j].entries[k]; e.used && int(e.fd) == f {
						want = k
					}
				}
				require.Equal(t, want, find(j, f), "step %d: find(%d, %d)", step, j, f)
			}
		}
	}
}

// TestEpollListFull: an add to a full interest list fails and changes
// nothing.
func TestEpollListFull(t *testing.T) {
	resetEpolls(t)
	epolls[0].used = true
	for fd := 0; fd < maxEpollEntries; fd++ {
		require.Equal(t, fd, addEntry(0, epollEntry{fd: int32(fd), used: true}))
	}
	removeEntry(0, 5)
	assert.Equal(t, 5, addEntry(0, epollEntry{fd: 5, used: true}), "the hole is refilled")
	assert.Equal(t, -1, addEntry(0, epollEntry{fd: 7, used: true}))
	assert.Equal(t, maxEpollEntries, epolls[0].hi)
	removeEntry(0, maxEpollEntries-1)
	assert.Equal(t, maxEpollEntries-1, epolls[0].hi)
}

// TestEpollWaitNowArguments: under the files lock alone, epoll_wait
// answers a bad descriptor (EBADF), a descriptor that is no epoll
// instance and a maximum of zero or less (EINVAL) itself, as the locked
// path would, before it looks at the buffer. (The buffer and the
// readiness need the program's memory: the boot tests run them.)
func TestEpollWaitNowArguments(t *testing.T) {
	resetEpolls(t)
	saved := fdtab.Files
	t.Cleanup(func() { fdtab.Files = saved })
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fdtab.Files[5] = fdtab.File{Kind: fdtab.KindEventfd}
	fdtab.Files[6] = fdtab.File{Kind: fdtab.KindEpoll, Epoll: 1}
	for _, c := range []struct {
		name      string
		fd, max   int
		wantErrno int64
	}{
		{"closed descriptor", 4, 8, abi.EBADF},
		{"out of range", fdtab.MaxFDs, 8, abi.EBADF},
		{"not an epoll instance", 5, 8, abi.EINVAL},
		{"no room for an event", 6, 0, abi.EINVAL},
	} {
		n, done := EpollWaitNow(c.fd, 0x10000, c.max, -1)
		assert.True(t, done, c.name)
		assert.Equal(t, -c.wantErrno, n, c.name)
	}
}

// TestEpollCtlRefusedUnlocked: the answer without the files lock is
// EPERM exactly where epollCtl's is EPERM for a file's descriptor, for
// every pair of kinds (and a descriptor with itself), whatever the op;
// the other refusals (a file under another kind of instance: EINVAL)
// and every other kind are left to the locked path.
func TestEpollCtlRefusedUnlocked(t *testing.T) {
	saved := fdtab.Files
	t.Cleanup(func() { fdtab.Files = saved })
	kinds := []uint8{fdtab.KindFree, fdtab.KindConsole, fdtab.KindEventfd, fdtab.KindEpoll, fdtab.KindFile, fdtab.KindPipe, fdtab.KindDev, fdtab.KindSocket}
	for _, ek := range kinds {
		for _, fk := range kinds {
			fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
			fdtab.Files[3] = fdtab.File{Kind: ek}
			fdtab.Files[4] = fdtab.File{Kind: fk}
			for _, op := range []int{unix.EPOLL_CTL_ADD, unix.EPOLL_CTL_DEL, 99} {
				refused := EpollCtlRefusedUnlocked(3, 4)
				assert.Equal(t, ek == fdtab.KindEpoll && fk == fdtab.KindFile, refused, "instance kind %d, descriptor kind %d", ek, fk)
				if refused {
					r, _ := epollCtl(3, op, 4, 0)
					assert.Equal(t, int64(-abi.EPERM), r, "the locked path's answer")
				}
			}
		}
	}
	fdtab.Files[3] = fdtab.File{Kind: fdtab.KindEpoll}
	assert.False(t, EpollCtlRefusedUnlocked(3, 3), "an instance with itself: EINVAL on the locked path")
	assert.False(t, EpollCtlRefusedUnlocked(-1, 3))
	assert.False(t, EpollCtlRefusedUnlocked(3, fdtab.MaxFDs))
}
