package sched

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
)

// MaxCPUs bounds the per-CPU table (abi.MaxCPUs, which the host tools
// check --smp against).
const MaxCPUs = abi.MaxCPUs

// State is where a thread is in its life.
type State uint8

// Thread states.
const (
	Free     State = iota // the slot is unused
	Runnable              // in exactly one run queue
	Running               // on a CPU (CPU.Cur)
	Blocked               // waiting; Wake makes it runnable
)

// Thread is one thread's scheduling state.
type Thread struct {
	State State
	// Device: a blocked thread waits for an interrupt (console input,
	// epoll, the network stack), which the deadlock detector counts as a
	// way to make progress.
	Device bool
	// Naps and NapNs count its naps (nap.go) and their time, for
	// /proc/gometal/sched; only the CPU it naps on writes them. (Naps
	// sits in what would be padding: the thread table is in every
	// image's memory floor.)
	Naps    uint32
	CPU     int   // the CPU it last ran on, or whose queue it is in
	CPUTime int64 // ns spent running, for CLOCK_THREAD_CPUTIME_ID
	LastRun int64 // when its CPU time was last charged
	Queued  int64 // when it last joined a run queue
	NapNs   int64
}

// CPU is one processor's scheduling state.
type CPU struct {
	Cur        TID      // the running thread; None while the CPU schedules or idles
	RunQ       RunQueue // threads waiting for this CPU, chained in Scheduler.RunLinks
	Armed      int64    // deadline its timer is armed for, 0 if stopped
	SliceStart int64    // when Cur got the CPU
	Resched    bool     // pick another thread at the next Schedule
	// Owed is when the scheduler itself needs this CPU's timer: the
	// earliest of a deadline this CPU owns, the end of the running
	// thread's slice with others queued and a CPU-time timer's expiry,
	// as this CPU's last Deadline found them (without the kernel's
	// extra, the goroutine slice check); 0 for none. A nap ends by then
	// (kernel/fastsleep.go). Only this CPU writes it, with Armed; another
	// CPU that needs a deadline sooner queues a thread here (with an
	// IPI) or owns the deadline itself. (A CPU-time timer set from
	// another CPU may move the expiry sooner without an IPI; a nap is
	// not CPU time, so the napping thread's timers stand still.)
	Owed int64
	// Idle: halted with nothing to run and not yet sent a wake-up, so
	// a thread made runnable may be handed to it. Cleared when it is
	// chosen (it is then owed a wake IPI) and when it wakes (Woke); set
	// again by a CPU that woke to nothing and halts again (HaltAgain).
	Idle      bool
	MaxWaitNs int64 // the longest a thread waited in a run queue before running here
	// napping: 1 while Cur naps (nap.go), set and cleared by this CPU
	// alone, without the kernel lock, and read with a locked instruction
	// (Napping).
	napping int32
	// switching: 1 from the instant a FUTEX_WAIT under this CPU's
	// run-queue lock queues its thread on a futex chain, or an
	// epoll_wait blocks there, until the switch is over (WaitHereLocked
	// or DeviceWaitHere to EndSwitch), set and cleared by this CPU
	// alone: the blocked thread's registers and x87 state may still be
	// on the CPU, so another CPU's ClaimHere or RunHandedOff must not
	// take it (it may take a waiter that last ran here only once the
	// switch is over).
	switching int32
}

