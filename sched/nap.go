package sched

import "sync/atomic"

// Naps: a short nanosleep answered without the kernel lock (issue 18).
// The Go runtime sleeps a few microseconds at a time, and often: sysmon's
// usleep(20) while the program is busy, a spinning M's usleep(3) before
// it steals. On the locked path each is a block, a Schedule, a timer
// expiry and a wake-up, two kernel-lock holds or more.
// When no thread waits for any CPU, blocking would only halt the CPU, so
// the kernel halts it right away, with its own timer armed for the
// deadline and the sleeper still Running (kernel/fastsleep.go): a nap.
//
// The scheduler sees a napping thread as running. Two things differ:
//
//   - A thread queued on the napping CPU must end the nap at once (the
//     sleeper would otherwise keep the CPU until its slice ends), so
//     MakeRunnable sends that CPU a wake IPI (the napping CPU itself,
//     queueing from a device interrupt during its nap, sends none: its
//     nap looks at its queue), and the nap then ends. The rest of the
//     sleep blocks (under the CPU's run-queue lock, kernel.sleepBlock,
//     or on the locked path), which hands the CPU to the queued thread;
//     a nap that reached its deadline meanwhile returns, yielding to the
//     queued thread at the kick it sends its own CPU (kernel.napEnded),
//     or on the locked path, which yields first. The napper sets
//     its mark with a locked instruction before it reads the run queues,
//     and MakeRunnable reads the mark with a locked instruction after its
//     push, so one of them sees the other (x86 orders locked instructions
//     with every load and store).
//   - A nap is not CPU time. While it lasts, the thread's LastRun holds
//     the time it had run uncharged when the nap began, encoded as a
//     negative number (napCharge), so that a reading taken under the
//     kernel lock on another CPU (ProcessCPUNow) counts none of the nap
//     and never goes backwards: the mark and its removal are one store
//     each. ProcessCPUNow keeps its answers rising all the same (the
//     napper's clock readings are a moment off a reader's).

// BeginNap starts a nap of t, the thread running on CPU c, at now, unless
// some thread waits in a run queue (stealing it beats sleeping) or the
// CPU holds a thread that is not running. It reports whether the nap
// began; if so the caller must call EndNap.
// Context: trap on CPU c, no lock held (or the simulator's one event);
// does not allocate.
func (s *Scheduler) BeginNap(c int, t TID, now int64) bool {
	p := &s.CPUs[c]
	if p.Cur != t || s.Threads[t].State != Running {
		return false
	}
	atomic.StoreInt32(&p.napping, 1) // an XCHG: ordered before the loads below
	if s.mistake != mistakeNapIgnoresQueues {
		for i := 0; i < s.NCPU; i++ {
			if s.CPUs[i].RunQ.size != 0 {
				atomic.StoreInt32(&p.napping, 0)
				return false
			}
		}
	}
	th := &s.Threads[t]
	atomic.StoreInt64(&th.LastRun, napCharge(now-th.LastRun))
	atomic.AddUint32(&th.Naps, 1)
	return true
}

// EndNap ends CPU c's nap of t, begun at began, at now: t's uncharged
// time starts running again from now, less what it had before the nap.
// Context: trap on CPU c, no lock held (or the simulator's one event);
// does not allocate.
func (s *Scheduler) EndNap(c int, t TID, began, now int64) {
	th := &s.Threads[t]
	atomic.StoreInt64(&th.LastRun, now-uncharged(atomic.LoadInt64(&th.LastRun), now))
	atomic.AddInt64(&th.NapNs, now-began)
	atomic.StoreInt32(&s.CPUs[c].napping, 0)
}

// Napping reports whether CPU c naps, with a locked read: one ordered
// after the caller's stores (see the comment at the top).
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) Napping(c int) bool {
	return atomic.AddInt32(&s.CPUs[c].napping, 0) != 0
}

// napCharge encodes d, the time a napping thread ran uncharged before
// its nap, as its LastRun: a negative number, which no clock reading is.
// Context: any; does not allocate.
func napCharge(d int64) int64 { return -1 - max(d, 0) }

// uncharged returns the time a running thread whose LastRun is lastRun
// has run since its last charge, at now: during a nap, what it had run
// when the nap began. Context: any; does not allocate.
func uncharged(lastRun, now int64) int64 {
	if lastRun < 0 {
		return -1 - lastRun
	}
	return now - lastRun
}
