package fdcalls

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/percpu"
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
// answers a bad descriptor (EBADF), then a count of events of zero or
// less, or beyond Linux's EP_MAX_EVENTS (EINVAL), itself, as the locked
// path would, before it looks at the buffer (Linux's order). (The buffer,
// the descriptor's kind after it and the readiness need the program's
// memory: examples/badcalls compares those answers with the host's.)
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
		{"closed descriptor, no room", 4, 0, abi.EBADF},
		{"out of range", fdtab.MaxFDs, 8, abi.EBADF},
		{"no room for an event", 6, 0, abi.EINVAL},
		{"a negative count", 6, -1, abi.EINVAL},
		{"more than EP_MAX_EVENTS", 6, epollMaxEvents + 1, abi.EINVAL},
		{"not an epoll instance, no room", 5, 0, abi.EINVAL},
	} {
		n, done := EpollWaitNow(c.fd, 0x10000, c.max, -1)
		assert.True(t, done, c.name)
		assert.Equal(t, -c.wantErrno, n, c.name)
	}
	assert.Equal(t, 178956970, epollMaxEvents, "INT_MAX / sizeof(struct epoll_event)")
}

// TestEpollCtlRefusedUnlocked: the answer without the files lock is
// EPERM exactly where epollCtl's is EPERM for a file's descriptor under
// an epoll instance, for every pair of kinds (and a descriptor with
// itself); the other refusals (a file under another kind of descriptor:
// EPERM too, but left to the locked path) and every other kind are left
// to the locked path. (With EPOLL_CTL_DEL, which reads no event: the
// event's check, vm.ReadLockFree, needs the program's memory, and
// examples/badcalls compares a bad event's EFAULT with the host's.)
func TestEpollCtlRefusedUnlocked(t *testing.T) {
	saved := fdtab.Files
	t.Cleanup(func() { fdtab.Files = saved })
	del := unix.EPOLL_CTL_DEL
	kinds := []uint8{fdtab.KindFree, fdtab.KindConsole, fdtab.KindEventfd, fdtab.KindEpoll, fdtab.KindFile, fdtab.KindPipe, fdtab.KindDev, fdtab.KindSocket}
	for _, ek := range kinds {
		for _, fk := range kinds {
			fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
			fdtab.Files[3] = fdtab.File{Kind: ek}
			fdtab.Files[4] = fdtab.File{Kind: fk}
			refused := EpollCtlRefusedUnlocked(3, del, 4, 0)
			assert.Equal(t, ek == fdtab.KindEpoll && fk == fdtab.KindFile, refused, "instance kind %d, descriptor kind %d", ek, fk)
			if refused {
				r, _ := epollCtl(3, del, 4, 0)
				assert.Equal(t, int64(-abi.EPERM), r, "the locked path's answer")
			}
		}
	}
	fdtab.Files[3] = fdtab.File{Kind: fdtab.KindEpoll}
	assert.False(t, EpollCtlRefusedUnlocked(3, del, 3, 0), "an instance with itself: EINVAL on the locked path")
	assert.False(t, EpollCtlRefusedUnlocked(-1, del, 3, 0))
	assert.False(t, EpollCtlRefusedUnlocked(3, del, fdtab.MaxFDs, 0))
	fdtab.Files[4] = fdtab.File{Kind: fdtab.KindFile}
	fdtab.Files[5] = fdtab.File{Kind: fdtab.KindConsole}
	r, _ := epollCtl(5, del, 4, 0)
	assert.Equal(t, int64(-abi.EPERM), r, "a file under a descriptor that is no epoll instance: EPERM before EINVAL, as Linux")
	r, _ = epollCtl(3, del, 3, 0)
	assert.Equal(t, int64(-abi.EINVAL), r, "an instance with itself")
}

