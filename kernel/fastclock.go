package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
	"golang.org/x/sys/unix"
)

// fastClockGettime answers clock_gettime without the kernel lock (fastTrap)
// and reports whether it did. The timespec is written with vm.Store64,
// which fails instead of faulting anything in: a page not mapped yet (the
// runtime's fresh memory, or one another CPU just unmapped) sends the call
// to the locked path, which faults it in or answers EFAULT, as Linux
// does. Before the stores it refuses (locked path) a pointer that is
// unaligned, outside the user half, over kernel state, or in a mapped page
// the program may not write (vm.MayAccessLockFree: the store would only
// fault there), and CLOCK_PROCESS_CPUTIME_ID, which reads
// every CPU's running thread. The store that lands is safe against a
// concurrent munmap because c.InUser is still set (see userTrap).
// Context: trap, kernel lock not held; does not allocate.
func fastClockGettime(c *percpu.CPU, f *x86.TrapFrame) bool {
	tp := uintptr(f.SI)
	if tp%8 != 0 || tp > vm.UserTop-16 || vm.IsKernelState(tp, 16, true) ||
		!vm.MayAccessLockFree(tp, true) || !vm.MayAccessLockFree(tp+8, true) {
		return false // fault it in (or refuse it: EFAULT) under the lock
	}
	if int32(f.DI) == unix.CLOCK_PROCESS_CPUTIME_ID {
		return false // it reads every CPU's running thread: under the lock
	}
	ns, ok := thread.ClockNow(threadtab.Sched.CPUs[c.ID].Cur, int(int32(f.DI)))
	if !ok {
		f.AX = errnoResult(abi.EINVAL)
		return true
	}
	if !vm.Store64(tp, uint64(ns/1e9)) || !vm.Store64(tp+8, uint64(ns%1e9)) {
		return false // a page is not mapped (yet): the locked path decides
	}
	f.AX = 0
	return true
}
