// Package klock holds the kernel's locks: the kernel lock, the CPUs'
// run-queue locks (runqueue.go), the files lock, the memory lock, the
// slices lock and the signals lock, their spin loop (which answers TLB
// shootdowns while it waits), the lock order that ranks every lock (rank.go) and the per-lock statistics
// that /proc/gometal/sched prints (stats.go; kernel/kfiles writes the
// table). The locks' state itself is kernel/spin's, below the panic
// report. The finer locks of issue 18 come here as they are built.
//
// Every function runs in trap context (docs/trap-context.md).
package klock

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/tlb"
)

// The kernel's locks. Kernel code runs with interrupts off, so mutual
// exclusion between CPUs is all a lock needs to provide.
//
// The kernel lock (Kernel, spin.KernelLock) guards the kernel's shared
// state (threads, run queues, timers, futexes, signal handlers, devices; the file
// layer below is the files lock's). A CPU takes it on entry from ring 3 after the
// lock-free fast paths, drops it right before returning to ring 3, and
// drops it while halted in the idle loop. Its holder holds every CPU's
// run-queue lock as well (runqueue.go): under its own, a CPU switches to
// a thread in its own queue or queues a woken thread there without the
// kernel lock.
//
// The files lock (Files, spin.FilesLock, ranked after the kernel lock)
// guards the file layer: the descriptor table (kernel/fdtab), the open
// file descriptions, the root file system and its pipes (kernel/vfs,
// kernel/fs), epoll (kernel/fdcalls) and the Internet sockets
// (kernel/socket). Every entry that takes the kernel lock takes it too,
// right after, except the scheduling calls and interrupts that never touch the
// file layer (package kernel's lockClass: futex, sched_yield, the sleeps,
// the signal calls, the timer and kick interrupts), which take it only
// where they reach the file layer (package kernel's lockFiles). The
// calls on descriptors of regular files and directories (read, write,
// lseek, fstat, getdents64, close, ...), the reads and writes that never
// wait (eventfds, pipe ends and stream sockets opened O_NONBLOCK, the
// network stack's data moves), the epoll_waits that do not wait and epoll_ctl take
// it alone (kernel/filetrap.go): a program's file, pipe and socket I/O
// does not wait for another CPU's futex calls, nor they for it.
//
// The memory lock (Mem, spin.MemLock, ranked after the files lock)
// guards the program's memory map: writes of the page table's user half
// and of the memory areas (kernel/vm's VMAs). A demand page fault takes
// it alone (kernel/memfault.go), so the program's page faults do not
// wait for the kernel lock, as does a memory call whose range holds no
// page (kernel.memCall: it changes areas, never a page-table entry);
// code holding the kernel lock takes it inside to fault pages in
// (vm.DemandFault), to read the areas (vm.InArea) and around the mmap
// family's calls that may unmap or write-protect pages; a madvise that
// gives pages back takes it alone, a batch at a time, and frees the
// frames once the calls under the kernel and files locks that could
// reach them have ended (sections.go). Every reader of the areas holds
// it. The frame allocator has its own leaf lock
// (mm.Frames) and the commit charge is an atomic (vm.Commit).
//
// The slices lock (Slices, spin.SlicesLock, ranked after the memory
// lock) guards the goroutine time slices' evidence shared by the CPUs
// (kernel/timeslice: the runtime layout's verdict and the Ps'
// schedticks). A timer interrupt's slice check takes it for a few stores,
// with the kernel lock or with its CPU's run-queue lock alone (package
// kernel's fastInterrupt), and across a preemption request's two
// fault-tolerant stores into the runtime (made only while the layout is
// trusted), never across a read of the program's memory; the SIGURG it
// sends takes the signals lock after releasing it. The log lines of a
// change of the verdict are built under it and written later, under
// the kernel lock (timeslice.LogNews).
//
// The signals lock (Signals, spin.SignalsLock, ranked last: a leaf)
// guards every thread's pending signals and their siginfo, and the
// process's signal actions (kernel/thread/signal.go, sys_signal.go): a
// sender marks a signal pending under it, with the kernel lock (kill, a
// fault, a timer, the console) or without (a tgkill of a thread that is
// not blocked, kernel/fastsignal.go); a delivery takes one off, with its
// action, under it; rt_sigaction changes an action under it, with the
// kernel lock or without. It is held for a few stores (an action that
// ignores its signal clears that signal in every thread's pending set),
// never across a user-memory access.
//
// A CPU spinning for the lock keeps answering TLB shootdowns (kernel/smp/tlb.go),
// so the holder can wait for every CPU's acknowledgement. That loop, and
// the kernel panic for a misuse, are here; the lock's state is in
// kernel/spin, below the panic report, which names the holder. Package
// kernel releases it through its own unlockKernel, which first acts on
// what may not wait past the release (the sockets' records, a program out
// of memory) and then calls Unlock.
//
// The lock reports its acquisitions, contention and hold times to its
// Stats (stats.go, printed in /proc/gometal/sched) and checks its
// rank against the locks its CPU holds (rank.go).
type Handle struct {
	since  uint64        // TSC when the holder took it (for stats)
	by     uint64        // what the holder does, a hold tag (stats.go); 0 until it says
	stats  Stats         // stats.go
	rank   Rank          // its place in the lock order (rank.go)
	halted atomic.Uint64 // CPUs halted waiting for it, a bit per CPU id (wait.go)
	// drainer is the CPU id + 1 of the exclusive taker halted until the
	// shared holders leave (wait.go's drainReaders), 0 if none.
	drainer atomic.Int32
}

