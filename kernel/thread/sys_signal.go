package thread

import (
	"encoding/binary"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Signal state: the handlers (process-wide), masks and alternate stacks
// (per thread), kept as Linux keeps them. Delivery is in signal.go.
const nsig = abi.NSig

// sigaction is the kernel's struct sigaction on amd64.
type sigaction struct {
	handler, flags, restorer, mask uint64
}

// sigactions are the process's handlers, the signals lock's
// (klock.Signals): rt_sigaction changes an entry under it, and a delivery
// reads its entry under it (takePending). The handler word alone is also
// read without the lock (ignored, RaiseFault): it is stored with an
// atomic store, one aligned word.
var sigactions [nsig + 1]sigaction

// sigactionSigOK reports whether rt_sigaction may read (act 0) or set
// sig's action: not for a bad signal number, nor a new action for
// SIGKILL or SIGSTOP (EINVAL, which Linux checks after it has read the
// new action). Context: trap; does not allocate.
func sigactionSigOK(sig int, act uintptr) bool {
	return sig >= 1 && sig <= nsig && (act == 0 || sig != int(unix.SIGKILL) && sig != int(unix.SIGSTOP))
}

// decodeSigaction reads a struct sigaction, SIGKILL and SIGSTOP taken
// out of its mask as Linux takes them (a later rt_sigaction reports the
// mask without them). Context: trap; does not allocate.
func decodeSigaction(b []byte) sigaction {
	return sigaction{le64(b), le64(b[8:]), le64(b[16:]), le64(b[24:]) &^ unblockable}
}

// encodeSigaction writes a as the struct sigaction rt_sigaction reports.
// Context: trap; does not allocate.
func encodeSigaction(b *[32]byte, a sigaction) {
	binary.LittleEndian.PutUint64(b[0:], a.handler)
	binary.LittleEndian.PutUint64(b[8:], a.flags)
	binary.LittleEndian.PutUint64(b[16:], a.restorer)
	binary.LittleEndian.PutUint64(b[24:], a.mask)
}

// setAction installs next as sig's action. A signal whose new action
// ignores it (SIG_IGN, or SIG_DFL for a signal whose default is to
// ignore it) is discarded from every thread's pending set, as Linux's
// do_sigaction discards it, blocked or not. Context: trap, signals lock
// held; does not allocate.
func setAction(sig int, next sigaction) {
	a := &sigactions[sig]
	a.flags, a.restorer, a.mask = next.flags, next.restorer, next.mask
	atomic.StoreUint64(&a.handler, next.handler)
	if !ignored(sig) {
		return
	}
	for i := range threadtab.Threads {
		atomic.AndUint64(&threadtab.Threads[i].Pending, ^sigbit(sig))
	}
}

// SysRtSigaction reads and sets a signal's action (process-wide); SIGKILL
// and SIGSTOP cannot be changed. As on Linux, the sigset size is checked
// first, then the new action read (EFAULT), then the signal
// (sigactionSigOK), each error changing nothing; the new action is
// installed before the old one is written (EFAULT then reports a change
// that was made). Context: trap, on CPU c, kernel lock held; does not
// allocate.
func SysRtSigaction(c *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	sig, act, oact, size := int(a[0]), a[1], a[2], a[3]
	if size != 8 {
		return -abi.EINVAL
	}
	var next sigaction
	if act != 0 {
		b, ok := vm.UserBytes(act, 32, false)
		if !ok {
			return -abi.EFAULT
		}
		next = decodeSigaction(b)
	}
	if !sigactionSigOK(sig, act) {
		return -abi.EINVAL
	}
	klock.Signals.Lock(c)
	old := sigactions[sig]
	if act != 0 {
		setAction(sig, next)
	}
	klock.Signals.Unlock(c)
	if oact != 0 {
		var b [32]byte
		encodeSigaction(&b, old)
		ob, ok := vm.UserBytes(oact, 32, true)
		if !ok {
			return -abi.EFAULT
		}
		copy(ob, b[:])
	}
	return 0
}

// TrySigaction is rt_sigaction on CPU c without the kernel lock (package
// kernel's fast path), for a call that succeeds: the new action is read
// with the fault-tolerant copy, which faults nothing in
// (vm.ReadLockFree), the old one copied under the signals lock and
// written with it (outside the lock, which is never held across a
// user-memory access), and the new one installed under the lock again,
// if the action is still the one written (an rt_sigaction of the same
// signal on another CPU in between: the old action is written anew, a
// few times at most before the locked path takes over). It reports
// false, having installed nothing, for any call that fails or whose
// memory is not mapped: the locked path (SysRtSigaction) serves it, with
// Linux's errno, and writes the old action whole. That path reads the
// new action again, so a call whose two structs overlap (which the Go
// runtime never makes: it passes one or the other) is left to it from
// the start: a write here could have changed the new one.
// Context: trap, on c, kernel lock not held, interrupts off; does not
// allocate.
func TrySigaction(c *percpu.CPU, sig int, act, oact, size uintptr) bool {
	if size != 8 || !sigactionSigOK(sig, act) || act != 0 && oact != 0 && overlap32(act, oact) {
		return false
	}
	var next sigaction
	if act != 0 {
		var b [32]byte
		if !vm.ReadLockFree(b[:], act) {
			return false
		}
		next = decodeSigaction(b[:])
	}
	for range sigactionTries {
		klock.Signals.Lock(c)
		old := sigactions[sig]
		klock.Signals.Unlock(c)
		if oact != 0 {
			var b [32]byte
			encodeSigaction(&b, old)
			if !vm.WriteLockFree(oact, b[:]) {
				return false
			}
		}
		if act == 0 {
			return true
		}
		klock.Signals.Lock(c)
		same := sigactions[sig] == old
		if same {
			setAction(sig, next)
		}
		klock.Signals.Unlock(c)
		if same {
			return true
		}
	}
	return false
}

// sigactionTries is how many times TrySigaction writes the old action
// before it leaves a call whose signal's action keeps changing to the
// locked path.
const sigactionTries = 4

// overlap32 reports whether the 32-byte structs at a and b overlap.
// Context: trap; does not allocate.
func overlap32(a, b uintptr) bool { return a < b+32 && b < a+32 }

// SysRtSigprocmask changes t's signal mask (SIGKILL and SIGSTOP stay
// unblocked) and reports the old one. Context: trap, kernel lock held; does not allocate.
func SysRtSigprocmask(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	how, set, oset, size := int(a[0]), a[1], a[2], a[3]
	if size != 8 {
		return -abi.EINVAL
	}
	th := &threadtab.Threads[t]
	old := th.Sigmask
	if set != 0 {
		s, ok := vm.UserRead64(set)
		if !ok {
			return -abi.EFAULT
		}
		next, ok := maskAfter(old, how, s)
		if !ok {
			return -abi.EINVAL
		}
		// The way back to ring 3 (package kernel's load) looks at the
		// pending signals after this store.
		atomic.StoreUint64(&th.Sigmask, next&^unblockable)
	}
	if oset != 0 && !vm.UserWrite64(oset, old) {
		atomic.StoreUint64(&th.Sigmask, old)
		return -abi.EFAULT
	}
	return 0
}

// maskAfter returns the mask that rt_sigprocmask's how makes of old and
// set, and false for a how that is none of SIG_BLOCK, SIG_UNBLOCK and
// SIG_SETMASK. Context: trap; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func maskAfter(old uint64, how int, set uint64) (uint64, bool) {
	switch how {
	case unix.SIG_BLOCK:
		return old | set, true
	case unix.SIG_UNBLOCK:
		return old &^ set, true
	case unix.SIG_SETMASK:
		return set, true
	}
	return old, false
}

