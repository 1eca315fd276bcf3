package thread

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// cloneThreadFlags must all be present: we create threads, not processes.
const cloneThreadFlags = unix.CLONE_VM | unix.CLONE_THREAD | unix.CLONE_SIGHAND

// SysClone creates a thread sharing everything with its parent, as the Go
// runtime's newosproc asks. The child resumes at the same instruction with
// RAX = 0 on the given stack. Context: trap.
func SysClone(_ *percpu.CPU, parent sched.TID, a abi.SysArgs) int64 {
	flags, stack, ptid, ctid, tls := uint64(a[0]), a[1], a[2], a[3], a[4]
	if flags&cloneThreadFlags != cloneThreadFlags {
		return -abi.EINVAL // fork and friends: there is one process
	}
	t := New()
	if t == noThread {
		return -abi.EAGAIN
	}
	p, ch := &threadtab.Threads[parent], &threadtab.Threads[t]
	ch.Regs = p.Regs
	ch.Regs.AX = 0
	if stack != 0 {
		ch.Regs.RSP = uint64(stack)
	}
	ch.FSBase = p.FSBase
	if flags&unix.CLONE_SETTLS != 0 {
		ch.FSBase = tls
	}
	ch.Sigmask = p.Sigmask
	SyncFPU(percpu.This()) // the parent runs here: its x87 state may be live
	copy(unsafeSlice(ch.FX, 512), unsafeSlice(p.FX, 512))
	if flags&unix.CLONE_PARENT_SETTID != 0 && !vm.UserWrite32(ptid, uint32(threadtab.LinuxTID(t))) {
		threadtab.Sched.Release(t)
		return -abi.EFAULT
	}
	if flags&unix.CLONE_CHILD_SETTID != 0 {
		vm.UserWrite32(ctid, uint32(threadtab.LinuxTID(t)))
	}
	if flags&unix.CLONE_CHILD_CLEARTID != 0 {
		ch.ClearTID = ctid
	}
	threadtab.Sched.Threads[t].CPU = place(threadtab.Sched.Threads[parent].CPU)
	MakeRunnable(t)
	return threadtab.LinuxTID(t)
}

// Futex operations (linux/futex.h).
const (
	FutexOpWait       = 0
	FutexOpWake       = 1
	FutexCmdMask      = 0x7f // drops FUTEX_PRIVATE_FLAG and FUTEX_CLOCK_REALTIME
	FutexOpWaitBitset = 9
	FutexOpWakeBitset = 10
	futexBitsetMatch  = 0xffffffff
)

// SysFutex implements FUTEX_WAIT (with a relative timeout) and FUTEX_WAKE,
// and their bitset forms (a bitset of 0 is EINVAL; any other matches
// every waiter, the Go runtime's only use). The errors come in Linux's
// order: the timeout's (EFAULT, EINVAL), the bitset's, the address's
// alignment (EINVAL), the word's (EFAULT). napDeadline, when not 0, is
// the deadline of a timed FUTEX_WAIT that the lock-free path sent on
// here, its nap cut short or refused (package kernel's fastfutex.go):
// the call's timeout began there, and the wait ends at that deadline,
// not a timeout's length from now.
// Context: trap, kernel lock held.
func SysFutex(t sched.TID, addr uintptr, op int, val uint32, timeout uintptr, val3 uint32, napDeadline int64) int64 {
	switch cmd := op & FutexCmdMask; cmd {
	case FutexOpWait, FutexOpWaitBitset:
		deadline, errno := futexDeadline(cmd, timeout, napDeadline)
		if errno != 0 {
			return errno
		}
		if cmd == FutexOpWaitBitset && val3 == 0 || addr%4 != 0 {
			return -abi.EINVAL
		}
		// Counted as a waiter before reading the word, until queued: the
		// lock-free FUTEX_WAKE (fastFutexWake) relies on it.
		threadtab.Sched.Futexes.Reserve(addr)
		r := futexWaitOn(t, addr, val, deadline)
		threadtab.Sched.Futexes.Unreserve(addr)
		return r
	case FutexOpWake, FutexOpWakeBitset:
		if cmd == FutexOpWakeBitset && val3 == 0 || addr%4 != 0 {
			return -abi.EINVAL
		}
		if addr > vm.UserTop-4 || vm.IsKernelState(addr, 4, true) {
			return -abi.EFAULT // as Linux: a kernel address (the kernel's own wait keys live up there)
		}
		return int64(futexWake(addr, int(int32(val))))
	}
	return -abi.ENOSYS
}