// Kernel is the handle on spin.KernelLock, the kernel lock.
var Kernel = Handle{rank: RankKernel}

// Files is the handle on spin.FilesLock, the files lock.
var Files = Handle{rank: RankFiles}

// Mem is the handle on spin.MemLock, the memory lock.
var Mem = Handle{rank: RankMem}

// Slices is the handle on spin.SlicesLock, the slices lock.
var Slices = Handle{rank: RankSlices}

// Signals is the handle on spin.SignalsLock, the signals lock.
var Signals = Handle{rank: RankSignals}

// state returns the spinlock l stands for: each handle's rank names one.
// Context: any; does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (l *Handle) state() *spin.Lock {
	switch l.rank {
	case RankSignals:
		return &spin.SignalsLock
	case RankSlices:
		return &spin.SlicesLock
	case RankMem:
		return &spin.MemLock
	case RankFiles:
		return &spin.FilesLock
	}
	return &spin.KernelLock
}

// Lock takes the lock on CPU c. Context: trap, interrupts off; does not
// allocate.
func (l *Handle) Lock(c *percpu.CPU) {
	checkLockOrder(c, l.rank)
	start := cpu.Rdtsc()
	st := l.state()
	if st.TryLock(c.ID) && st.Readers() == 0 && (l.rank != RankKernel || waitRunQueues(c) == 0) {
		// The common case: one TSC read (each is a call into QEMU under
		// TCG), the hold starting where the try did.
		l.since, l.by = start, 0
		l.stats.Acquired(false, 0)
		enterSection(c, l.rank) // sections.go: before the flush
		tlb.ServiceTLB(c)
		return
	}
	for !st.HeldBy(c.ID) && !st.TryLock(c.ID) {
		l.waitWhileHeld(c, st) // wait.go
	}
	if st.Readers() != 0 {
		l.drainReaders(c, st) // wait.go: held now, so no new reader comes in
	}
	if l.rank == RankKernel {
		waitRunQueues(c) // runqueue.go: the kernel lock's holder holds every run-queue lock
	}
	l.since, l.by = cpu.Rdtsc(), 0
	l.stats.Acquired(true, l.since-start)
	enterSection(c, l.rank)
	tlb.ServiceTLB(c)
}

// RLock takes the lock shared on CPU c, beside other shared holders,
// once no CPU holds it exclusively (spin.Lock.TryRLock). A waiter spins
// and halts as Lock's do (waitWhileHeld); one that halted passes the
// release's wake on to the next halted waiter, which may come in beside
// it. Only the files lock is taken shared (package kernel's fileTrap:
// the calls that only read the file layer, the writes, the opens, the
// calls that change names and attributes, the closes, ...; and, under
// the kernel lock, epoll_wait's waits and the wakes of the records:
// doSyscall, socketEventsLocked); its shared holds are
// counted apart (SharedStats). It returns the TSC count at which the
// hold began, for Release.
// Context: trap, interrupts off; does not allocate.
func (l *Handle) RLock(c *percpu.CPU) uint64 {
	checkLockOrder(c, l.rank)
	start := cpu.Rdtsc()
	st := l.state()
	contended, halted := false, false
	for {
		ok, last := st.TryRLock()
		if ok {
			break
		}
		if last {
			l.wakeDrainer() // the taker may have seen this try's count
		}
		contended = true
		halted = l.waitWhileHeld(c, st) || halted
	}
	if halted {
		l.wakeHalted()
	}
	now := cpu.Rdtsc()
	l.enterShared(c, contended, now-start)
	return now
}

// enterShared begins c's shared hold of the lock (RLock, TryRLock):
// counted (its wait, spun TSC cycles, and whether it was contended),
// its rank recorded, and a TLB shootdown that passed c by while it
// waited served.
// Context: trap, interrupts off; does not allocate.
func (l *Handle) enterShared(c *percpu.CPU, contended bool, spun uint64) {
	sharedStats.Acquired(contended, spun)
	enterSection(c, l.rank)
	tlb.ServiceTLB(c)
}

