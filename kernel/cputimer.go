package kernel

import (
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// CPU-time timers deliver SIGPROF for the Go runtime's CPU profiler: the
// per-thread POSIX timers it makes with timer_create(CLOCK_THREAD_CPUTIME_ID,
// SIGEV_THREAD_ID) and the process-wide setitimer(ITIMER_PROF). Thread CPU
// time is charged whenever a thread leaves the CPU or a timer interrupt
// arrives (chargeCPU); armTimer makes sure an interrupt arrives when the
// running thread's next expiry is due.
const maxCPUTimers = 64

type cpuTimer struct {
	used     bool
	armed    bool
	process  bool      // ITIMER_PROF: process CPU time, signal to the running thread
	target   sched.TID // thread whose CPU time counts and who gets the signal
	signo    int
	value    uint64 // sigev_value
	interval int64
	next     int64 // expiry, in the clock's nanoseconds
	overrun  int32
}

var (
	cpuTimers  [maxCPUTimers]cpuTimer
	nArmed     int                // armed timers, so the common case costs nothing
	processCPU int64              // CPU time of all threads, ns
	itimerProf = maxCPUTimers - 1 // slot reserved for setitimer(ITIMER_PROF)
)

// cpuClock returns the current value of timer k's clock.
func cpuClock(k *cpuTimer) int64 {
	if k.process {
		return processCPU
	}
	return threads[k.target].cpuTime
}

// chargeCPU adds the time c.cur ran since its last charge and fires the
// CPU-time timers that expired. Context: trap.
func chargeCPU(c *percpu, now int64) {
	if c.cur == noThread {
		return
	}
	th := &threads[c.cur]
	d := now - th.lastRun
	th.lastRun = now
	if d <= 0 {
		return
	}
	th.cpuTime += d
	processCPU += d
	if nArmed == 0 {
		return
	}
	for id := range cpuTimers {
		k := &cpuTimers[id]
		if !k.armed || (!k.process && k.target != c.cur) {
			continue
		}
		clock := cpuClock(k)
		if clock < k.next {
			continue
		}
		over := int32(0)
		if k.interval > 0 {
			n := (clock-k.next)/k.interval + 1
			k.next += n * k.interval
			over = int32(n - 1)
		} else {
			k.armed = false
			nArmed--
		}
		target, code := k.target, int32(siTimer)
		if k.process {
			target, code = c.cur, siKernel
		}
		sendSignal(target, k.signo, code, uint64(uint32(id))|uint64(uint32(over))<<32, k.value)
	}
}

// deleteThreadTimers deletes the per-thread CPU-time timers that count t's
// time or signal t, which is exiting: left alone they would fire for the
// next thread to take t's slot. Context: trap, kernel lock held; does not
// allocate.
func deleteThreadTimers(t sched.TID) {
	for id := 0; id < itimerProf; id++ {
		k := &cpuTimers[id]
		if !k.used || k.target != t || k.process {
			continue
		}
		if k.armed {
			nArmed--
		}
		*k = cpuTimer{}
	}
}

// nextCPUExpiry returns the monotonic time at which the running thread's
// earliest CPU-time timer expires, or 0.
// Context: trap, kernel lock held; does not allocate.
func nextCPUExpiry(c *percpu, now int64) int64 {
	if nArmed == 0 || c.cur == noThread {
		return 0
	}
	var best int64
	for id := range cpuTimers {
		k := &cpuTimers[id]
		if !k.armed || (!k.process && k.target != c.cur) {
			continue
		}
		at := now + max(k.next-cpuClock(k), 0)
		if best == 0 || at < best {
			best = at
		}
	}
	return best
}

// sysTimerCreate implements timer_create for CPU-time clocks with
// SIGEV_SIGNAL or SIGEV_THREAD_ID notification.
// Context: trap, kernel lock held; does not allocate.
func sysTimerCreate(t sched.TID, clock int, sevp, idp uintptr) int64 {
	k := cpuTimer{used: true, target: t, signo: int(unix.SIGALRM)}
	switch clock {
	case unix.CLOCK_THREAD_CPUTIME_ID:
	case unix.CLOCK_PROCESS_CPUTIME_ID:
		k.process = true
	default:
		return -_EINVAL // wall-clock POSIX timers: not needed by the runtime
	}
	if sevp != 0 {
		b, ok := userBytes(sevp, 20, false)
		if !ok {
			return -_EFAULT
		}
		k.value = le64(b)
		k.signo = int(int32(le32(b[8:])))
		notify := int32(le32(b[12:]))
		switch notify {
		case sigevSignal:
		case sigevThreadID:
			tid := int(int32(le32(b[16:])))
			if tid < 1 || tid > sched.MaxThreads || threads[tid-1].state == threadFree {
				return -_EINVAL
			}
			k.target = sched.TID(tid - 1)
		default:
			return -_EINVAL
		}
		if k.signo < 1 || k.signo > nsig {
			return -_EINVAL
		}
	}
	for id := 0; id < itimerProf; id++ {
		if !cpuTimers[id].used {
			if !userWrite32(idp, uint32(id)) {
				return -_EFAULT
			}
			cpuTimers[id] = k
			return 0
		}
	}
	return -_EAGAIN
}

// sysTimerSettime arms (or, with a zero value, disarms) a timer.
// Context: trap, kernel lock held; does not allocate.
func sysTimerSettime(id, flags int, newv, oldv uintptr) int64 {
	if id < 0 || id >= itimerProf || !cpuTimers[id].used {
		return -_EINVAL
	}
	interval, e1 := readTimespec(newv)
	value, e2 := readTimespec(newv + 16)
	if e1 != 0 {
		return e1
	}
	if e2 != 0 {
		return e2
	}
	return settime(&cpuTimers[id], interval, value, flags&unix.TIMER_ABSTIME != 0, oldv, false)
}

// settime re-arms k and reports the previous setting at oldv (as an
// itimerspec, or an itimerval when timeval is set).
// Context: trap, kernel lock held; does not allocate.
func settime(k *cpuTimer, interval, value int64, absolute bool, oldv uintptr, timeval bool) int64 {
	if oldv != 0 {
		var left int64
		if k.armed {
			left = max(k.next-cpuClock(k), 1)
		}
		if !writeTimerPair(oldv, k.interval, left, timeval) {
			return -_EFAULT
		}
	}
	if k.armed {
		nArmed--
	}
	k.armed = value != 0
	k.interval = interval
	if k.armed {
		nArmed++
		k.next = value
		if !absolute {
			k.next += cpuClock(k)
		}
	}
	return 0
}

// writeTimerPair stores an interval and a value at addr as an itimerval
// (timeval set) or an itimerspec. Context: trap, kernel lock held; does not allocate.
func writeTimerPair(addr uintptr, interval, value int64, timeval bool) bool {
	if timeval {
		return userWrite64(addr, uint64(interval/1e9)) && userWrite64(addr+8, uint64(interval%1e9/1e3)) &&
			userWrite64(addr+16, uint64(value/1e9)) && userWrite64(addr+24, uint64(value%1e9/1e3))
	}
	return writeTimespec(addr, interval) && writeTimespec(addr+16, value)
}

func sysTimerDelete(id int) int64 {
	if id < 0 || id >= itimerProf || !cpuTimers[id].used {
		return -_EINVAL
	}
	if cpuTimers[id].armed {
		nArmed--
	}
	cpuTimers[id] = cpuTimer{}
	return 0
}

// sysSetitimer implements ITIMER_PROF (the runtime's process-wide
// profiling timer). ITIMER_REAL and ITIMER_VIRTUAL are not needed by the
// runtime and return EINVAL.
// Context: trap, kernel lock held; does not allocate.
func sysSetitimer(which int, newv, oldv uintptr) int64 {
	if which != unix.ITIMER_PROF {
		return -_EINVAL
	}
	var interval, value int64
	if newv != 0 {
		b, ok := userBytes(newv, 32, false)
		if !ok {
			return -_EFAULT
		}
		interval = int64(le64(b))*1e9 + int64(le64(b[8:]))*1e3
		value = int64(le64(b[16:]))*1e9 + int64(le64(b[24:]))*1e3
		if interval < 0 || value < 0 {
			return -_EINVAL
		}
	}
	k := &cpuTimers[itimerProf]
	k.used, k.process, k.signo = true, true, int(unix.SIGPROF)
	if newv == 0 { // only report
		return settimeReport(k, oldv)
	}
	return settime(k, interval, value, false, oldv, true)
}

// settimeReport writes k's interval and time left at oldv (an itimerval)
// without changing it. Context: trap, kernel lock held; does not allocate.
func settimeReport(k *cpuTimer, oldv uintptr) int64 {
	var left int64
	if k.armed {
		left = max(k.next-cpuClock(k), 1)
	}
	if oldv != 0 && !writeTimerPair(oldv, k.interval, left, true) {
		return -_EFAULT
	}
	return 0
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