// futexWaitOn is FUTEX_WAIT's decision, between SysFutex's Reserve and
// Unreserve of addr: read the word, and queue t on addr if it still holds
// val. The read and the queueing are one step under addr's futex bucket
// lock, which a lock-free FUTEX_WAKE takes too (HandOffFutexWake): it
// finds t queued, or t reads the word it stored. The page is faulted in
// before the bucket lock is taken; an unmap takes the kernel lock, which
// this holds, but a madvise beside may give the page back (under the
// memory lock alone: memcalls.AdviseFree), and the read under the bucket
// lock, which faults nothing in (the bucket lock is a leaf), then fails:
// the page is faulted in again with the bucket lock released, and the
// read tried again (vm.UserTries). deadline is when the wait times out
// (futexDeadline), 0 for never.
// Context: trap, kernel lock held; does not allocate.
func futexWaitOn(t sched.TID, addr uintptr, val uint32, deadline int64) int64 {
	var cur uint32
	ok := false
	for try := 0; !ok && try < vm.UserTries; try++ {
		if !vm.UserRange(addr, 4, false) {
			return -abi.EFAULT
		}
		threadtab.Sched.Futexes.Lock(addr)
		cur, ok = vm.Load32(addr)
		if ok && cur == val {
			threadtab.Sched.Futexes.WaitLocked(t, addr)
		}
		threadtab.Sched.Futexes.Unlock(addr)
	}
	switch {
	case !ok:
		return -abi.EFAULT
	case cur != val:
		return -abi.EAGAIN
	}
	Block(t, threadtab.WaitFutex)
	if deadline != 0 {
		SetTimer(t, deadline)
	}
	return Blocked
}

// futexDeadline returns when a FUTEX_WAIT (cmd) with the timeout at
// timeout times out, 0 for never (no timeout), or the timeout's errno
// (EFAULT, EINVAL). FUTEX_WAIT's timeout is relative, FUTEX_WAIT_BITSET's
// absolute on CLOCK_MONOTONIC; napDeadline (SysFutex) replaces the first.
// Context: trap, kernel lock held; does not allocate.
func futexDeadline(cmd int, timeout uintptr, napDeadline int64) (int64, int64) {
	switch {
	case timeout == 0:
		return 0, 0
	case napDeadline != 0:
		return napDeadline, 0
	}
	ns, errno := ReadTimespec(timeout)
	switch {
	case errno != 0:
		return 0, errno
	case cmd == FutexOpWaitBitset:
		return max(ns, 1), 0
	}
	return clock.Nanotime() + ns, 0
}

// futexWake wakes up to n threads waiting on addr and returns how many.
// Context: trap, kernel lock held; does not allocate.
func futexWake(addr uintptr, n int) int {
	woke := 0
	for woke < n {
		w, how := threadtab.Sched.Futexes.WakeOne(addr)
		if w == noThread {
			break
		}
		woke++
		if how != sched.WokeBlocked { // its FUTEX_WAIT naps on its CPU (kernel/fastfutex.go): the wake ended it
			wokeNapper(w, how)
			continue
		}
		threadtab.Threads[w].Wait = threadtab.WaitNone // already off the futex queue
		Wake(w, 0)
	}
	return woke
}

// SysNanosleep blocks t for the timespec at req (relative, or absolute on
// the monotonic clock). Context: trap.
func SysNanosleep(t sched.TID, req, rem uintptr, absolute bool, clockOffset int64) int64 {
	ns, e := ReadTimespec(req)
	if e != 0 {
		return e
	}
	deadline := clock.Nanotime() + ns
	if absolute {
		deadline, rem = ns-clockOffset, 0 // Linux reports no time left for an absolute sleep
	}
	return SleepReporting(t, deadline, rem)
}