// TryRLock takes the lock shared on CPU c if no CPU holds it exclusively
// or waits to, in one try, as RLock's first, and reports whether it did,
// with the TSC count at which the hold began, for Release: for a taker
// that holds a run-queue lock, which does not wait for the files lock
// (runqueue.go: a kernel lock holder waits for that run-queue lock, and
// an exclusive holder's call may last). A refused taker holds nothing
// of it and goes on to the kernel lock's path.
// Context: trap, interrupts off; does not allocate.
func (l *Handle) TryRLock(c *percpu.CPU) (uint64, bool) {
	checkLockOrder(c, l.rank)
	st := l.state()
	ok, last := st.TryRLock()
	if !ok {
		heldLocks[c.ID].release(l.rank)
		if last {
			l.wakeDrainer() // the taker may have seen this try's count
		}
		return 0, false
	}
	now := cpu.Rdtsc()
	l.enterShared(c, false, 0)
	return now, true
}

// Release releases the lock c holds, shared (RLock) or not (Unlock). A
// shared hold's statistics get its length from since, RLock's answer,
// and what the holder did from tag (a hold tag); an exclusive hold's
// come from Lock and SetHolder, and the two are not looked at. The last
// shared holder to leave wakes an exclusive taker halted until the
// readers leave (wakeDrainer).
// Context: trap, interrupts off; does not allocate.
func (l *Handle) Release(c *percpu.CPU, shared bool, since, tag uint64) {
	if !shared {
		l.Unlock(c)
		return
	}
	if heldLocks[c.ID]>>l.rank&1 == 0 {
		// Not c's to release: the count would go below 0, and every
		// exclusive taker after would wait for it forever.
		kpanic.Panic("shared hold released by a CPU that holds none", nil)
	}
	sharedStats.Released(cpu.Rdtsc()-since, tag)
	heldLocks[c.ID].release(l.rank)
	left := leaveSection(c, l.rank)
	if l.state().RUnlock() {
		l.wakeDrainer()
	}
	if left {
		wakeSectionWaiters()
	}
}

// sharedStats counts the shared holds (RLock) apart from the exclusive
// ones: /proc/gometal/sched's files_shared line.
var sharedStats Stats

// SharedStats returns the shared holds' statistics (RLock).
// Context: any; does not allocate.
func SharedStats() *Stats { return &sharedStats }

// SetHolder records what the holder is doing, a hold tag (TrapTag), for
// the longest hold's report. Context: trap, the lock held by the caller;
// does not allocate.
func (l *Handle) SetHolder(tag uint64) { l.by = tag }

// Tag returns the hold tag the holder recorded (SetHolder), 0 if none.
// Context: trap, the lock held by the caller; does not allocate.
func (l *Handle) Tag() uint64 { return l.by }

// CheckHolder ends in a kernel panic naming both CPUs if c does not hold
// the lock it is about to release. Context: trap or boot, interrupts off;
// does not allocate.
func (l *Handle) CheckHolder(c *percpu.CPU) {
	if l.state().HeldBy(c.ID) {
		return
	}
	var m klog.Line
	m.S("cpu ").I(int64(c.ID)).S(" releases the ").S(rankName(l.rank)).S(" lock held by cpu ")
	if o, ok := l.state().Owner(); ok {
		m.I(int64(o))
	} else {
		m.S("none")
	}
	m.Print()
	kpanic.Panic("lock released by a CPU that does not hold it", nil)
}

// HeldBy reports whether CPU c holds the lock. Context: any; does not
// allocate.
func (l *Handle) HeldBy(c *percpu.CPU) bool { return l.state().HeldBy(c.ID) }

// SharedAlone reports whether the shared hold of the calling CPU (RLock)
// is the only one: no other CPU's call is under l.
// Context: trap, l held shared; does not allocate.
func (l *Handle) SharedAlone() bool { return l.state().Readers() == 1 }

// Unlock releases the lock, which c must hold (CheckHolder).
// Context: trap or boot, interrupts off; does not allocate.
func (l *Handle) Unlock(c *percpu.CPU) {
	l.CheckHolder(c)
	// The statistics first: once released, another CPU overwrites since and by.
	l.stats.Released(cpu.Rdtsc()-l.since, l.by)
	heldLocks[c.ID].release(l.rank)
	left := leaveSection(c, l.rank)
	l.state().Unlock(c.ID)
	l.wakeHalted()
	if left {
		wakeSectionWaiters()
	}
}

// Stats returns the lock's statistics, for /proc/gometal/sched
// (WriteStats). Context: any; does not allocate.
func (l *Handle) Stats() *Stats { return &l.stats }

// ResetStats zeroes the statistics: the locks' at the program's start,
// so that they cover the program's run and not the boot, which holds the
// kernel lock throughout. Context: boot (one CPU); does not allocate.
func (l *Handle) ResetStats() { l.stats.Reset() }