// TrySigprocmask is rt_sigprocmask for t, running on CPU c, without the
// kernel lock (package kernel's fast path), for a call that succeeds:
// it reads the new set and writes the old mask with the fault-tolerant
// copies, which fault nothing in (vm.ReadLockFree), and only then
// changes the mask (setOwnMask: a pending signal it unblocks is
// delivered right after the call). It reports false, changing nothing,
// for any call that fails or whose memory is not mapped: the locked
// path (SysRtSigprocmask) serves it, with Linux's errno. (The old mask
// is written only within one page, so a write that faults has written
// nothing: set may be the same buffer, which the locked path reads
// again.)
// Context: trap, on c, kernel lock not held, interrupts off; does not
// allocate.
func TrySigprocmask(c *percpu.CPU, t sched.TID, how int, set, oset, size uintptr) bool {
	if size != 8 {
		return false
	}
	old := threadtab.Threads[t].Sigmask
	next := old
	if set != 0 {
		var b [8]byte
		ok := false
		if !vm.ReadLockFree(b[:], set) {
			return false
		}
		if next, ok = maskAfter(old, how, le64(b[:])); !ok {
			return false
		}
	}
	if oset != 0 {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], old)
		if !onePage(oset, 8) || !vm.WriteLockFree(oset, b[:]) {
			return false
		}
	}
	if set != 0 {
		setOwnMask(c, t, next)
	}
	return true
}