// SleepReporting is SleepUntil for a nanosleep that reports the time
// left at rem (0: none) if a signal ends it (InterruptWait).
// Context: trap, kernel lock held; does not allocate.
func SleepReporting(t sched.TID, deadline int64, rem uintptr) int64 {
	r := SleepUntil(t, deadline)
	if r == Blocked {
		threadtab.Threads[t].SleepRem = rem
	}
	return r
}

// SleepUntil blocks t until deadline on the monotonic clock (0 at once
// if it has passed). Context: trap, kernel lock held; does not allocate.
func SleepUntil(t sched.TID, deadline int64) int64 {
	if deadline <= clock.Nanotime() {
		return 0
	}
	Block(t, threadtab.WaitSleep)
	SetTimer(t, deadline)
	return Blocked
}

// SysClockNanosleep sleeps on the monotonic or the real-time clock,
// relative or absolute (TIMER_ABSTIME), through SysNanosleep.
// Context: trap, kernel lock held; does not allocate.
func SysClockNanosleep(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	clockID, flags, req, rem := int(a[0]), int(a[1]), a[2], a[3]
	var offset int64
	switch clockID {
	case unix.CLOCK_MONOTONIC, unix.CLOCK_BOOTTIME:
	case unix.CLOCK_REALTIME:
		offset = clock.WallAtBoot()
	default:
		return -abi.EINVAL
	}
	return SysNanosleep(t, req, rem, flags&unix.TIMER_ABSTIME != 0, offset)
}

// SysSchedGetaffinity reports the online CPUs in the caller's mask.
// Context: trap, kernel lock held; does not allocate.
func SysSchedGetaffinity(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	size, mask := a[1], a[2]
	if size < 8 || size%8 != 0 {
		return -abi.EINVAL
	}
	var bits uint64
	for i := 0; i < percpu.NOnline; i++ {
		bits |= 1 << i
	}
	if !vm.UserWrite64(mask, bits) {
		return -abi.EFAULT
	}
	return 8
}

// SysArchPrctl sets or reads the thread's FS base (its TLS). GS belongs to
// the kernel.
// Context: trap, kernel lock held; does not allocate.
func SysArchPrctl(c *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	code, addr := int(a[0]), a[1]
	switch code {
	case archSetFS:
		if addr >= vm.UserTop {
			return -abi.EPERM
		}
		threadtab.Threads[t].FSBase = addr
		return 0
	case archGetFS, archGetGS:
		base := uint64(0) // GS: the kernel's, 0 to the program
		if code == archGetFS {
			base = uint64(threadtab.Threads[t].FSBase)
		}
		if !vm.UserWrite64(addr, base) {
			return -abi.EFAULT
		}
		return 0
	}
	return -abi.EINVAL
}

// ReadTimespec reads a struct timespec and returns it in nanoseconds.
// The second result is 0 or a negated errno. Context: trap, kernel lock held; does not allocate.
func ReadTimespec(addr uintptr) (int64, int64) {
	sec, ok1 := vm.UserRead64(addr)
	nsec, ok2 := vm.UserRead64(addr + 8)
	if !ok1 || !ok2 {
		return 0, -abi.EFAULT
	}
	if int64(sec) < 0 || nsec >= 1e9 {
		return 0, -abi.EINVAL
	}
	if int64(sec) > 1<<33 { // about 272 years: treat as forever-ish
		sec = 1 << 33
	}
	return int64(sec)*1e9 + int64(nsec), 0
}

// WriteTimespec stores ns as a struct timespec.
// Context: trap, kernel lock held; does not allocate.
func WriteTimespec(addr uintptr, ns int64) bool {
	return vm.UserWrite64(addr, uint64(ns/1e9)) && vm.UserWrite64(addr+8, uint64(ns%1e9))
}

// arch_prctl codes (asm/prctl.h).
const (
	archGetGS = 0x1004
	archSetFS = 0x1002
	archGetFS = 0x1003
)
