package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/kfiles"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/sched"
)

// The kernel's generated files are kernel/kfiles'; what stays here is the
// view of package kernel's own state (its scheduler loop's, the lock's,
// the fast paths' and the traps' counts), written into the snapshot
// kfiles.Open left empty for it: /proc/gometal/sched (writeSchedView).

// openMemFile opens kernel file which (an index of kfiles.Paths)
// read-only, producing its content now. Context: trap, kernel lock held;
// does not allocate.
func openMemFile(ino fs.Ino, which int, flags int) int64 {
	fd := kfiles.Open(ino, which, flags)
	if fd < 0 {
		return fd
	}
	w := kfiles.Writer{F: &kfiles.Files[fdtab.Files[fd].MemFile]}
	if kfiles.ViewOf(which) == kfiles.ViewSched {
		writeSchedView(w)
	}
	return fd
}

// writeSchedView describes each CPU and thread, for the program (see
// examples/shell): busy time, interrupts, halts, run queue, time slices;
// then each thread's naps, each kernel lock's statistics (kernel/klock),
// how often the lock-free system call paths were taken (fastpath.go),
// the traps' counts (trapstats.go) and the calls served under the kernel
// lock (lockedCalls).
// Context: trap, kernel lock held; does not allocate.
func writeSchedView(w kfiles.Writer) {
	now := clock.Nanotime()
	up := now - kfiles.ProgramStart()
	w.S("cpu busy_ms idle_ms interrupts spurious halts runq slices_requested slices_taken thread\n")
	for i := 0; i < percpu.NOnline; i++ {
		c := &percpu.CPUs[i]
		idleNs := c.IdleAt(now) // never negative: unsigned, the shorter division
		w.Fields(uint64(i), uint64(max(up-idleNs, 0))/1e6, uint64(idleNs)/1e6, c.IRQs, c.Spurious, c.Halts,
			uint64(threadtab.Sched.CPUs[i].RunQ.Len()), c.SlicesRequested, c.SlicesTaken)
		if cur := threadtab.Sched.CPUs[i].Cur; cur == noThread {
			w.S("-\n")
		} else {
			w.U(uint64(threadtab.LinuxTID(cur))).S("\n")
		}
	}
	w.S("\ntid state cpu cpu_ms\n")
	for i := range threadtab.Sched.Threads {
		t := &threadtab.Sched.Threads[i]
		if t.State == sched.Free {
			continue
		}
		// "tid state cpu cpu_ms" (CPUTime never decreases from 0: an
		// unsigned division, the shorter code).
		w.Fields(uint64(i+1)).Pair(threadtab.StateNames[t.State], uint64(t.CPU), uint64(t.CPUTime)/1e6)
	}
	// The naps of the live threads that took any (kernel/fastsleep.go):
	// how many, and their time in microseconds. A table of its own, so
	// that the thread table's readers see the columns they always did.
	w.S("\ntid naps nap_us\n")
	for i := range threadtab.Sched.Threads {
		t := &threadtab.Sched.Threads[i]
		if t.State != sched.Free && t.Naps != 0 {
			w.U(uint64(i+1)).Pair("", uint64(t.Naps), uint64(t.NapNs/1e3)) // Pair's name "": a space, then the columns
		}
	}
	// The scheduler's own count, which the deadlock detector trusts: it
	// must equal the number of threads listed as running.
	w.S("\nnrunning ").U(uint64(threadtab.Sched.Running)).S("\n\n").S(kfiles.LockTableHeader)
	kfiles.WriteLockStats(w, "kernel", klock.Kernel.Stats())
	kfiles.WriteLockStats(w, "run_queue", klock.RunQueueStats())
	kfiles.WriteLockStats(w, "files", klock.Files.Stats())
	kfiles.WriteLockStats(w, "files_shared", klock.SharedStats())
	kfiles.WriteLockStats(w, "memory", klock.Mem.Stats())
	kfiles.WriteLockStats(w, "slices", klock.Slices.Stats())
	kfiles.WriteLockStats(w, "signals", klock.Signals.Stats())
	kfiles.WriteLockStats(w, "futex_buckets", threadtab.Sched.Futexes.Stats())
	w.S("\n")
	writeFastStats(w)
	w.S("\n")
	// The entries' counts summed over the CPUs: a line per event of
	// trapStatEvents, then the time spent arming the timer and sending
	// kicks, and the counts kept outside the per-CPU table.
	var sum percpu.EventCounts
	sumEvents(&sum)
	w.S("event count\n")
	names := trapStatNames
	for _, e := range trapStatEvents[:] { // [:]: a range over the array copies it
		var name string
		name, names = firstWord(names)
		w.Count(name, sum[e])
	}
	// Chained: each call hands w back in a register, where a new
	// statement reloads it from the stack (issue 16's budget).
	w.Count("timer_arm_ns", clock.CyclesToNs(sum[percpu.EvTimerArmCycles])).
		Count("kick_ipi_ns", clock.CyclesToNs(sum[percpu.EvKickCycles])).
		Count("file_call_lockfree", fileCallsLockFree.Load()).
		Count("file_close_beside", vfs.ClosesBeside.Load()).
		Count("console_interrupt_fileslock", consoleIRQs[0].Load()).
		Count("console_interrupt_locked", consoleIRQs[1].Load()).
		Count("irq_interrupt_fileslock", irqFDIRQs[0].Load()).
		Count("irq_interrupt_locked", irqFDIRQs[1].Load()).
		Count("irq_interrupt_wake", irqFDIRQs[2].Load()).
		Count("idle_run_queued", idleRanQueued.Load()).
		S("\n")
	// lockedCalls' non-zero counts in call-number order, one
	// "locked_syscall NAME COUNT" line each: a number Linux has no name
	// for appears as the number, the last entry as "other".
	for nr := range lockedCalls { // not "nr, n :=": that copies the array onto the trap stack
		n := lockedCalls[nr]
		if n == 0 {
			continue
		}
		name := abi.SyscallName(uint64(nr))
		if nr == len(lockedCalls)-1 {
			name = "other"
		}
		l := w.S("locked_syscall ")
		if name == "" {
			l = l.U(uint64(nr)) // and Count's name "": the number, a space, n
		}
		l.Count(name, n)
	}
}