// TestEpollCtlBeside: epoll_ctl calls on one instance at once, as under
// the files lock held shared on several CPUs (the interest lists' lock,
// fdtab.EpollHeld, keeps them apart): deletes of different descriptors from
// goroutines of their own leave the list, its bound (hi) and the watcher
// bits as a scan says, every entry gone. (A delete reads no event from
// the program's memory, which the host does not map: adds and
// modifications run in the boot tests.) Run with -race.
func TestEpollCtlBeside(t *testing.T) {
	resetEpolls(t)
	saved := fdtab.Files
	t.Cleanup(func() { fdtab.Files = saved })
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	const epfd, first, callers, each = 3, 10, 4, 50
	fdtab.Files[epfd] = fdtab.File{Kind: fdtab.KindEpoll, Epoll: 1}
	epolls[1].used = true
	for fd := first; fd < first+callers*each; fd++ {
		fdtab.Files[fd] = fdtab.File{Kind: fdtab.KindEventfd}
		require.GreaterOrEqual(t, addEntry(1, epollEntry{fd: int32(fd), events: unix.EPOLLIN, used: true}), 0)
	}
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for k := range each {
				fd := first + k*callers + c // interleaved: every caller's deletes move hi
				if r := EpollCtl(nil, sched.None, abi.SysArgs{epfd, unix.EPOLL_CTL_DEL, uintptr(fd)}); r != 0 {
					t.Errorf("delete of fd %d: %d", fd, r)
					return
				}
			}
		})
	}
	wg.Wait()
	checkEpollIndex(t, 0)
	assert.Zero(t, epolls[1].hi, "every entry deleted")
	assert.Equal(t, int64(-abi.ENOENT), EpollCtl(nil, sched.None, abi.SysArgs{epfd, unix.EPOLL_CTL_DEL, first}))
}

// waitOnEventfd sets up an epoll instance (1) watching an eventfd
// (descriptor evfd) for EPOLLIN, as a netpoller's wait would, with the
// records and tables cleared after the test.
func waitOnEventfd(t *testing.T, evfd int) *epollInstance {
	t.Helper()
	resetEpolls(t)
	resetNotify(t)
	saved := fdtab.Files
	t.Cleanup(func() { fdtab.Files = saved })
	fdtab.Files = [fdtab.MaxFDs]fdtab.File{}
	fdtab.Files[evfd] = fdtab.File{Kind: fdtab.KindEventfd}
	epolls[1].used = true
	require.GreaterOrEqual(t, addEntry(1, epollEntry{fd: int32(evfd), events: unix.EPOLLIN, lastSeq: ^uint64(0), used: true}), 0)
	return &epolls[1]
}

// makeReady is an eventfd write beside the waiter, as fileTrap runs it
// under the files lock held shared (eventfdWrite): the counter, the
// record, then the records' check; it returns the check's answer.
func makeReady(evfd int) bool {
	fdtab.Files[evfd].AddCount(1)
	fdtab.Notify(evfd)
	return RecordsNeedKernel(&percpu.CPUs[0])
}

// TestNameWaiter: a blocking epoll_wait runs beside other CPUs' file
// calls (the files lock held shared), which may make a descriptor ready
// between its first look and its wait. A change before nameWaiter's look
// is found by the look, which leaves no waiter named; a change after it
// finds the waiter named, and its records' check sends it to the kernel
// lock's path, which wakes the waiter. Without the second look (the
// waiter named, as before, only when the thread blocks) the first order
// fails: the thread would wait with the descriptor ready. A change
// between the look and the naming is TestNameWaiterBeside's.
func TestNameWaiter(t *testing.T) {
	const evfd, waiter = 12, sched.TID(5)
	ep := waitOnEventfd(t, evfd)

	// Before the look: found (the host maps no program memory, so the
	// copy-out fails with EFAULT: still an answer, not a wait).
	assert.False(t, makeReady(evfd), "nobody waits yet: the record wakes nobody")
	assert.NotZero(t, nameWaiter(ep, waiter, 0, 8), "the look finds the descriptor ready")
	assert.Equal(t, sched.None, ep.waiter, "an answer leaves no waiter named")

	// After the look: the waiter is named, so the check keeps the record.
	fdtab.Files[evfd].Count = 0
	assert.Zero(t, nameWaiter(ep, waiter, 0, 8), "nothing ready: the thread is to wait")
	assert.Equal(t, waiter, ep.waiter)
	assert.True(t, makeReady(evfd), "the change after the naming takes the kernel lock's path")
	assert.True(t, fdtab.NotifyFDs.Has(evfd), "with its record, for NotifyEpolls")
}

