package fdcalls

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/sched"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// handOffMachine gives a test two CPUs for the scheduler, CPU 1 halted
// in its idle loop with its claim open (as a waker finds it) or not, and
// puts the scheduler, the CPUs' claims and kick masks and the thread
// table back after the test.
func handOffMachine(t *testing.T, halted bool) (c *percpu.CPU) {
	t.Helper()
	savedSched, savedThreads := threadtab.Sched, threadtab.Threads
	savedClaims := [2]uint32{percpu.CPUs[0].WakeClaim.Load(), percpu.CPUs[1].WakeClaim.Load()}
	savedIDs := [2]int{percpu.CPUs[0].ID, percpu.CPUs[1].ID}
	t.Cleanup(func() {
		threadtab.Sched, threadtab.Threads = savedSched, savedThreads
		for i := range savedClaims {
			percpu.CPUs[i].ID = savedIDs[i]
			percpu.CPUs[i].WakeClaim.Store(savedClaims[i])
			percpu.CPUs[i].KickMask = 0
			percpu.CPUs[i].NapStart.Store(0)
		}
	})
	threadtab.Sched = sched.Scheduler{}
	threadtab.Sched.Init(2)
	for i := range 2 {
		percpu.CPUs[i].ID = i
		percpu.CPUs[i].KickMask = 0
		percpu.CPUs[i].WakeClaim.Store(percpu.ClaimClosed)
	}
	if halted {
		percpu.CPUs[1].WakeClaim.Store(percpu.ClaimOpen)
	}
	return &percpu.CPUs[0]
}

// blockWaiter names w the waiter of ep and blocks it as the kernel's
// epoll_wait block does (nameWaiter, thread.WaitIn, EpollBlocked), its
// timeout in heap's timer heap (threadtab.EvUntimed for none).
func blockWaiter(t *testing.T, ep *epollInstance, w sched.TID, heap int32) {
	t.Helper()
	require.Zero(t, nameWaiter(ep, w, 0, 8), "nothing ready: the thread is to wait")
	thread.WaitIn(w, threadtab.WaitEpoll, &ep.waiter)
	EpollBlocked(w, &ep.waiter, heap)
}