// SysSigaltstack reads and sets t's alternate signal stack, a stack_t on
// amd64: ss_sp (8), ss_flags (4, padded to 8), ss_size (8). The new one
// is read before the old one is written, as Linux does (the two may be
// the same buffer). Context: trap, kernel lock held; does not allocate.
func SysSigaltstack(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	ss, oss := a[0], a[1]
	th := &threadtab.Threads[t]
	next := th.AltStack
	if ss != 0 {
		b, ok := vm.UserBytes(ss, 24, false)
		if !ok {
			return -abi.EFAULT
		}
		var errno int64
		if next, errno = altStackAfter(b); errno != 0 {
			return -errno
		}
	}
	if oss != 0 {
		var b [24]byte
		putAltStack(&b, th.AltStack)
		ob, ok := vm.UserBytes(oss, 24, true)
		if !ok {
			return -abi.EFAULT
		}
		copy(ob, b[:])
	}
	th.AltStack = next
	return 0
}

// altStackAfter returns the alternate stack that the stack_t b asks
// for, or Linux's errno for a bad one (EINVAL for unknown flags, ENOMEM
// for a stack below MINSIGSTKSZ). SS_ONSTACK in the flags means what 0
// does, as on Linux; SS_AUTODISARM is not supported (EINVAL).
// Context: trap; does not allocate.
func altStackAfter(b []byte) ([3]uint64, int64) {
	sp, flags, size := le64(b), uint64(uint32(le64(b[8:]))), le64(b[16:])
	switch {
	case flags == ssDisable:
		return [3]uint64{}, 0
	case flags != 0 && flags != ssOnstack:
		return [3]uint64{}, abi.EINVAL
	case size < minSigStackSize:
		return [3]uint64{}, abi.ENOMEM
	}
	return [3]uint64{sp, 0, size}, 0
}

// putAltStack writes alt as the stack_t that sigaltstack reports:
// SS_DISABLE in its flags when there is none.
// Context: trap; does not allocate.
func putAltStack(b *[24]byte, alt [3]uint64) {
	flags := alt[1]
	if alt[2] == 0 {
		flags = ssDisable
	}
	binary.LittleEndian.PutUint64(b[0:], alt[0])
	binary.LittleEndian.PutUint64(b[8:], flags)
	binary.LittleEndian.PutUint64(b[16:], alt[2])
}

// TrySigaltstack is sigaltstack for t, running on CPU c, without the
// kernel lock (package kernel's fast path), for a call that succeeds:
// the memory is read and written with the fault-tolerant copies
// (vm.ReadLockFree), the old stack within one page (as TrySigprocmask
// writes the old mask). It reports false, changing nothing, for any call
// that fails or whose memory is not mapped: the locked path
// (SysSigaltstack) serves it. The alternate stack is t's alone (its own
// signal deliveries read it).
// Context: trap, on t's CPU, kernel lock not held; does not allocate.
func TrySigaltstack(t sched.TID, ss, oss uintptr) bool {
	th := &threadtab.Threads[t]
	next := th.AltStack
	if ss != 0 {
		var b [24]byte
		var errno int64
		if !vm.ReadLockFree(b[:], ss) {
			return false
		}
		if next, errno = altStackAfter(b[:]); errno != 0 {
			return false
		}
	}
	if oss != 0 {
		var b [24]byte
		putAltStack(&b, th.AltStack)
		if !onePage(oss, 24) || !vm.WriteLockFree(oss, b[:]) {
			return false
		}
	}
	th.AltStack = next
	return true
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// sigaltstack constants (asm-generic/signal.h).
const (
	ssDisable       = 2
	minSigStackSize = 2048
)

// onePage reports whether [addr, addr+n) lies within one page, n > 0.
// Context: trap; does not allocate.
func onePage(addr, n uintptr) bool { return addr>>12 == (addr+n-1)>>12 }
