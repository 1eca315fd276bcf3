package kernel

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
)

// epoll_waits that block without the kernel lock (issue 18;
// docs/architecture.md, "epoll_waits that block without the kernel
// lock"). The Go runtime's network poller waits in epoll_pwait whenever
// a program that uses the network has nothing to run, nearly always
// with a timeout (its next timer's). Each took the kernel lock to
// block, and again at its timeout. Now, when fileTrap found nothing
// ready (fdcalls.EpollWaitNow), the thread blocks under its CPU's
// run-queue lock, as a nanosleep does (sleepBlock): the call is looked
// at again under the files lock, taken shared in one try inside that
// hold, the thread named the instance's waiter and blocked as a device
// waiter with its timeout in the CPU's own timer heap
// (sched.Scheduler.DeviceWaitHere), and the CPU switches to a queued
// thread or goes idle (waitSwitch, waitIdle). The CPU's timer interrupt
// ends the wait at its timeout without the kernel lock too
// (fasttimer.go's expireSleepers clears the waiter slot in its hold,
// under the interest lists' lock: thread.LeaveEpollSlot).
// The wake-up that events bring takes no kernel lock either when a CPU
// halted in its idle loop can run the thread at once (since 2026-12-07):
// a file call or device interrupt under the files lock that makes a
// descriptor ready finds the thread named and blocked
// (fdcalls.EpollBlocked), collects its events into its buffer, marks it
// handed off and pushes it into that CPU's inbox, the one whose heap
// holds its timeout or, with none, any (fdcalls' handOffWaiter), and
// sends it a wake IPI; that CPU runs it under its own run-queue lock
// (sched.Scheduler.RunHandedOff). When no halted CPU can take it, the
// caller wakes it under the run-queue locks instead, once it has
// released the files lock: queued on the CPU it blocked on, or handed
// to an idle CPU, its timeout cancelled there (epollWakeBusy, below). Otherwise (no such CPU, the thread named but
// not yet blocked, or a refusal there) the call takes the kernel lock's path
// (fdcalls.RecordsNeedKernel, fdcalls.NotifyEpolls), whose holder waits
// for every run-queue lock, so it finds the thread blocked, never named
// and still running.

// epollBlock serves an epoll_wait or epoll_pwait that fileTrap found
// must wait (nothing ready, a timeout other than 0) without the kernel
// lock: the thread blocks under c's run-queue lock until the timeout
// (f.R10, in milliseconds; negative: for good) and c switches to a
// queued thread, or goes idle (blockThen, waitSwitch, waitIdle;
// blockOnEpoll blocks it). It reports false, nothing changed, when the
// locked path must serve the call from the start (counted:
// EvEpollWaitLocked): see blockOnEpoll, waitSwitch and waitIdle for
// when. epoll_pwait's signal mask is ignored, as on the locked path
// (systable.go's support notes).
// Context: trap, from userTrap after fileTrap released the files lock,
// no lock held, c.InUser clear; does not allocate.
func epollBlock(c *percpu.CPU, f *x86.TrapFrame) bool {
	w := localWait{kind: waitEpoll, nr: f.AX, a: sysArgs{uintptr(f.DI), uintptr(f.SI), uintptr(f.DX), uintptr(f.R10), uintptr(f.R8), uintptr(f.R9)}}
	if ms := int64(int32(f.R10)); ms > 0 {
		w.deadline = clock.Nanotime() + ms*1e6
	}
	switch waitLocal(c, f, blockThen(c), w) {
	case switchRefused:
		percpu.Count(c, percpu.EvEpollWaitLocked)
		return false
	case switchAnswered:
		percpu.Count(c, percpu.EvEpollWaitAnswered)
		if vm.OutOfMemory() {
			stopAfterFileCall(c) // a page given back beside found no frame when faulted in again: as fileTrap, c stays out of ring 3
		}
		tlb.EnterUser(c) // back to ring 3: fileTrap cleared InUser
		kickSelfIfTaken(c)
		return true
	}
	// A switch's new thread: waitIdle's way out has done it already,
	// which this repeats. A kick that a lock wait's halt took (KickTaken)
	// is not sent again: it was for a signal to the caller (the block
	// undoes itself for it, SignalPendingFenced) or a thread queued here
	// (the switch runs it, or the idle loop takes it).
	tlb.EnterUser(c)
	return true
}