// TestHandOffWaiter: a file call that makes a descriptor ready for a
// blocked epoll_wait (here an eventfd's write, RecordsNeedKernel after
// it) hands the waiter to a CPU halted in its idle loop without the
// kernel lock: its events collected (the host maps no program memory,
// so the copy-out's EFAULT is the result it carries), its slot cleared,
// marked handed off and pushed into that CPU's inbox, with a wake IPI
// marked for after the files lock. It takes the kernel lock's path,
// nothing changed, for a waiter named but not yet blocked, one whose
// timeout is in the heap of a CPU that is not halted or is the caller's
// own (busy), and when no CPU is halted; a device interrupt in the idle
// loop of the CPU whose heap holds the timeout hands it to that CPU's
// own inbox, with no IPI; a change that readies nothing for the waiter
// gives the claim back and wakes nobody. (A copy that finds no frame,
// which sends the wake to the kernel lock's path too, needs the
// program's memory: not on the host.)
func TestHandOffWaiter(t *testing.T) {
	const evfd, waiter = 12, sched.TID(5)
	t.Run("handed to the halted CPU", func(t *testing.T) {
		ep := waitOnEventfd(t, evfd)
		c := handOffMachine(t, true)
		blockWaiter(t, ep, waiter, threadtab.EvUntimed)
		assert.False(t, makeReady(evfd), "no kernel lock's path")
		assert.Equal(t, sched.None, ep.waiter, "the slot cleared")
		th := &threadtab.Threads[waiter]
		assert.Zero(t, th.WaitSlot)
		assert.Equal(t, -abi.EFAULT, th.EvResult, "what the collect gave, for the wait to return")
		assert.True(t, threadtab.Sched.Futexes.HandedOff(waiter), "marked: a signal or timeout leaves it to the hand-off")
		assert.Equal(t, waiter, threadtab.Sched.Handoffs.Pop(1), "in CPU 1's inbox")
		assert.Equal(t, uint32(percpu.ClaimTaken), percpu.CPUs[1].WakeClaim.Load(), "CPU 1 claimed")
		assert.Equal(t, uint64(1<<1), c.KickMask, "its wake IPI marked")
		assert.True(t, fdtab.NotifyFDs.Empty(), "the record is spent")
	})
	t.Run("its timeout's CPU, not the idle caller", func(t *testing.T) {
		ep := waitOnEventfd(t, evfd)
		c := handOffMachine(t, true)
		c.WakeClaim.Store(percpu.ClaimOpen) // a device interrupt in CPU 0's idle loop
		blockWaiter(t, ep, waiter, threadtab.EvTimedOn(1))
		assert.False(t, makeReady(evfd))
		assert.Equal(t, waiter, threadtab.Sched.Handoffs.Pop(1), "only CPU 1 may cancel its timeout")
		assert.Equal(t, uint32(percpu.ClaimOpen), c.WakeClaim.Load())
	})
	t.Run("no timeout: the idle caller first", func(t *testing.T) {
		ep := waitOnEventfd(t, evfd)
		c := handOffMachine(t, true)
		c.WakeClaim.Store(percpu.ClaimOpen)
		blockWaiter(t, ep, waiter, threadtab.EvUntimed)
		assert.False(t, makeReady(evfd))
		assert.Equal(t, waiter, threadtab.Sched.Handoffs.Pop(0), "its own inbox: no IPI")
		assert.Zero(t, c.KickMask)
		assert.Equal(t, uint32(percpu.ClaimOpen), percpu.CPUs[1].WakeClaim.Load(), "CPU 1 left alone")
	})
	for _, c := range []struct {
		name    string
		halted  bool
		heap    int32
		blocked bool
		busyOn  int32 // the busy CPU the caller may queue it on (c.EpollBusyOn), or -1
	}{
		{"named, not yet blocked", true, threadtab.EvUntimed, false, -1},
		{"no timeout, no CPU halted", false, threadtab.EvUntimed, true, 0}, // the CPU it blocked on (the thread table's zero here)
		{"its timeout in the busy caller's heap", true, threadtab.EvTimedOn(0), true, 0},
		{"its timeout's CPU napping", true, threadtab.EvTimedOn(1), true, 1},
		{"its timeout's CPU busy", false, threadtab.EvTimedOn(1), true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			ep := waitOnEventfd(t, evfd)
			cpu0 := handOffMachine(t, c.halted)
			if c.name == "its timeout's CPU napping" {
				percpu.CPUs[1].NapStart.Store(1)
			}
			if c.blocked {
				blockWaiter(t, ep, waiter, c.heap)
			} else {
				require.Zero(t, nameWaiter(ep, waiter, 0, 8))
			}
			assert.True(t, makeReady(evfd), "the kernel lock's path wakes it")
			assert.Equal(t, waiter, ep.waiter, "still named, for that path")
			assert.True(t, fdtab.NotifyFDs.Has(evfd), "with its record")
			assert.False(t, threadtab.Sched.Futexes.HandedOff(waiter))
			assert.Equal(t, sched.None, threadtab.Sched.Handoffs.Pop(1), "no inbox holds it")
			assert.Zero(t, cpu0.KickMask)
			if c.busyOn < 0 {
				assert.Zero(t, cpu0.EpollBusy, "nothing for the caller to queue")
			} else {
				assert.Equal(t, [2]int32{2, c.busyOn}, [2]int32{cpu0.EpollBusy, cpu0.EpollBusyOn},
					"instance 1 for the caller to queue on the busy CPU under the run-queue locks")
			}
		})
	}
	t.Run("its timeout's CPU busy, nothing due for it", func(t *testing.T) {
		ep := waitOnEventfd(t, evfd)
		cpu0 := handOffMachine(t, false)
		blockWaiter(t, ep, waiter, threadtab.EvTimedOn(1))
		fdtab.Notify(evfd) // a change that leaves the counter at 0
		assert.False(t, RecordsNeedKernel(cpu0), "no trip to the kernel lock's path for it")
		assert.Zero(t, cpu0.EpollBusy)
		assert.False(t, fdtab.NotifyFDs.Has(evfd), "the record dropped")
		assert.Equal(t, waiter, ep.waiter, "it waits on")
	})
	t.Run("two busy CPUs' waiters", func(t *testing.T) {
		ep := waitOnEventfd(t, evfd)
		cpu0 := handOffMachine(t, false)
		blockWaiter(t, ep, waiter, threadtab.EvTimedOn(1))
		epolls[2].used = true
		require.GreaterOrEqual(t, addEntry(2, epollEntry{fd: evfd, events: unix.EPOLLIN, lastSeq: ^uint64(0), used: true}), 0)
		blockWaiter(t, &epolls[2], waiter+1, threadtab.EvTimedOn(0))
		assert.True(t, makeReady(evfd))
		assert.Zero(t, cpu0.EpollBusy, "one waiter at most is queued by the caller: the kernel lock's path wakes both")
	})
	t.Run("a device interrupt in the idle loop of its timeout's CPU", func(t *testing.T) {
		ep := waitOnEventfd(t, evfd)
		c := handOffMachine(t, false)
		c.WakeClaim.Store(percpu.ClaimOpen) // CPU 0 halted in its idle loop, the interrupt on it
		blockWaiter(t, ep, waiter, threadtab.EvTimedOn(0))
		assert.False(t, makeReady(evfd))
		assert.Equal(t, waiter, threadtab.Sched.Handoffs.Pop(0), "in its own inbox, which its idle loop looks at next")
		assert.Zero(t, c.KickMask, "no IPI to itself")
	})
	t.Run("nothing ready for it", func(t *testing.T) {
		ep := waitOnEventfd(t, evfd)
		handOffMachine(t, true)
		blockWaiter(t, ep, waiter, threadtab.EvUntimed)
		fdtab.Notify(evfd) // a change that leaves the counter at 0
		assert.False(t, RecordsNeedKernel(&percpu.CPUs[0]))
		assert.Equal(t, waiter, ep.waiter, "it waits on")
		assert.Equal(t, uint32(percpu.ClaimOpen), percpu.CPUs[1].WakeClaim.Load(), "the claim given back")
		assert.Equal(t, sched.None, threadtab.Sched.Handoffs.Pop(1))
	})
}

