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
// (fasttimer.go's expireSleepers clears the waiter slot in its hold).
// The wake-up that events bring stays the kernel lock's: a file call or
// device interrupt that makes a descriptor ready finds the thread named
// (fdcalls.RecordsNeedKernel) and takes that lock's path
// (fdcalls.NotifyEpolls), whose holder waits for every run-queue lock,
// so it finds the thread blocked, never named and still running.

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
// blockOnWord. It reports switchMade (t blocked; c still switches from
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
		th := &threadtab.Threads[t]
		th.RestartNr = w.nr
		th.EvAddr, th.EvMax = a[1], int(a[2])
		thread.WaitIn(t, threadtab.WaitEpoll, slot)
		threadtab.Sched.DeviceWaitHere(c.ID, t, w.deadline)
		if thread.SignalPendingFenced(t) {
			fdcalls.EpollUnwait(t, slot)
			threadtab.Sched.Unsleep(t)
			thread.WaitIn(t, threadtab.WaitNone, nil)
			r = switchRefused
		}
	}
	klock.Files.Release(c, true, since, tag)
	return r
}
