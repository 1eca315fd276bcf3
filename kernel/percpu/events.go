package percpu

// Counts of the kernel entries whose cost decides the scheduler rows of
// docs/performance.md (issue 18): system calls (the lock-free ones too),
// page faults, timer interrupts, the kick IPIs this CPU sent (a
// wake-up or a signal for another CPU), the LAPIC timer's re-arms
// (each an exit to QEMU's device model under TCG) and the page faults of
// the fault-tolerant user accesses (kernel/vm/usercopy.go). They tell where a program's
// kernel time goes without a probe image (docs/architecture.md, "Where a
// system call's time goes"), and package kernel prints them in
// /proc/gometal/sched (kernel/trapstats.go). The table is here, as data,
// so that every layer that counts one (kernel/thread's kicks, package
// kernel's entries and fast paths) writes the same table.

// Event is one of the per-CPU counts: the kernel entries above, and the
// fast paths' answers (kernel/fastpath.go), lock-free or sent on to the
// locked path.
type Event uint8

// The events counted.
const (
	EvSyscall             Event = iota // a system call (the lock-free ones too)
	EvPageFault                        // a page fault from ring 3
	EvPageFaultMem                     // one of those mapped under the memory lock alone (kernel/memfault.go)
	EvMemCallMem                       // an mmap, munmap, mprotect or madvise served under the memory lock alone (kernel.memCall)
	EvMemCallLocked                    // one of those calls sent to the kernel lock's path (its range holds pages, or a file's)
	EvMadviseBeside                    // a madvise that gave touched pages back under the memory lock, beside the other locks' calls (memcalls.AdviseFree)
	EvKernelDemandFault                // a kernel access to the program's memory whose page a madvise beside gave back, faulted in again in ring 0 (kernel.kernelDemandFault)
	EvTimer                            // a timer interrupt in ring 3
	EvKickIPI                          // a kick IPI this CPU sent (a wake-up or a signal elsewhere)
	EvFutexWakeFast                    // FUTEX_WAKE answered without the kernel lock
	EvFutexWakeLocked                  // FUTEX_WAKE sent to the locked path
	EvFutexWaitFast                    // FUTEX_WAIT whose word differs: EAGAIN without the kernel lock
	EvFutexWaitLocked                  // FUTEX_WAIT sent to the locked path
	EvYieldFast                        // sched_yield answered without the kernel lock
	EvYieldLocked                      // sched_yield sent to the locked path
	EvTimerArm                         // a write of the LAPIC timer (armTimer: the deadline changed)
	EvLockHalt                         // a halt while waiting for a kernel lock (kernel/klock/wait.go)
	EvUserAccessFault                  // a kernel access to the program's memory that faulted and was fixed up (vm.FixUserFault)
	EvFileCallFiles                    // a call on a file's descriptor served under the files lock alone (kernel/filetrap.go)
	EvFileCallLocked                   // one of those calls sent to the kernel lock's path (not a file of the root file system)
	EvFileCallWake                     // a call served under the files lock alone whose records then woke a thread on the kernel lock's path (an eventfd or pipe write, say)
	EvKickResent                       // a kick IPI that a lock waiter's halt took, sent again to this CPU (kernel.kickSelfIfTaken)
	EvFutexHandoff                     // a FUTEX_WAKE's waiter handed to a halted or napping CPU without the kernel lock: into its inbox, or queued on a napping CPU (thread.HandOffFutexWake, WakeOntoNapper)
	EvNap                              // a nanosleep answered by a nap, without the kernel lock (kernel/fastsleep.go)
	EvNapLocked                        // a nanosleep sent to the locked path (a signal pending, a request the lock-free read refuses, a block under the run-queue lock refused)
	EvNapCut                           // a nap cut short (a device interrupt, a signal, a hand-off, or a block under the run-queue lock refused): the locked path sleeps the rest
	EvSleepSpin                        // a nanosleep shorter than kernel.spinMaxNs answered by a delay loop, without the kernel lock
	EvFutexNap                         // a FUTEX_WAIT that napped, without the kernel lock (kernel/fastfutex.go)
	EvFutexNapCut                      // one of those that ended without a wake or its timeout (a kick, the nap's time limit): the locked path served the call again, or, without it, a switch or another nap
	EvFutexNapWake                     // a FUTEX_WAKE that ended a napping FUTEX_WAIT (sched/futexnap.go), with or without the kernel lock
	EvFutexNapTimeout                  // a napping FUTEX_WAIT whose timeout passed unwoken: ETIMEDOUT without the kernel lock
	EvTimerArmCycles                   // TSC cycles spent programming the LAPIC timer (armPending; under emulation a write waits for QEMU's global lock)
	EvKickCycles                       // TSC cycles spent sending kick IPIs (thread.SendKicks), likewise
	EvSigreturnFast                    // rt_sigreturn answered without the kernel lock (kernel/fastsignal.go)
	EvSigmaskFast                      // rt_sigprocmask answered without the kernel lock
	EvAltstackFast                     // sigaltstack answered without the kernel lock
	EvKillFast                         // tgkill or tkill answered without the kernel lock (a thread running or runnable)
	EvSigactionFast                    // rt_sigaction answered without the kernel lock
	EvFutexWaitSwitch                  // a FUTEX_WAIT that blocked and switched to a thread in its CPU's queue under the run-queue lock (kernel/fastswitch.go)
	EvFutexWakeHere                    // a FUTEX_WAKE that queued its waiter on its own CPU under the run-queue lock (kernel/fastswitch.go)
	EvFutexWakeMoved                   // one of those whose waiter last ran on another CPU (sched.ClaimMovedHere)
	EvTimerFast                        // a timer interrupt in ring 3 taken under the CPU's run-queue lock alone (kernel/fasttimer.go)
	EvTimerLocked                      // one of those sent to the kernel lock's path (a deadline to expire, a switch beside an idle CPU, a signal to deliver)
	EvKickFast                         // a kick IPI in ring 3 taken under the CPU's run-queue lock alone (kernel/fasttimer.go; these four in this order: countInterrupt)
	EvKickLocked                       // one of those sent to the kernel lock's path
	EvSignalFast                       // a signal delivered without the kernel lock: a timer interrupt's SIGURG for a goroutine time slice (kernel/fasttimer.go)
	EvIdleRehalt                       // a halt of the idle loop ended by an interrupt that brought nothing, halted again without the kernel lock (kernel.halt)
	EvIdleHandoff                      // an idle CPU woken by a hand-off ran the thread handed to it without the kernel lock (kernel.haltAgain, runWoken)
	EvIdleTimerNone                    // an idle CPU's timer interrupt that found nothing due, served without the kernel lock (kernel.idleTimerDue)
	EvFutexWaitSteal                   // a FUTEX_WAIT that blocked and switched to a thread from another CPU's queue, under both run-queue locks (kernel.waitSwitch)
	EvFutexNapSwitch                   // a FUTEX_WAIT whose nap was cut short, or could not begin, for a thread in a run queue, answered under the run-queue locks: a switch to it, or EAGAIN, or, every queue emptied by then, an idle CPU (also EvFutexWaitIdle) (kernel/fastfutex.go's futexNapWait)
	EvFutexNapAgain                    // a FUTEX_WAIT whose nap a kick cut short that brought nothing, napped again without the kernel lock
	EvFutexWaitIdle                    // a FUTEX_WAIT that blocked and left its CPU idle, halted without the kernel lock (kernel.waitIdle)
	EvSleepExpiredBusy                 // a nanosleep whose deadline passed, ended at its CPU's timer interrupt from ring 3 under the run-queue lock: queued there (kernel.expireSleepers)
	EvSleepExpiredHandOff              // a nanosleep whose deadline passed on a busy CPU, handed to an idle CPU's inbox or queued on a napping CPU (thread.HandOffExpired, kernel.expireOntoNapper)
	EvSleepSwitch                      // a nanosleep longer than a nap that blocked and switched to a queued thread under the run-queue lock (kernel.sleepBlock)
	EvSleepIdle                        // one that blocked and left its CPU idle, halted without the kernel lock
	EvSleepExpiredIdle                 // a nanosleep whose deadline passed, ended at an idle CPU's timer interrupt: into the CPU's own inbox, which its idle loop runs next without the kernel lock
	EvPreemptSwitch                    // a timer interrupt or kick from ring 3 whose thread's turn was over: switched to a queued thread under the run-queue lock (kernel.preemptSwitch)
	EvNapCutBlock                      // a nanosleep's nap that a kick or a queued thread cut short, whose rest blocked under the run-queue lock (kernel.sleepBlock; also EvSleepSwitch or EvSleepIdle)
	EvEpollWaitSwitch                  // an epoll_wait or epoll_pwait with nothing ready that blocked and switched to a queued thread under the run-queue lock (kernel/fastepoll.go)
	EvEpollWaitIdle                    // one that blocked and left its CPU idle, halted without the kernel lock
	EvEpollWaitAnswered                // one that found events (or an error) at its second look, under the run-queue lock: answered without the kernel lock
	EvEpollWaitLocked                  // one sent to the kernel lock's path (the files lock held exclusively or wanted, a page of the events' buffer not mapped, a signal pending, a CPU-time timer armed, the run-queue lock refused, a hand-off in the CPU's inbox, the last running thread with no timeout)
	EvEpollExpired                     // an epoll_wait whose timeout passed, ended under its CPU's run-queue lock (kernel.expireSleepers; also counted in the EvSleepExpired* events)
	EvFutexWaitTimed                   // a FUTEX_WAIT with a timeout that blocked under the run-queue lock, its timeout in its CPU's heap (kernel.blockOnWord; also EvFutexWaitSwitch or EvFutexWaitIdle)
	EvFutexExpired                     // a FUTEX_WAIT whose timeout passed, ended with ETIMEDOUT under its CPU's run-queue lock (kernel.expireSleepers; also counted in the EvSleepExpired* events)
	EvEpollWakeHandOff                 // an epoll_wait's waiter woken by a file call or device interrupt under the files lock alone: its events collected, handed to a halted CPU's inbox (package fdcalls' handOffWaiter)
	EvEpollWakeLocked                  // a file call or device interrupt whose record woke an epoll_wait's waiter on the kernel lock's path (not yet blocked, no CPU that could take it, no frame for a page of its buffer: fdcalls.RecordsNeedKernel, kernel.epollWakeBusy)
	EvEpollWakeQueued                  // an epoll_wait's waiter woken by a file call or device interrupt from ring 3 under the run-queue locks, queued on its busy CPU (kernel.epollWakeBusy)
	NEvents
)

// EventCounts is one CPU's counts: only that CPU writes them (in trap
// context, with interrupts off, so no atomics); readers take the kernel
// lock and read a word at a time.
type EventCounts [NEvents]uint64

// Events are the CPUs' counts, indexed by CPU id.
var Events [MaxCPUs]EventCounts

// Count counts e on c. Context: trap, interrupts off; does not allocate.
// Not inlined: it is called at fifty places, and each inlined copy
// costs image bytes.
//
//go:noinline
func Count(c *CPU, e Event) { Events[c.ID][e]++ }