// TestEpollTake: the wake of a waiter whose CPU is busy, by the caller
// under the run-queue locks (package kernel's epollWakeBusy): EpollTake
// takes only a waiter that takeable allows (the instance open, t its
// waiter, t blocked: not merely named), and refuses a buffer with a page
// not mapped (a fault-in would wait for the memory lock inside the two
// run-queue locks' hold): on the host, which maps no program memory,
// every buffer, so the take itself, events written and the waiter
// queued, is the guest's (qemu's TestEpollWaitsBoot, its waits beside
// computing threads). EpollWaiter names the waiter first.
func TestEpollTake(t *testing.T) {
	const evfd, waiter = 12, sched.TID(5)
	ep := waitOnEventfd(t, evfd)
	handOffMachine(t, false)
	blockWaiter(t, ep, waiter, threadtab.EvTimedOn(1))
	fdtab.Files[evfd].AddCount(1)
	require.Equal(t, waiter, EpollWaiter(1))
	assert.True(t, takeable(ep, waiter), "named, blocked, the instance open")
	assert.False(t, takeable(ep, waiter+1), "not the waiter")
	ep.used = false
	assert.False(t, takeable(ep, waiter), "the instance closed")
	ep.used = true
	threadtab.Threads[waiter].EvHeap = threadtab.EvNotBlocked
	assert.False(t, takeable(ep, waiter), "named, not yet blocked")
	threadtab.Threads[waiter].EvHeap = threadtab.EvTimedOn(1)
	_, took := EpollTake(1, waiter)
	assert.False(t, took, "the buffer not mapped")
	assert.Equal(t, waiter, ep.waiter, "still named")
	assert.NotZero(t, threadtab.Threads[waiter].WaitSlot)
	assert.Zero(t, fdtab.EpollHeld, "the interest lists' lock is free")
}

// TestHandOffWaiterBeside: the hand-off and another end of the wait (a
// signal's or the timeout's, which clear the slot first:
// thread.LeaveEpollSlot) race from two goroutines, as two CPUs would,
// many times: each round exactly one of them ends the wait. The other
// end finds the waiter marked handed off only if it is in CPU 1's inbox,
// and a hand-off never takes a waiter whose slot that end cleared. Run
// with -race (make race).
func TestHandOffWaiterBeside(t *testing.T) {
	const evfd, waiter, rounds = 12, sched.TID(5), 20000
	ep := waitOnEventfd(t, evfd)
	c := handOffMachine(t, true)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(max(2, runtime.GOMAXPROCS(0)))) // the two sides on two Ps
	var start, done atomic.Int32
	delay := func(n int) {
		for k := 0; k < n; k++ {
			runtime.Gosched() // returns at once while no other goroutine waits for this P
		}
	}
	go func() { // the CPU whose eventfd write readies the descriptor
		for r := int32(1); r <= rounds; r++ {
			spinUntil(&start, r)
			delay(int(r % 4))
			makeReady(evfd)
			done.Store(r)
		}
	}()
	handOffs, cleared := 0, 0
	for r := int32(1); r <= rounds; r++ {
		threadtab.Sched.Futexes = sched.Futexes{}
		threadtab.Sched.Handoffs.Init()
		percpu.CPUs[1].WakeClaim.Store(percpu.ClaimOpen)
		atomic.StoreUint64(&fdtab.Files[evfd].Count, 0)
		fdtab.NotifyFDs.Clear()
		fdtab.NotifyPending.Store(false)
		c.KickMask = 0
		blockWaiter(t, ep, waiter, threadtab.EvUntimed)
		start.Store(r)
		delay(int(r/4) % 4)
		thread.LeaveEpollSlot(waiter) // the signal's or timeout's end of the wait
		handedOff := threadtab.Sched.Futexes.HandedOff(waiter)
		spinUntil(&done, r)
		inbox := threadtab.Sched.Handoffs.Pop(1)
		if handedOff {
			require.Equal(t, waiter, inbox, "round %d: marked, so in the inbox", r)
			handOffs++
		} else {
			require.Equal(t, sched.None, inbox, "round %d: the slot cleared first, yet handed off", r)
			cleared++
		}
		require.Equal(t, int32(sched.None), atomic.LoadInt32((*int32)(&ep.waiter)), "round %d", r)
	}
	t.Logf("%d rounds: %d handed off first, %d cleared first", rounds, handOffs, cleared)
	assert.Positive(t, handOffs, "the hand-off never came first: the race was not run")
	assert.Positive(t, cleared, "the other end never came first: the race was not run")
}
