// Package sched is the kernel's scheduler: the state and the policy, as
// plain Go that the host tests drive. The kernel (kernel/thread,
// kernel/resched.go, kernel/clock.go, kernel/trap.go) keeps only the
// mechanism: it calls in here with the kernel lock held and carries out
// the decisions it gets back (send a wake IPI to CPU n, arm the LAPIC
// timer for t, load thread x's registers, halt, report a deadlock).
//
// What is here:
//
//   - Scheduler (state.go): the thread table's scheduling half (Thread:
//     state, CPU, CPU time), the per-CPU state (CPU: running thread, run
//     queue, armed deadline, slice start, idle), the timer heaps (one per
//     CPU), the futex table and the CPU-time timers, with the running and
//     live counts.
//   - The policy (policy.go): MakeRunnable and Wake (which queue, which
//     CPU to interrupt), Place (a new thread's CPU), Schedule (continue,
//     preempt, pick, steal, expire, halt, or deadlock), Tick and Yield (the end
//     of a slice), Deadline (what a CPU's timer is armed for: tickless
//     unless a deadline, a slice end or a CPU-time timer needs it),
//     SetTimer and Expired, Block and Exit.
//   - CPU-time accounting (cputime.go): Charge, the CPU-time timers of
//     timer_create and setitimer(ITIMER_PROF) and their expiries.
//   - Containers: RunQueue (a FIFO chained through the shared RunLinks),
//     Timers (per-CPU min-heaps of per-thread deadlines) and Futexes (a keyed
//     wait table: futex words and the kernel's own keys for pipes, locks
//     and FIFOs, with a spinlock per hash bucket).
//   - Hand-offs (handoff.go): the lock-free FUTEX_WAKE's per-CPU inboxes
//     of woken threads, and how the kernel lock's holder wakes them.
//   - Naps (nap.go): a short nanosleep's halt without the kernel lock,
//     its thread still running: BeginNap and EndNap (run by the napping
//     CPU alone) and how a nap is kept out of the CPU time.
//   - Local switches and wake-ups (local.go): what a CPU does on its own
//     run queue under its run-queue lock, without the kernel lock: a
//     FUTEX_WAKE queues its waiter there (ClaimHere), a FUTEX_WAIT
//     switches to the oldest queued thread, or steals one from another
//     CPU's queue under that CPU's lock too (WaitHereLocked,
//     SwitchLocal, StealVictim, Unwait).
//   - Futex naps (futexnap.go): a FUTEX_WAIT that naps on its CPU instead
//     of blocking, queued on its word's chain as a napper that polls and
//     then halts; a wake marks it woken and interrupts its CPU only once
//     it halts.
//
// Threads are named by their index in the thread table (a TID), so the
// structures hold only integers. Everything here runs in trap context
// (interrupts off, no P, the kernel stack): no allocation, no function
// values, interfaces, maps, defer or panics (docs/trap-context.md;
// kernel/escape_test.go and tools/trapcheck check it).
//
// sim_test.go is a host simulator of the policy: N CPUs, a fake clock and
// random events, checking the scheduler's invariants after each one, as
// TestSimulate and as the fuzz target FuzzSchedule. A change to the policy
// is tested there in seconds; TestSimulatorCatchesPlantedMistakes shows
// the kind of mistake it catches.
package sched

// MaxThreads bounds the thread table. The Go runtime starts one thread per
// P plus a few (sysmon, template thread, threads blocked in system calls).
const MaxThreads = 256

// TID names a thread: an index into the kernel's thread table, or None.
type TID int32

// None is the absent thread.
const None TID = -1