// Scheduler is the whole scheduling state: the thread and CPU tables, the
// timer heap, the futex table and the CPU-time timers. The kernel has one,
// guarded by its kernel lock; the simulator (sim_test.go) makes its own.
// It holds only integers and fixed arrays. The zero value is not ready:
// call Init.
type Scheduler struct {
	Threads [MaxThreads]Thread
	CPUs    [MaxCPUs]CPU
	NCPU    int // CPUs online: the first NCPU entries of CPUs
	// RunLinks chains every CPU's RunQ (a thread is in one queue at most).
	RunLinks RunLinks

	Timers  Timers  // per-thread deadlines (sleep, futex and epoll timeouts), a heap per CPU
	Futexes Futexes // threads waiting on a key (futex word or kernel key)
	// Handoffs are the threads a lock-free FUTEX_WAKE handed to a halted
	// CPU, for the kernel lock's next holder to wake (handoff.go).
	Handoffs Handoffs

	Live int // threads not Free
	// Running counts the threads on a CPU right now (CPU.Cur with State
	// Running). An idle CPU that runs a handed-off or queued thread
	// under its run-queue lock adds to it with a locked instruction
	// (RunHandedOff, RunQueued); the kernel lock's holders, who hold
	// every run-queue lock, read and write it plainly.
	Running int64
	SliceNs int64 // how long a thread runs while others wait for its CPU

	CPUTimers  [MaxCPUTimers]CPUTimer // timer_create and setitimer(ITIMER_PROF)
	NArmed     int                    // armed CPUTimers, so the common case costs nothing
	ProcessCPU int64                  // CPU time charged to all threads, exited ones too
	// processSeen is ProcessCPUNow's last answer: it never answers less
	// (a nap's accounting, nap.go, is stored without the kernel lock).
	processSeen int64

	mistake mistake // a planted policy bug, for the simulator's self-test
}

// DefaultSliceNs is the thread time slice the kernel starts with.
const DefaultSliceNs = 10e6

// Init empties the scheduler for ncpu CPUs.
// Context: boot; does not allocate.
func (s *Scheduler) Init(ncpu int) {
	for i := range s.Threads {
		s.Threads[i] = Thread{}
	}
	for i := range s.CPUs {
		s.CPUs[i] = CPU{Cur: None}
	}
	s.NCPU = ncpu
	s.Timers.Init()
	s.Futexes.Init()
	s.Handoffs.Init()
	s.Live, s.Running = 0, 0
	s.SliceNs = DefaultSliceNs
	for i := range s.CPUTimers {
		s.CPUTimers[i] = CPUTimer{}
	}
	s.NArmed, s.ProcessCPU, s.processSeen = 0, 0, 0
}

// Alloc takes a free thread slot, Blocked until MakeRunnable or Start,
// and returns it, or None when the table is full.
// Context: trap or boot, kernel lock held; does not allocate.
func (s *Scheduler) Alloc() TID {
	for i := range s.Threads {
		if s.Threads[i].State == Free {
			s.Threads[i] = Thread{State: Blocked}
			s.Live++
			return TID(i)
		}
	}
	return None
}

// Release frees a slot Alloc returned that never ran (a clone that
// failed). Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) Release(t TID) {
	s.Threads[t].State = Free
	s.Live--
}

// Start puts t on CPU c at boot, running: the program's first thread.
// Context: boot; does not allocate.
func (s *Scheduler) Start(t TID, c int, now int64) {
	th := &s.Threads[t]
	th.State, th.CPU, th.LastRun = Running, c, now
	s.Running++
	s.CPUs[c].Cur = t
	s.CPUs[c].SliceStart = now
}

// Load is how many threads CPU c has: queued, and the one it runs.
// Context: trap, kernel lock held; does not allocate.
func (s *Scheduler) Load(c int) int {
	n := s.CPUs[c].RunQ.Len()
	if s.CPUs[c].Cur != None {
		n++
	}
	return n
}

// RunningOn returns the CPU whose running thread is t (CPU.Cur), or -1
// if none is: a lock-free signal sender's kick target (kernel/thread's
// TrySendSignal). Each CPU's Cur is read with an atomic load, an instant
// old: a thread that started running there since looks at its pending
// signals itself, after run stored Cur.
// Context: trap, no lock needed; does not allocate.
func (s *Scheduler) RunningOn(t TID) int {
	for i := 0; i < s.NCPU; i++ {
		if TID(atomic.LoadInt32((*int32)(&s.CPUs[i].Cur))) == t {
			return i
		}
	}
	return -1
}