// TestNameWaiterBusy: an instance has one waiter at most: a second
// thread's wait is answered with EINVAL, naming nobody, on either path
// (SysEpollWait, and EpollWaitBlock under a run-queue lock: the check
// and the naming are one compare-and-swap under the interest lists'
// lock, as two CPUs may block in the same instance at once). A waiter
// that a signal sends back to the locked path leaves the slot
// (EpollUnwait), and only its own: the slot naming another thread, or
// nobody, stays as it is.
func TestNameWaiterBusy(t *testing.T) {
	const evfd, first, second = 12, sched.TID(5), sched.TID(6)
	ep := waitOnEventfd(t, evfd)
	require.Zero(t, nameWaiter(ep, first, 0, 8), "nothing ready: the first thread is to wait")
	assert.Equal(t, -abi.EINVAL, nameWaiter(ep, second, 0, 8), "a second waiter")
	assert.Equal(t, first, ep.waiter, "the first stays named")
	EpollUnwait(second, &ep.waiter)
	assert.Equal(t, first, ep.waiter, "another thread's slot is left alone")
	EpollUnwait(first, &ep.waiter)
	assert.Equal(t, sched.None, ep.waiter, "the waiter's own slot is cleared")
	EpollUnwait(first, &ep.waiter)
	assert.Equal(t, sched.None, ep.waiter)
	assert.Zero(t, fdtab.EpollHeld, "the interest lists' lock is free")
}

// TestEpollWaitBlockAnswers: EpollWaitBlock looks at the call again
// before it names a waiter (the descriptor may have been closed since
// fileTrap's look): a closed descriptor is answered EBADF and no room
// for an event EINVAL, with no slot and nobody named. The naming itself
// is TestNameWaiter's and TestNameWaiterBusy's (the host maps no program
// memory for the rest: the buffer's check and the events' copy), and
// the whole wait the guest's (qemu's TestEpollWaitsBoot).
func TestEpollWaitBlockAnswers(t *testing.T) {
	const evfd, waiter = 12, sched.TID(5)
	ep := waitOnEventfd(t, evfd)
	fdtab.Files[6] = fdtab.File{Kind: fdtab.KindEpoll, Epoll: 1}
	for _, c := range []struct {
		name    string
		fd, max int
		want    int64
	}{
		{"closed descriptor", 4, 8, -abi.EBADF},
		{"no room for an event", 6, 0, -abi.EINVAL},
	} {
		n, slot, answered := EpollWaitBlock(waiter, c.fd, 0x10000, c.max, -1)
		assert.True(t, answered, c.name)
		assert.Equal(t, c.want, n, c.name)
		assert.Nil(t, slot, c.name)
		assert.Equal(t, sched.None, ep.waiter, c.name)
	}
}

// TestNameWaiterBeside: the two orders of TestNameWaiter, raced from two
// goroutines many times, as two CPUs would, each round started at once
// by a shared flag: every round the waiter's look finds the change or the
// change's check finds the waiter, never neither. With the waiter named
// after the look instead, about half the runs on a 2-core host fail here
// (the window is a few instructions wide). Run with -race (make race):
// the waiter and the counter are written and read atomically.
func TestNameWaiterBeside(t *testing.T) {
	const evfd, waiter, rounds = 12, sched.TID(5), 20000
	ep := waitOnEventfd(t, evfd)
	var start, done atomic.Int32
	var found atomic.Int64
	var woken atomic.Bool
	go func() { // the CPU that makes the descriptor ready
		for r := int32(1); r <= rounds; r++ {
			spinUntil(&start, r)
			woken.Store(makeReady(evfd))
			done.Add(1)
		}
	}()
	for r := int32(1); r <= rounds; r++ {
		atomic.StoreInt32((*int32)(&ep.waiter), int32(sched.None))
		atomic.StoreUint64(&fdtab.Files[evfd].Count, 0)
		fdtab.NotifyFDs.Clear()
		fdtab.NotifyPending.Store(false)
		start.Store(r)
		found.Store(nameWaiter(ep, waiter, 0, 8))
		spinUntil(&done, r)
		require.True(t, found.Load() != 0 || woken.Load(), "round %d: the change was neither found nor sent to the kernel lock's path", r)
	}
}

// spinUntil waits until v holds r, spinning, as a CPU would, with a yield
// now and then for a host with one core.
func spinUntil(v *atomic.Int32, r int32) {
	for i := 1; v.Load() != r; i++ {
		if i%(1<<14) == 0 {
			runtime.Gosched()
		}
	}
}

