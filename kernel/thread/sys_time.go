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

// ClockNow returns clock clockID's current value in nanoseconds, or false for an
// unknown clock.
// Context: trap, with the kernel lock held or not (fastTrap's lock-free
// clock_gettime reads the per-thread CPU times unlocked); does not
// allocate.
func ClockNow(t sched.TID, clockID int) (int64, bool) {
	switch clockID {
	case unix.CLOCK_REALTIME, unix.CLOCK_REALTIME_COARSE, unix.CLOCK_TAI:
		return clock.WallAtBoot() + clock.Nanotime(), true
	case unix.CLOCK_MONOTONIC, unix.CLOCK_MONOTONIC_RAW, unix.CLOCK_MONOTONIC_COARSE, unix.CLOCK_BOOTTIME:
		return clock.Nanotime(), true
	case unix.CLOCK_THREAD_CPUTIME_ID:
		return threadtab.Sched.ThreadCPUNow(t, clock.Nanotime()), true // t is running: add its current stretch
	case unix.CLOCK_PROCESS_CPUTIME_ID:
		return threadtab.Sched.ProcessCPUNow(clock.Nanotime()), true
	}
	return 0, false
}

// SysClockGettime serves the runtime's nanotime and walltime. (A vDSO
// would save the trap; see docs.)
// Context: trap, kernel lock held; does not allocate.
func SysClockGettime(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	clockID, tp := int(a[0]), a[1]
	ns, ok := ClockNow(t, clockID)
	if !ok {
		return -abi.EINVAL
	}
	if !WriteTimespec(tp, ns) {
		return -abi.EFAULT
	}
	return 0
}

// SysClockGetres reports a 1 ns resolution for every known clock.
// Context: trap, kernel lock held; does not allocate.
func SysClockGetres(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	clockID, tp := int(a[0]), a[1]
	if _, ok := ClockNow(0, clockID); !ok {
		return -abi.EINVAL
	}
	if tp != 0 && !WriteTimespec(tp, 1) {
		return -abi.EFAULT
	}
	return 0
}

// SysGettimeofday writes the wall time as a timeval at tv (no time zone).
// Context: trap, kernel lock held; does not allocate.
func SysGettimeofday(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	tv := a[0]
	if tv == 0 {
		return 0
	}
	ns := clock.WallAtBoot() + clock.Nanotime()
	if !vm.UserWrite64(tv, uint64(ns/1e9)) || !vm.UserWrite64(tv+8, uint64(ns%1e9/1e3)) {
		return -abi.EFAULT
	}
	return 0
}