// blockOnEpoll blocks t, c's running thread, in an epoll_wait with
// nothing ready (epollBlock), under c's run-queue lock (blockHere saved
// its registers): with the files lock taken shared in one try
// (klock.Handle.TryRLock: a run-queue lock's holder does not wait for
// it), the call is looked at again and t named the instance's waiter
// (fdcalls.EpollWaitBlock: an O_PATH descriptor hidden first, as
// fileTrap hides it), and t blocks as a device waiter, its timeout in
// c's heap (sched.Scheduler.DeviceWaitHere), in the same hold: a kernel
// lock holder that wakes it waits for c's lock and finds it blocked. A
// signal that came meanwhile undoes it, the read fenced, as in
// blockOnWord; otherwise, last, calls beside may hand its wake off from
// then on (fdcalls.EpollBlocked), and the CPU they hand it to runs it
// only once c has ended its switch from t (DeviceWaitHere marks c
// switching until EndSwitch: its state may not be saved before). It reports switchMade (t blocked; c still switches from
// it), switchAnswered (events ready, or an error, in f; t still
// running) or switchRefused (t running, for the locked path: the files
// lock held exclusively or wanted, a page of the events' buffer not
// mapped, a signal pending).
//
// The hold waits for no lock but the interest lists' word lock
// (fdtab.EpollHeld) and the leaf word locks that a descriptor's
// readiness takes (a console transmit queue's, console.TxRoom; a
// listening socket's), whose holders, the calls beside under the files
// lock, wait for nothing else but, now and then, the memory lock, to
// fault a page of their own buffer in again after a madvise beside gave
// it back (package kernel's kernelDemandFault), as the second look may
// itself; none of those holders, nor the memory lock's, waits for a
// run-queue lock or the kernel lock (the lock order). The files lock's release may wake an
// exclusive taker halted until the readers leave (an IPI inside the
// run-queue lock's hold; only while such a taker waits).
// Context: trap, on CPU c, c's run-queue lock held; does not allocate.
//
// A gate of tools/trapcheck's TestGometalFileLockDomain (it takes the
// files lock; the file-layer calls it makes under it are that test's
// roots), so not inlined.
//
//go:noinline
func blockOnEpoll(c *percpu.CPU, f *x86.TrapFrame, t sched.TID, w localWait) int {
	tag := klock.TrapTag(f)
	since, ok := klock.Files.TryRLock(c)
	if !ok {
		return switchRefused
	}
	a := w.a
	fdcalls.PathHide(w.nr, (*[6]uintptr)(&a))
	r := switchMade
	n, slot, answered := fdcalls.EpollWaitBlock(t, int(a[0]), a[1], int(a[2]), int(int32(a[3])))
	switch {
	case answered:
		f.AX = uint64(n)
		r = switchAnswered
	case slot == nil:
		r = switchRefused // a page of the buffer to fault in
	default:
		threadtab.Threads[t].RestartNr = w.nr
		thread.WaitIn(t, threadtab.WaitEpoll, slot)
		threadtab.Sched.DeviceWaitHere(c.ID, t, w.deadline)
		if thread.SignalPendingFenced(t) {
			fdcalls.EpollUnwait(t, slot)
			threadtab.Sched.Unsleep(t)
			threadtab.Sched.EndSwitch(c.ID)
			thread.WaitIn(t, threadtab.WaitNone, nil)
			r = switchRefused
			break
		}
		heap := threadtab.EvUntimed
		if w.deadline != 0 {
			heap = threadtab.EvTimedOn(c.ID)
		}
		fdcalls.EpollBlocked(t, slot, heap) // a file call beside may hand its wake off from here on
	}
	klock.Files.Release(c, true, since, tag)
	return r
}