// TestNotifyEpollsBeside: the kernel lock's wakes (NotifyEpolls) run with
// the files lock held shared, beside epoll_ctl calls and records on other
// CPUs: they collect under the interest lists' lock, so deletes beside
// leave the list whole, while records are made beside (a record set's
// own take beside its making is fdtab's TestSetTakeBeside). Run with
// -race (make race): without the lists' lock the detector reports it.
func TestNotifyEpollsBeside(t *testing.T) {
	const evfd, epfd, first, n = 12, 3, 20, 200
	ep := waitOnEventfd(t, evfd)
	fdtab.Files[epfd] = fdtab.File{Kind: fdtab.KindEpoll, Epoll: 1}
	for fd := first; fd < first+n; fd++ {
		fdtab.Files[fd] = fdtab.File{Kind: fdtab.KindEventfd}
		require.GreaterOrEqual(t, addEntry(1, epollEntry{fd: int32(fd), events: unix.EPOLLIN, used: true}), 0)
	}
	ep.waiter = sched.TID(5) // nothing is ready: no wake, only looks
	var wg sync.WaitGroup
	wg.Go(func() {
		for fd := first; fd < first+n; fd++ {
			if r := EpollCtl(nil, sched.None, abi.SysArgs{epfd, unix.EPOLL_CTL_DEL, uintptr(fd)}); r != 0 {
				t.Errorf("delete of fd %d: %d", fd, r)
				return
			}
			fdtab.Notify(fd)
		}
	})
	wg.Go(func() {
		for range n {
			fdtab.Notify(evfd)
			NotifyEpolls()
		}
	})
	wg.Wait()
	checkEpollIndex(t, 0)
	assert.Equal(t, 1, ep.hi, "only the eventfd's entry is left")
	assert.Equal(t, sched.TID(5), ep.waiter, "nothing was ready: the waiter still waits")
}

// TestEpollEdgeBeside: an edge-triggered entry watching an eventfd for
// EPOLLIN and EPOLLOUT (readiness always has EPOLLOUT, as a socket's
// has) is looked at (due, as collect does) while a write on another
// goroutine adds to the counter and bumps the sequence after
// (fdtab.File.AddCount, as a socket's data move bumps it after the ring
// changed). Both start each round at once, released by one store, after
// delays that vary so that the write lands at every point of the look.
// That look or the next must report the write's EPOLLIN: with the
// sequence loaded after the readiness, a look between the two could
// report EPOLLOUT alone with the new sequence, and the next nothing
// (the stack's data moves beside the program's netpoll lost HTTP
// requests so; this test fails within its rounds with that order).
func TestEpollEdgeBeside(t *testing.T) {
	const fd, rounds = 40, 20000
	saved := fdtab.Files[fd]
	t.Cleanup(func() { fdtab.Files[fd] = saved })
	fdtab.Files[fd] = fdtab.File{Kind: fdtab.KindEventfd}
	f := &fdtab.Files[fd]
	e := &epollEntry{fd: fd, events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLET, used: true}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))) // the two sides on two Ps
	var release, written atomic.Int64
	wait := func(v *atomic.Int64, round int64) { // a busy wait, as a CPU's: a yield would spoil the start together
		for k := 1; v.Load() < round; k++ {
			if k%100000 == 0 {
				runtime.Gosched() // where the two share one CPU
			}
		}
	}
	spin := func(n int) {
		for k := 0; k < n; k++ {
			runtime.Gosched() // a delay: returns at once while no other goroutine waits for this P
		}
	}
	go func() { // the write
		for round := int64(1); round <= rounds; round++ {
			wait(&release, round)
			spin(int(round % 3))
			f.AddCount(1)
			written.Store(round)
		}
	}()
	for round := int64(1); round <= rounds; round++ {
		atomic.StoreUint64(&f.Count, 0)
		e.lastSeq = atomic.LoadUint64(&f.Seq)
		release.Store(round)
		spin(int(round/3) % 3)
		var first uint32
		if r, seq := e.due(); r != 0 {
			first, e.lastSeq = r, seq // reported
		}
		wait(&written, round)
		next, _ := e.due()
		if (first|next)&unix.EPOLLIN == 0 {
			release.Store(rounds) // the write's goroutine runs out its rounds and ends
			wait(&written, rounds)
			require.Failf(t, "an edge lost", "round %d: the write's EPOLLIN was never reported (first look %#x, next %#x)", round, first, next)
		}
	}
}
