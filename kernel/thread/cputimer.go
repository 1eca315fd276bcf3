package thread

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// CPU-time timers deliver SIGPROF for the Go runtime's CPU profiler: the
// per-thread POSIX timers it makes with timer_create(CLOCK_THREAD_CPUTIME_ID,
// SIGEV_THREAD_ID) and the process-wide setitimer(ITIMER_PROF). The
// accounting and the timer table are the scheduler's (sched/cputime.go):
// thread CPU time is charged whenever a thread leaves the CPU or a timer
// interrupt arrives (ChargeCPU), and sched.Deadline makes sure an
// interrupt arrives when the running thread's next expiry is due. Here are
// the system calls and the signals.

// ChargeCPU adds the time c's thread ran since its last charge and sends
// the signals of the CPU-time timers that expired (sched.Charge,
// sched.NextFired). Context: trap, kernel lock held; does not allocate.
func ChargeCPU(c *percpu.CPU, now int64) {
	threadtab.Sched.Charge(c.ID, now)
	for f, ok := threadtab.Sched.NextFired(c.ID); ok; f, ok = threadtab.Sched.NextFired(c.ID) {
		code := int32(abi.SITimer)
		if f.Process {
			code = abi.SIKernel
		}
		SendSignal(c, f.Target, f.Signo, code, uint64(uint32(f.ID))|uint64(uint32(f.Overrun))<<32, f.Value)
	}
}

// SysTimerCreate implements timer_create for CPU-time clocks with
// SIGEV_SIGNAL or SIGEV_THREAD_ID notification.
// Context: trap, kernel lock held; does not allocate.
func SysTimerCreate(_ *percpu.CPU, t sched.TID, a abi.SysArgs) int64 {
	clock, sevp, idp := int(int32(a[0])), a[1], a[2]
	k := sched.CPUTimer{Used: true, Target: t, Signo: int(unix.SIGALRM)}
	switch clock {
	case unix.CLOCK_THREAD_CPUTIME_ID:
	case unix.CLOCK_PROCESS_CPUTIME_ID:
		k.Process = true
	default:
		return -abi.EINVAL // wall-clock POSIX timers: not needed by the runtime
	}
	if sevp != 0 {
		b, ok := vm.UserBytes(sevp, 20, false)
		if !ok {
			return -abi.EFAULT
		}
		k.Value = le64(b)
		k.Signo = int(int32(le32(b[8:])))
		notify := int32(le32(b[12:]))
		switch notify {
		case sigevSignal:
		case sigevThreadID:
			tid := int(int32(le32(b[16:])))
			if tid < 1 || tid > sched.MaxThreads || State(sched.TID(tid-1)) == threadFree {
				return -abi.EINVAL
			}
			k.Target = sched.TID(tid - 1)
		default:
			return -abi.EINVAL
		}
		if k.Signo < 1 || k.Signo > nsig {
			return -abi.EINVAL
		}
	}
	for id := 0; id < sched.ITimerProf; id++ {
		if !threadtab.Sched.CPUTimers[id].Used {
			if !vm.UserWrite32(idp, uint32(id)) {
				return -abi.EFAULT
			}
			threadtab.Sched.CPUTimers[id] = k
			return 0
		}
	}
	return -abi.EAGAIN
}

// SysTimerSettime arms (or, with a zero value, disarms) a timer.
// Context: trap, kernel lock held; does not allocate.
func SysTimerSettime(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	id, flags, newv, oldv := int(int32(a[0])), int(a[1]), a[2], a[3]
	if id < 0 || id >= sched.ITimerProf || !threadtab.Sched.CPUTimers[id].Used {
		return -abi.EINVAL
	}
	interval, e1 := ReadTimespec(newv)
	value, e2 := ReadTimespec(newv + 16)
	if e1 != 0 {
		return e1
	}
	if e2 != 0 {
		return e2
	}
	return settime(&threadtab.Sched.CPUTimers[id], interval, value, flags&unix.TIMER_ABSTIME != 0, oldv, false, true)
}

// settime reports k's previous setting at oldv (as an itimerspec, or
// an itimerval when timeval is set) and then, if arm is set, re-arms k.
// Context: trap, kernel lock held; does not allocate.
func settime(k *sched.CPUTimer, interval, value int64, absolute bool, oldv uintptr, timeval, arm bool) int64 {
	if oldv != 0 {
		for j, ns := range [2]int64{k.Interval, threadtab.Sched.CPUTimerLeft(k)} {
			at, sub := oldv+uintptr(j)*16, ns%1e9 // a timespec's nanoseconds
			if timeval {
				sub /= 1e3 // a timeval's microseconds
			}
			if !vm.UserWrite64(at, uint64(ns/1e9)) || !vm.UserWrite64(at+8, uint64(sub)) {
				return -abi.EFAULT
			}
		}
	}
	if arm {
		threadtab.Sched.SetCPUTimer(k, interval, value, absolute)
	}
	return 0
}

// SysTimerDelete implements timer_delete.
// Context: trap, kernel lock held; does not allocate.
func SysTimerDelete(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	id := int(int32(a[0]))
	if id < 0 || id >= sched.ITimerProf || !threadtab.Sched.CPUTimers[id].Used {
		return -abi.EINVAL
	}
	threadtab.Sched.DeleteCPUTimer(id)
	return 0
}

// SysSetitimer implements ITIMER_PROF (the runtime's process-wide
// profiling timer). ITIMER_REAL and ITIMER_VIRTUAL are not needed by the
// runtime and return EINVAL.
// Context: trap, kernel lock held; does not allocate.
func SysSetitimer(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	which, newv, oldv := int(a[0]), a[1], a[2]
	if which != unix.ITIMER_PROF {
		return -abi.EINVAL
	}
	var interval, value int64
	if newv != 0 {
		b, ok := vm.UserBytes(newv, 32, false)
		if !ok {
			return -abi.EFAULT
		}
		interval = int64(le64(b))*1e9 + int64(le64(b[8:]))*1e3
		value = int64(le64(b[16:]))*1e9 + int64(le64(b[24:]))*1e3
		if interval < 0 || value < 0 {
			return -abi.EINVAL
		}
	}
	k := &threadtab.Sched.CPUTimers[sched.ITimerProf]
	k.Used, k.Process, k.Signo = true, true, int(unix.SIGPROF)
	return settime(k, interval, value, false, oldv, true, newv != 0) // newv 0: only report
}

// sigevent notification kinds.
const (
	sigevSignal   = 0
	sigevThreadID = 4
)

func le32(b []byte) uint32 {
	_ = b[3]
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}
