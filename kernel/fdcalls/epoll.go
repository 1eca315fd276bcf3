package fdcalls

import (
	"math/bits"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/console"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// epoll instances: an interest list each and at most one waiting thread.
// Readiness is checked when a thread waits and whenever a descriptor's
// state changes (epollNotify), so a waiter wakes without polling.
const (
	maxEpolls       = 8
	maxEpollEntries = fdtab.MaxFDs
	epollEventSize  = 12 // struct epoll_event is packed on amd64
	// epollPrivate are the bits of an entry's events that are not
	// readiness (Linux's EP_PRIVATE_BITS): an entry holding no other
	// reports nothing.
	epollPrivate = unix.EPOLLET | unix.EPOLLONESHOT | unix.EPOLLWAKEUP | unix.EPOLLEXCLUSIVE
	// epollMaxEvents is the most events one wait may ask for, Linux's
	// EP_MAX_EVENTS (INT_MAX over the event's size); more is EINVAL.
	epollMaxEvents = (1<<31 - 1) / epollEventSize
)

type epollEntry struct {
	fd      int32
	events  uint32
	data    uint64
	lastSeq uint64 // the file's seq when last reported (EPOLLET)
	used    bool
}

type epollInstance struct {
	used bool
	// hi bounds the used entries: entries[hi:] are all unused, so the
	// loops over an interest list stop there instead of at
	// maxEpollEntries (EpollCtl fills the first free slot).
	hi      int
	entries [maxEpollEntries]epollEntry
	waiter  sched.TID
}

var epolls [maxEpolls]epollInstance

// epollWatch has, for each descriptor, bit i set when epoll instance i
// has a used entry for it: epollNotify, epollForgetFD and EpollCtl
// go straight to those instances instead of scanning every interest list.
var epollWatch [fdtab.MaxFDs]uint8

// Bound to the bits of an epollWatch element.
var _ [8 - maxEpolls]struct{}

// live returns ep's entries that may be used: entries[:hi].
// Context: trap, files lock held; does not allocate.
func (ep *epollInstance) live() []epollEntry { return ep.entries[:ep.hi] }

// find returns the slot of fd's entry in instance i, -1 if none.
// Context: trap, files lock held; does not allocate.
func find(i, fd int) int {
	if epollWatch[fd]&(1<<i) == 0 {
		return -1
	}
	ep := &epolls[i]
	for k := range ep.live() {
		if ep.entries[k].used && int(ep.entries[k].fd) == fd {
			return k
		}
	}
	return -1
}

// addEntry puts e (used, its fd not yet in the list) into instance i's
// first free slot and returns the slot, -1 when the list is full.
// Context: trap, files lock held; does not allocate.
func addEntry(i int, e epollEntry) int {
	ep := &epolls[i]
	k := 0
	for k < ep.hi && ep.entries[k].used {
		k++
	}
	if k == maxEpollEntries {
		return -1
	}
	ep.entries[k] = e
	ep.hi = max(ep.hi, k+1)
	epollWatch[e.fd] |= 1 << i
	return k
}

// removeEntry drops slot k of instance i from its interest list.
// Context: trap, files lock held; does not allocate.
func removeEntry(i, k int) {
	ep := &epolls[i]
	epollWatch[ep.entries[k].fd] &^= 1 << i
	ep.entries[k].used = false
	for ep.hi > 0 && !ep.entries[ep.hi-1].used {
		ep.hi--
	}
}

// releaseEpoll frees instance i (its descriptor closed): the
// descriptors it watched stop naming it in epollWatch.
// Context: trap, kernel lock held; does not allocate.
func releaseEpoll(i int) {
	ep := &epolls[i]
	for k := range ep.live() {
		if ep.entries[k].used {
			epollWatch[ep.entries[k].fd] &^= 1 << i
		}
	}
	ep.used = false
}

// SysEpollCreate creates an epoll instance and its descriptor.
// Context: trap, kernel lock held; does not allocate.
func SysEpollCreate(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	flags := int(a[0])
	if flags&^unix.EPOLL_CLOEXEC != 0 {
		return -abi.EINVAL
	}
	for i := range epolls {
		if epolls[i].used {
			continue
		}
		fd := fdtab.Alloc(fdtab.KindEpoll, flags)
		if fd < 0 {
			return -abi.EMFILE
		}
		// Cleared, then set: a literal with non-zero fields would be a
		// 32 KiB copy kept in the image's rodata.
		epolls[i] = epollInstance{}
		epolls[i].used, epolls[i].waiter = true, sched.None
		fdtab.Files[fd].Epoll = i
		return int64(fd)
	}
	return -abi.EMFILE
}

// EpollCtl is epoll_ctl(2), under the files lock held shared and
// fdtab.EpollHeld (package kernel's fileTrap serves every epoll_ctl there): an entry added or
// changed, whose events may be ready now, is recorded (fdtab.Notify) for
// a thread waiting in that instance, which the kernel lock's path then
// wakes (RecordsNeedKernel tells fileTrap so; socketEvents,
// NotifyEpolls), as for a stream call.
// Context: trap, files lock held; does not allocate.
func EpollCtl(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	epfd, op, fd, ev := int(a[0]), int(a[1]), int(a[2]), a[3]
	spin.LockWord(&fdtab.EpollHeld)
	r, changed := epollCtl(epfd, op, fd, ev)
	spin.UnlockWord(&fdtab.EpollHeld)
	if changed {
		fdtab.Notify(fd)
	}
	return r
}

// EpollCtlRefusedUnlocked reports whether epoll_ctl(epfd, op, fd, ev)
// answers EPERM because fd is a file or directory of the root file
// system, read without the files lock: epfd an epoll instance, fd
// another descriptor, of kind fdtab.KindFile and not O_PATH (Linux's
// fdget does not find that: EBADF on the locked path, PathHide), and,
// for an op that reads the event, an event that can be read now without
// a lock (vm.ReadLockFree; else the locked path reads it, faulting its
// page in, and answers EFAULT first if it cannot, as Linux). The Go
// runtime offers every file it opens to its poller and
// takes the refusal as "not pollable": one of the ten calls of an
// os.ReadFile. The answer changes nothing; the two descriptors' words
// are read in a load each, so a program that closes one of them while
// another thread calls epoll_ctl on the pair may get EPERM or what the
// locked path answers. Context: trap, no lock held; does not allocate.
func EpollCtlRefusedUnlocked(epfd, op, fd int, ev uintptr) bool {
	e, okE := fdtab.LoadFlags(epfd)
	w, okF := fdtab.LoadFlags(fd)
	if !okE || !okF || epfd == fd || e.Kind() != fdtab.KindEpoll || w.Kind() != fdtab.KindFile {
		return false
	}
	var event [epollEventSize]byte
	if op != unix.EPOLL_CTL_DEL && !vm.ReadLockFree(event[:], ev) {
		return false
	}
	fl, ok := descFlags(fd, w)
	return ok && fl&unix.O_PATH == 0 // an O_PATH descriptor: EBADF (PathHide), on the path with the lock
}

// epollCtl adds, modifies or deletes fd's entry in an epoll instance and
// returns the call's result, and whether an entry was added or changed
// (its events may be ready now: the caller wakes or records).
// Context: trap, files lock held; does not allocate.
func epollCtl(epfd, op, fd int, ev uintptr) (int64, bool) {
	// Linux's order: the event (every op but EPOLL_CTL_DEL reads it),
	// the two descriptors, whether fd can be polled, then whether epfd
	// is another epoll instance.
	var events uint32
	var data uint64
	if op != unix.EPOLL_CTL_DEL {
		b, ok := vm.UserBytes(ev, epollEventSize, false)
		if !ok {
			return -abi.EFAULT, false
		}
		// EPOLLERR and EPOLLHUP are always reported, until an
		// EPOLLONESHOT entry fires (collect), as Linux's do_epoll_ctl
		// adds them.
		events = uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24 | unix.EPOLLERR | unix.EPOLLHUP
		for i := 0; i < 8; i++ {
			data |= uint64(b[4+i]) << (8 * i)
		}
	}
	// The two descriptors' words in a load each: opens and pipe2s beside
	// make descriptors (fdtab.AllocDesc stores the word atomically); a
	// close beside frees one under fdtab.EpollHeld (closeStreamShared).
	ew, _ := fdtab.LoadFlags(epfd)
	tw, _ := fdtab.LoadFlags(fd)
	if ew.Kind() == fdtab.KindFree || tw.Kind() == fdtab.KindFree {
		return -abi.EBADF, false
	}
	switch tw.Kind() {
	case fdtab.KindFile, fdtab.KindDev, fdtab.KindMemFile, fdtab.KindProcFD:
		return -abi.EPERM, false // as Linux for files that do not support polling
	}
	if ew.Kind() != fdtab.KindEpoll || fd == epfd {
		return -abi.EINVAL, false
	}
	i := fdtab.Files[epfd].Epoll
	ep := &epolls[i]
	slot := find(i, fd)
	switch op {
	case unix.EPOLL_CTL_ADD:
		if slot >= 0 {
			return -abi.EEXIST, false
		}
		if addEntry(i, epollEntry{fd: int32(fd), events: events, data: data, lastSeq: ^uint64(0), used: true}) < 0 {
			return -abi.ENOMEM, false
		}
		return 0, true
	case unix.EPOLL_CTL_MOD:
		if slot < 0 {
			return -abi.ENOENT, false
		}
		e := &ep.entries[slot]
		e.events, e.data, e.lastSeq = events, data, ^uint64(0)
		return 0, true
	case unix.EPOLL_CTL_DEL:
		if slot < 0 {
			return -abi.ENOENT, false
		}
		removeEntry(i, slot)
		return 0, false
	}
	return -abi.EINVAL, false
}

// readiness returns the epoll events fd is ready for.
// Context: trap (a system call, or an interrupt through epollNotify),
// files lock held (a console's input is read without its kernel lock
// under the files lock alone, EpollWaitNow; its transmit queue's room
// under the queue's word lock, console.TxRoom, since writes change it
// beside); does not allocate.
func readiness(fd int) uint32 {
	f := fdtab.Get(fd)
	if f == nil {
		return 0
	}
	switch f.Kind {
	case fdtab.KindEventfd:
		r := uint32(unix.EPOLLOUT)
		if f.Counted() > 0 { // written beside (StreamCall)
			r |= unix.EPOLLIN
		}
		return r
	case fdtab.KindIRQ:
		if f.Counted() > 0 { // counted beside (devices.IRQInterruptShared)
			return unix.EPOLLIN
		}
		return 0
	case fdtab.KindSocket:
		return socket.SockReadiness(f.Socket)
	case fdtab.KindPipe:
		return fsys.PipeReadiness(vfs.DescOf(f))
	case fdtab.KindUnix:
		return socket.Usocks().Poll(f.Socket)
	case fdtab.KindNetlink:
		return socket.NetlinkReadiness(f.Socket)
	case fdtab.KindNetCtl:
		if atomic.LoadInt32(&socket.DirtyCount) > 0 { // a socket's write beside may mark one (socket.TellStack)
			return unix.EPOLLIN
		}
		return 0
	case fdtab.KindConsole:
		var ev uint32
		if console.Readable() {
			ev |= unix.EPOLLIN
		}
		if qi := console.VconQueueOf(f.Stream); qi < 0 || console.TxRoom(qi) {
			ev |= unix.EPOLLOUT
		}
		return ev
	}
	return 0
}

// due returns the events entry e reports now (none where its descriptor
// is ready for none it asks for or, edge-triggered, nothing changed
// since its last report) and the sequence the report stands for. The
// sequence is loaded before the readiness: the calls beside (the files
// lock held shared: StreamCall) change a descriptor first and bump its
// sequence after (a socket's data move, an eventfd's write), so a
// report of a sequence sees the change it stands for. Loaded after, a
// readiness from before the change (a socket's EPOLLOUT alone, before
// the stack's move put data in) could be reported with the new
// sequence, and the change's EPOLLIN edge never would.
// Context: trap, files lock held; does not allocate.
func (e *epollEntry) due() (uint32, uint64) {
	seq := atomic.LoadUint64(&fdtab.Files[e.fd].Seq)
	if e.events&unix.EPOLLET != 0 && seq == e.lastSeq {
		return 0, seq // nothing new since the last report
	}
	return readiness(int(e.fd)) & e.events, seq
}

// collect writes up to max ready events of ep to the user buffer at out and
// returns how many (negative errno on a bad buffer).
// Context: trap (a system call, or an interrupt through epollNotify),
// files lock held; does not allocate.
func collect(ep *epollInstance, out uintptr, max int) int64 {
	n := 0
	for i := range ep.live() {
		if n == max {
			break
		}
		e := &ep.entries[i]
		if !e.used {
			continue
		}
		r, seq := e.due()
		if r == 0 {
			continue
		}
		b, ok := vm.UserBytes(out+uintptr(n*epollEventSize), epollEventSize, true)
		if !ok {
			return -abi.EFAULT
		}
		for k := 0; k < 4; k++ {
			b[k] = byte(r >> (8 * k))
		}
		for k := 0; k < 8; k++ {
			b[4+k] = byte(e.data >> (8 * k))
		}
		e.lastSeq = seq
		if e.events&unix.EPOLLONESHOT != 0 {
			e.events &= epollPrivate // disarmed, EPOLLERR and EPOLLHUP too, until EPOLL_CTL_MOD
		}
		n++
	}
	return int64(n)
}

// SysEpollWait returns ready events, or blocks t until one arrives or the
// timeout (ms; -1 forever) passes. It runs under the kernel lock with the
// files lock held shared (package kernel's doSyscall), beside other
// CPUs' file calls, which may make a descriptor ready after its first
// look (EpollWaitNow) and before t waits: nameWaiter looks again once t
// is the waiter.
// Context: trap, kernel lock held, files lock held (shared or
// exclusively); does not allocate.
func SysEpollWait(c *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	epfd, events, max, timeoutMs := int(a[0]), a[1], int(a[2]), int(int32(a[3]))
	if n, done := EpollWaitNow(epfd, events, max, timeoutMs); done {
		return n
	}
	ep := &epolls[fdtab.Files[epfd].Epoll]
	if n := nameWaiter(ep, t, events, max); n != 0 {
		return n
	}
	thread.BlockIn(t, threadtab.WaitEpoll, &ep.waiter)
	heap := threadtab.EvUntimed
	if timeoutMs > 0 {
		thread.SetTimer(t, clock.Nanotime()+int64(timeoutMs)*1e6)
		heap = threadtab.EvTimedOn(c.ID) // SetTimer's heap: this CPU's
	}
	EpollBlocked(t, &ep.waiter, heap)
	return thread.Blocked
}

// nameWaiter names t the waiter of ep, then collects ep's events into
// out: those it wrote (or a negative errno), with t no longer the
// waiter, or 0 with t named, to wait (SysEpollWait, EpollWaitBlock);
// EINVAL, naming nobody, when another thread waits there already (one
// waiter per instance is all the runtime needs). In that order, under
// the interest lists' lock, because a stream call, an eventfd's write or
// an epoll_ctl beside (the files lock held shared) may make a descriptor
// ready at any time: either the change comes before the look, which
// finds it, or after t was named, when the records' check of the call
// that made it (RecordsNeedKernel: the record is an atomic write, the
// waiter's an atomic load after it) finds t and takes the kernel lock's
// path, which wakes t once it waits (NotifyEpolls). An epoll_ctl holds
// the lists' lock, so it comes wholly before or after. Where the events
// go (out, max) is t's before it is named: a call beside that finds t
// named and blocked collects them there (handOffWaiter); it finds t
// blocked only once t's wait says so (EpollBlocked).
// Context: trap, kernel lock held, or t's CPU's run-queue lock
// (EpollWaitBlock), files lock held; does not allocate.
func nameWaiter(ep *epollInstance, t sched.TID, out uintptr, max int) int64 {
	spin.LockWord(&fdtab.EpollHeld)
	n := -abi.EINVAL
	th := &threadtab.Threads[t] // t runs: named in no instance, so no call beside reads these
	th.EvAddr, th.EvMax, th.EvHeap = out, max, threadtab.EvNotBlocked
	if atomic.CompareAndSwapInt32((*int32)(&ep.waiter), int32(sched.None), int32(t)) {
		n = collect(ep, out, max)
		if n != 0 {
			atomic.StoreInt32((*int32)(&ep.waiter), int32(sched.None))
		}
	}
	spin.UnlockWord(&fdtab.EpollHeld)
	return n
}

// handOffWaiter wakes the waiter of ep without the kernel lock, from a
// file call (or a device interrupt) on CPU c that made a descriptor ep
// watches ready (RecordsNeedKernel): when the waiter has blocked
// (EpollBlocked) and a CPU halted in its idle loop can run it at once,
// the one whose heap holds its timeout or, with none, any, c itself
// when a device interrupt came to its idle loop
// (thread.ClaimHaltedFor), its events are collected into its buffer,
// its slot cleared, and it is marked handed off and pushed into that
// CPU's inbox (thread.HandOffWoken), in one hold of the interest lists'
// lock; that CPU runs it under its own
// run-queue lock (sched.Scheduler.RunHandedOff: its epoll_wait returns
// the count, thread.EndHandedOffWait), with a wake IPI sent once the
// caller has released the files lock (c.KickMask, thread.SendKicks).
// Before, each such wake took the kernel lock: about half of its
// acquisitions in an HTTP server at 2 vCPUs (docs/performance.md).
// Every other end of the wait takes the interest lists' lock first and
// clears the slot (thread.LeaveEpollSlot: a signal's, the timeout's;
// epollNotify), so it either comes first, and this finds nobody named,
// or finds the mark and leaves the wait to the hand-off. It reports
// wakeKernel when the waiter needs the kernel lock's path, named still:
// not blocked yet, or no
// frame to fault a page of its buffer in again (a madvise beside gave it
// back: vm.OutOfMemory, which that path acts on, stopping the program),
// so that the thread never runs on with an EFAULT that path would not
// give it; wakeBusy, nothing changed, when no halted CPU could take it
// and an event is due for it: its timeout's CPU (for one with no
// timeout, the CPU it blocked on), which the caller finds running a
// thread, napping or not, or not, under that CPU's run-queue lock (anyDue; that CPU in c.EpollBusyOn:
// the caller may queue it there under the run-queue locks, EpollTake);
// wakeDone when it handed the waiter off (with EFAULT for a bad buffer,
// as that path answered it), found nobody named, or found nothing due
// for it (its claim of the CPU given back, or no trip to the kernel
// lock's path for it).
// Context: trap, on CPU c, files lock held, kernel lock not held; does
// not allocate.
func handOffWaiter(c *percpu.CPU, ep *epollInstance) int {
	spin.LockWord(&fdtab.EpollHeld)
	t := sched.TID(atomic.LoadInt32((*int32)(&ep.waiter)))
	if t == sched.None {
		spin.UnlockWord(&fdtab.EpollHeld)
		return wakeDone
	}
	th := &threadtab.Threads[t]
	o := thread.ClaimHaltedFor(c, th.EvHeap)
	if o == nil {
		r, busy := wakeKernel, threadtab.EvHeapCPU(th.EvHeap)
		if th.EvHeap == threadtab.EvUntimed {
			busy = threadtab.Sched.Threads[t].CPU // where it blocked: a look, checked again under that CPU's run-queue lock
		}
		switch {
		case busy >= 0 && !anyDue(ep):
			r = wakeDone // nothing for it: no kernel lock's trip
		case busy >= 0:
			r, c.EpollBusyOn = wakeBusy, int32(busy)
		}
		spin.UnlockWord(&fdtab.EpollHeld)
		return r
	}
	n, took := takeEvents(ep, t)
	if took {
		th.EvResult = n
		thread.HandOffWoken(c, o, t) // in the hold: LeaveEpollSlot's callers look at the mark after theirs
	} else {
		thread.Unclaim(o) // nothing due for this waiter, or no frame for its buffer
	}
	spin.UnlockWord(&fdtab.EpollHeld)
	if n < 0 && !took { // no frame to fault its buffer in: the kernel lock's path stops the program
		return wakeKernel
	}
	return wakeDone
}

// anyDue reports whether collect would report an event of ep now,
// without reporting it (no entry's last report changes).
// Context: trap, files lock and the interest lists' lock held; does not
// allocate.
func anyDue(ep *epollInstance) bool {
	for i := range ep.live() {
		if e := &ep.entries[i]; e.used {
			if r, _ := e.due(); r != 0 {
				return true
			}
		}
	}
	return false
}

// What handOffWaiter did.
const (
	wakeDone   = iota // handed off, nobody named, or nothing due
	wakeBusy          // blocked, no halted CPU for it: the caller may wake it under the run-queue lock of the CPU it blocked on (c.EpollBusyOn; EpollTake)
	wakeKernel        // the kernel lock's path wakes it
)

// EpollWaiter returns the thread named the waiter of epoll instance i, or
// sched.None: the waiter a records' check found blocked on a busy CPU
// (RecordsNeedKernel: c.EpollBusy), for package
// kernel's epollWakeBusy to look at under that CPU's run-queue lock
// before it takes it (EpollTake). Context: trap, files lock held, a
// run-queue lock held; does not allocate. A root of tools/trapcheck's
// files-lock domain, so not inlined.
//
//go:noinline
func EpollWaiter(i int) sched.TID { return sched.TID(atomic.LoadInt32((*int32)(&epolls[i].waiter))) }

// EpollTake collects the events of epoll instance i into the buffer of
// t, its waiter, blocked (EpollBlocked: not merely named), clears the
// waiter slot and returns the count
// (EFAULT for a bad buffer, as the kernel lock's path answers) and true,
// in one hold of the interest lists' lock: package kernel's
// epollWakeBusy, under the run-queue locks of the caller's CPU and of
// that CPU, which keep t blocked and its timeout where it is (its CPU's
// expiry and the kernel lock's wakes wait for them), then queues t on
// that CPU. It reports false, nothing changed, when the instance was
// closed meanwhile (the kernel lock's path wakes nobody there either), t
// is no longer the waiter (a hand-off beside took it) or has not said it
// blocked, a page of its buffer is not mapped (vm.UserMapped: a
// fault-in would wait for the memory lock, and may allocate a frame,
// inside the two run-queue locks' hold; a madvise or munmap since the
// block gave it back), nothing is due for it, or no frame was left to
// fault a page in again (vm.OutOfMemory: the kernel lock's path acts on
// it).
// Context: trap, files lock held shared, the run-queue locks of the
// caller's CPU and of t's held; does not allocate. A root of
// tools/trapcheck's files-lock domain, so not inlined.
//
//go:noinline
func EpollTake(i int, t sched.TID) (int64, bool) {
	ep := &epolls[i]
	th := &threadtab.Threads[t]
	spin.LockWord(&fdtab.EpollHeld)
	n, took := int64(0), false
	if takeable(ep, t) && vm.UserMapped(th.EvAddr, uintptr(th.EvMax*epollEventSize), true) {
		n, took = takeEvents(ep, t)
	}
	spin.UnlockWord(&fdtab.EpollHeld)
	return n, took
}

// takeEvents collects ep's events into the buffer of t, its waiter, and
// takes t off the waiter slot when the wait is over: events written, or
// EFAULT for a bad buffer, as the kernel lock's path answers it; not
// when nothing is due or no frame was left to fault a page of the
// buffer in again (vm.OutOfMemory, which that path acts on, stopping
// the program): handOffWaiter, EpollTake. It returns the count (or the
// errno) and whether it took t.
// Context: trap, files lock and the interest lists' lock held; does not
// allocate.
func takeEvents(ep *epollInstance, t sched.TID) (int64, bool) {
	th := &threadtab.Threads[t]
	n := collect(ep, th.EvAddr, th.EvMax)
	took := n > 0 || n < 0 && !vm.OutOfMemory()
	if took {
		th.WaitSlot = 0
		atomic.StoreInt32((*int32)(&ep.waiter), int32(sched.None))
	}
	return n, took
}

// takeable reports whether EpollTake may take t from ep: ep is open, t
// is its waiter and has said it blocked (EpollBlocked).
// Context: trap, the interest lists' lock held; does not allocate.
func takeable(ep *epollInstance, t sched.TID) bool {
	return ep.used && atomic.LoadInt32((*int32)(&ep.waiter)) == int32(t) && threadtab.Threads[t].EvHeap != threadtab.EvNotBlocked
}

// EpollWaitBlock is epoll_wait(2) and epoll_pwait(2) for thread t that
// is about to block under its CPU's run-queue lock, without the kernel
// lock (package kernel's epollBlock): as SysEpollWait, it answers
// (answered set) when events are ready, the arguments are bad, or
// another thread waits on the instance (EINVAL), and otherwise names t
// the instance's waiter (nameWaiter) and returns the waiter slot, which
// t's wait records (thread.WaitIn), for t to block in the same hold of
// the run-queue lock. A thread that makes a descriptor ready beside it
// then finds t named and, until t's wait says it has blocked
// (EpollBlocked, last in that hold), takes the kernel lock's path to
// wake it (RecordsNeedKernel, NotifyEpolls), whose holder waits for that
// run-queue lock: it finds t blocked; after, it may hand t's wake off
// (handOffWaiter). The descriptor is looked up again
// (the files lock was let go since fileTrap's first look). It reports
// neither an answer nor a slot, nothing changed, when a page of the
// events' buffer is not mapped (vm.UserMapped: its fault-in would wait
// for the memory lock inside the run-queue lock's hold): the kernel
// lock's path serves the call.
// Context: trap, t's CPU's run-queue lock held, files lock held shared;
// does not allocate. A root of tools/trapcheck's files-lock domain, so
// not inlined.
//
//go:noinline
func EpollWaitBlock(t sched.TID, epfd int, events uintptr, max, timeoutMs int) (n int64, slot *sched.TID, answered bool) {
	if fdtab.Get(epfd) != nil && max > 0 && max <= epollMaxEvents && !vm.UserMapped(events, uintptr(max*epollEventSize), true) {
		return 0, nil, false // the locked path answers in Linux's order, and faults pages in
	}
	if n, done := EpollWaitNow(epfd, events, max, timeoutMs); done {
		return n, nil, true
	}
	ep := &epolls[fdtab.Files[epfd].Epoll]
	if n := nameWaiter(ep, t, events, max); n != 0 {
		return n, nil, true
	}
	return 0, &ep.waiter, false
}

// EpollBlocked says that t, named the waiter whose slot is slot
// (nameWaiter), has blocked, its timeout, if it has one, in the timer
// heap heap names (threadtab.EvTimedOn; threadtab.EvUntimed for none):
// from then on a file
// call beside that makes a descriptor of the instance ready may collect
// its events and hand its wake to an idle CPU (handOffWaiter), where
// before it took the kernel lock's path. Nothing changes if the slot
// names t no longer.
// Context: trap, kernel lock held with the files lock (SysEpollWait), or
// t's CPU's run-queue lock with the files lock held shared (package
// kernel's blockOnEpoll), t blocked; does not allocate. A root of
// tools/trapcheck's files-lock domain, so not inlined.
//
//go:noinline
func EpollBlocked(t sched.TID, slot *sched.TID, heap int32) {
	spin.LockWord(&fdtab.EpollHeld)
	if atomic.LoadInt32((*int32)(slot)) == int32(t) {
		threadtab.Threads[t].EvHeap = heap
	}
	spin.UnlockWord(&fdtab.EpollHeld)
}

// EpollUnwait takes t off the waiter slot that EpollWaitBlock named it
// in, if it still names t: a signal came before t blocked, and the
// kernel lock's path serves the call again.
// Context: trap, t's CPU's run-queue lock held, files lock held shared;
// does not allocate. A root of tools/trapcheck's files-lock domain, so
// not inlined.
//
//go:noinline
func EpollUnwait(t sched.TID, slot *sched.TID) {
	spin.LockWord(&fdtab.EpollHeld)
	atomic.CompareAndSwapInt32((*int32)(slot), int32(t), int32(sched.None))
	spin.UnlockWord(&fdtab.EpollHeld)
}

// EpollWaitNow is epoll_wait(2) and epoll_pwait(2) under the files lock
// alone, for the calls that do not wait: it answers as SysEpollWait
// would when events are ready, the timeout is 0 (the runtime's
// non-blocking netpoll) or the arguments are bad, and reports false,
// having changed nothing (no event reported, no waiter set), where
// SysEpollWait would make the thread wait: the kernel lock's path then
// looks again and waits. The descriptors' readiness is read as
// SysEpollWait reads it; a console's is the console's state: its input,
// which its interrupt changes under the kernel lock, read here without
// it, a word each, so some value it had (an answer an instant old, as
// any readiness is by the time the program acts on it), and its
// transmit queues' room, which writes and the interrupt change beside it
// under each queue's word lock, read under that lock (console.TxRoom).
// Context: trap, files lock held, kernel lock not held; does not
// allocate.
func EpollWaitNow(epfd int, events uintptr, max, timeoutMs int) (int64, bool) {
	// Linux's order (measured on 6.18, examples/badcalls): the
	// descriptor, the count, the buffer, then whether it is an epoll
	// instance.
	ef := fdtab.Get(epfd)
	if ef == nil {
		return -abi.EBADF, true
	}
	if max <= 0 || max > epollMaxEvents {
		return -abi.EINVAL, true
	}
	if !vm.UserRange(events, uintptr(max*epollEventSize), true) {
		return -abi.EFAULT, true
	}
	if ef.Kind != fdtab.KindEpoll {
		return -abi.EINVAL, true
	}
	spin.LockWord(&fdtab.EpollHeld)
	n := collect(&epolls[ef.Epoll], events, max)
	spin.UnlockWord(&fdtab.EpollHeld)
	return n, n != 0 || timeoutMs == 0
}

// NotifyEpolls acts on the descriptors the sockets, pipes and devices
// recorded as changed (fdtab.Notify): each epoll instance watching one of
// them collects its events and wakes its waiter, and the records are
// cleared. Package kernel calls it at the end of every system call and
// device interrupt (socketEvents). Context: trap, kernel lock held; does
// not allocate.
func NotifyEpolls() {
	if !fdtab.NotifyPending.Load() {
		return
	}
	fdtab.NotifyPending.Store(false)
	for fd := fdtab.NotifyFDs.Take(); fd >= 0; fd = fdtab.NotifyFDs.Take() {
		epollNotify(fd)
	}
}

// epollNotify wakes the waiter of every instance watching fd (epollWatch)
// if fd now has events for it. It reads the watchers, and collects and
// clears the waiter slot in one hold, under the interest lists' lock, as
// an epoll_ctl or a wait that does not wait may change the lists beside
// (the files lock held shared) and a file call beside may hand the
// waiter off (handOffWaiter: it finds the slot cleared); it wakes after
// the release: a word lock's holder waits for no other lock.
// Context: trap, kernel lock held, files lock held; does not allocate.
func epollNotify(fd int) {
	spin.LockWord(&fdtab.EpollHeld)
	m := epollWatch[fd]
	spin.UnlockWord(&fdtab.EpollHeld)
	for ; m != 0; m &= m - 1 {
		ep := &epolls[bits.TrailingZeros8(m)]
		if !ep.used {
			continue
		}
		spin.LockWord(&fdtab.EpollHeld)
		t, n := ep.waiter, int64(0)
		if t != sched.None {
			th := &threadtab.Threads[t]
			if n = collect(ep, th.EvAddr, th.EvMax); n != 0 {
				th.WaitSlot = 0
				atomic.StoreInt32((*int32)(&ep.waiter), int32(sched.None))
			}
		}
		spin.UnlockWord(&fdtab.EpollHeld)
		if n != 0 {
			thread.Wake(t, n)
		}
	}
}

// epollForgetFD drops a closed descriptor from every interest list.
// Context: trap, files lock held exclusively, or shared and fdtab.EpollHeld
// held (closeStreamShared); does not allocate.
func epollForgetFD(fd int) {
	for m := epollWatch[fd]; m != 0; m &= m - 1 {
		i := bits.TrailingZeros8(m)
		if k := find(i, fd); k >= 0 {
			removeEntry(i, k)
		}
	}
}