// epollWakeBusy wakes, under the run-queue locks, the epoll_wait's
// waiter that c's records' check found blocked on a CPU that runs a
// thread, napping or not, its timeout, if it has one, in that CPU's
// heap (fdcalls.RecordsNeedKernel: the instance in c.EpollBusy, that CPU
// in c.EpollBusyOn), the only wake that check sent to the kernel lock's
// path: under c's run-queue lock and that CPU's (taken with one try
// unless it is c), its events are collected and it is queued on that
// CPU behind its running thread, its timeout cancelled, as MakeRunnable
// would queue it with no CPU idle, or, with a CPU idle, handed to that
// CPU's inbox (wakeOntoBusy); the CPU it goes to gets a wake IPI, or,
// when it is c, c's timer is armed for the end of its thread's slice. Before, such a
// wake took the kernel lock: 1,000-1,100 an HTTP run at 2 vCPUs, by
// temporary counters, half of them the waker's own CPU's waiter
// (docs/performance.md, "Issue 18, the wake of a blocked epoll_wait
// without the kernel lock"). tag is the trap's, for the files lock's
// hold statistics. It reports true too when the waiter was woken
// meanwhile (nobody is left to wake), and false, having changed nothing
// (the record still pending), when the kernel lock's path must wake it:
// a lock refused (c's own by a kernel lock holder, that CPU's on both of
// lockPair's tries, the files lock), or the waiter not for that CPU now
// (wakeOntoBusy).
// On success c goes back to ring 3 (tlb.EnterUser), with a kick that a
// halt took while c waited for a lock sent again (kickSelfIfTaken: fileTrap
// and deviceTrap keep it for this, c.EpollBusy set).
// Context: trap, from userTrap after fileTrap or deviceTrap (an
// interrupt from ring 3) answered fileServedWake with c.EpollBusy set,
// no lock held, interrupts off; does not allocate.
func epollWakeBusy(c *percpu.CPU, vector, tag uint64) bool {
	i, o := int(c.EpollBusy)-1, int(c.EpollBusyOn)
	c.EpollBusy = 0
	c.InUser.Store(false) // the collect writes the program's memory: as fileTrap's
	woke := false
	if lockPair(c, o) {
		var queued bool
		woke, queued = wakeOntoBusy(c, i, o, tag)
		wakeOntoBusyEnd(c, o, queued)
	}
	if !woke {
		percpu.Count(c, percpu.EvEpollWakeLocked)
		if vector == x86.VecSyscall {
			percpu.Count(c, percpu.EvFileCallWake) // fileTrap left it to this
		}
		return false // userTrap clears InUser, as for any locked path
	}
	if vector != x86.VecSyscall {
		irqFDIRQs[2].Add(^uint64(0)) // a /dev/irq interrupt's wake that took no kernel lock after all (devicetrap.go; outside its hold: a reader beside may see it counted a moment)
	}
	tlb.EnterUser(c)
	kickSelfIfTaken(c)
	return true
}

// lockPair takes c's run-queue lock and o's (one lock when o is c), o's
// with one try, nested in c's as a steal takes a victim's; when another
// CPU holds o's, c lets its own go, waits for o's release and tries once
// more, as a FUTEX_WAIT's steal does (klock.WaitRunQueue: o's holder
// waits for nothing c holds). Before that second try, 77 of an HTTP
// run's 148 wakes that epollWakeBusy left to the kernel lock found o's
// lock held (temporary counters, 2026-12-08). It reports false, nothing
// held, when a lock is refused (c's own: a kernel lock holder, which
// then serves the wake).
// Context: trap, on CPU c, no lock held, interrupts off; does not
// allocate.
func lockPair(c *percpu.CPU, o int) bool {
	for try := 0; try < 2; try++ {
		if !klock.LockRunQueueWaiting(c) {
			return false
		}
		if o == c.ID || klock.TryLockOtherRunQueue(o) {
			return true
		}
		klock.UnlockRunQueue(c)
		if try == 0 {
			klock.WaitRunQueue(c, o)
		}
	}
	return false
}

// wakeOntoBusyEnd releases the run-queue locks of epollWakeBusy, c's and
// o's, with the wake IPI to o or, when o is c, c's timer armed for the
// end of its thread's slice, if queued says a thread was queued on o (a
// hand-off's IPI, to the CPU it went to, is marked already).
// Context: trap, on CPU c, c's and o's run-queue locks held, released
// on return; does not allocate.
func wakeOntoBusyEnd(c *percpu.CPU, o int, queued bool) {
	if o != c.ID {
		klock.UnlockOtherRunQueue(o)
		if queued {
			thread.Kick(&percpu.CPUs[o])
		}
	} else if queued {
		armTimer(c) // a thread waits behind c's: the end of its slice
	}
	klock.UnlockRunQueue(c)
	armPending(c)
	thread.SendKicks(c)
}

// wakeOntoBusy is epollWakeBusy's work under the run-queue locks of c and
// o: with the files lock taken shared in one try (a run-queue lock's
// holder does not wait for it), the instance's waiter is looked at
// (fdcalls.EpollWaiter) and, if o's lock lets c wake it
// (sched.Scheduler.MayTakeDeviceWaiter: blocked on o, with no timeout
// or its timeout in o's heap, o's switch from it over), its events are
// collected and its slot cleared (fdcalls.EpollTake), its call ended
// with their count (thread.EndWait), and it is queued on o behind o's
// running thread when no CPU is idle and none but o naps
// (sched.Scheduler.MayQueueDeviceWaiter, QueueDeviceWaiter), or, with a
// CPU halted in its idle loop (where MakeRunnable would send it: a CPU
// other than o, for the hand-off found o busy), handed to that CPU's
// inbox, its timeout cancelled in o's heap, with a wake IPI
// (thread.ClaimHaltedFor, sched.Scheduler.HandOffExpired; counted as a
// hand-off), all in the one hold. It reports whether it woke the waiter
// (or found nobody named: nothing is left for the kernel lock's path to
// wake), and whether it queued it on o. The locks
// keep everything else that could end the wait out meanwhile: its
// timeout (o's), a signal's or the kernel lock's wake (whose holder
// waits for both run-queue locks); a hand-off by a file call beside
// (fdcalls' handOffWaiter) takes the waiter only from its slot, under
// the interest lists' lock that EpollTake holds.
// Context: trap, on CPU c, c's and o's run-queue locks held; does not
// allocate.
//
// A gate of tools/trapcheck's TestGometalFileLockDomain (it takes the
// files lock; EpollWaiter and EpollTake are that test's roots), so not
// inlined.
//
//go:noinline
func wakeOntoBusy(c *percpu.CPU, i, o int, tag uint64) (woke, queued bool) {
	since, ok := klock.Files.TryRLock(c)
	if !ok {
		return false, false
	}
	s := &threadtab.Sched
	t := fdcalls.EpollWaiter(i)
	if t == sched.None {
		// Woken meanwhile (a hand-off beside, its timeout, a kernel lock
		// holder's wake before these locks were taken): nobody to wake,
		// and the kernel lock's path would find nobody either (25 of an
		// HTTP run's 148 refusals, by temporary counters).
		klock.Files.Release(c, true, since, tag)
		return true, false
	}
	if s.MayTakeDeviceWaiter(t, o) {
		switch h := (*percpu.CPU)(nil); {
		case s.MayQueueDeviceWaiter(t, o):
			if n, took := fdcalls.EpollTake(i, t); took {
				thread.EndWait(t, n)
				s.QueueDeviceWaiter(c.ID, t, o, clock.Nanotime())
				percpu.Count(c, percpu.EvEpollWakeQueued)
				woke, queued = true, true
			}
		case s.CPUs[o].Cur != sched.None: // a CPU is idle, or another naps: MakeRunnable would send it there
			if h = thread.ClaimHaltedFor(c, threadtab.EvUntimed); h == nil {
				break
			}
			if n, took := fdcalls.EpollTake(i, t); took {
				thread.EndWait(t, n)
				s.HandOffExpired(o, t, h.ID) // its timeout cancelled in o's heap, which c may change now
				thread.Kick(h)
				percpu.Count(c, percpu.EvEpollWakeHandOff)
				woke = true
			} else {
				thread.Unclaim(h)
			}
		}
	}
	klock.Files.Release(c, true, since, tag)
	return woke, queued
}
