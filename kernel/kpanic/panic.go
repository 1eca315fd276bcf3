// Package kpanic is the kernel panic report (docs/protocols.md) and the
// way the machine stops: Panic stops the other CPUs by NMI, prints the
// trap frame, where each stopped CPU was, the kernel lock's holder, the
// scheduler's state, console input and every thread, then the status
// record, and stops the machine (Stop). It sits below everything that
// may end in a kernel panic (docs/kernel-layout.md): what it reads is in
// the packages under it (kernel/percpu, kernel/spin, kernel/threadtab,
// kernel/conin, the page table mm.KPT, the clock and the local APIC
// driver in kernel/clock), and what it cannot reach package kernel hands
// down at boot as a plain value (SetNoReset). Context: any (trap, boot,
// NMI); nothing here allocates.
package kpanic

import (
	"sync/atomic"

	"github.com/gometal/gometal/drivers/debugexit"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/conin"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
)

// exceptionNames names the CPU exceptions (vectors 0 to 31) in the
// report, each ended by a NUL (klog.Nth).
const exceptionNames = "#DE divide error\x00#DB debug\x00NMI\x00#BP breakpoint\x00#OF overflow\x00" +
	"#BR bound range\x00#UD invalid opcode\x00#NM device not available\x00" +
	"#DF double fault\x00coprocessor overrun\x00#TS invalid TSS\x00" +
	"#NP segment not present\x00#SS stack fault\x00#GP general protection\x00" +
	"#PF page fault\x00reserved\x00#MF x87 error\x00#AC alignment check\x00" +
	"#MC machine check\x00#XM SIMD error\x00#VE virtualization\x00" +
	"#CP control protection\x00\x00\x00\x00\x00\x00\x00#HV\x00#VC\x00#SX\x00\x00"

// ExceptionName names CPU exception vector v (0 to 31) in the report;
// "" for a reserved vector without a name.
// Context: any; does not allocate.
func ExceptionName(v uint64) string { return klog.Nth(exceptionNames, int(v)) }

// panicOwner is the id + 1 of the CPU reporting a kernel panic (0: none);
// cpusStopped counts the other CPUs that have stopped for it.
var (
	panicOwner  atomic.Int32
	cpusStopped atomic.Int32
)

// stopWaitNs bounds how long Panic waits for the other CPUs to stop.
const stopWaitNs = 100e6

// InProgress reports whether a CPU is reporting a kernel panic: an NMI
// that arrives then is the report's request to stop (StopForPanic).
// Context: any (the NMI handler); does not allocate.
func InProgress() bool { return panicOwner.Load() != 0 }

// Panic prints the crash report of docs/protocols.md for the trap in f
// (nil if there is none) and stops the machine with a non-zero status.
// It first stops the other CPUs with an NMI each (package kernel's NMI
// handler calls StopForPanic when InProgress), so that the report is the
// last thing they let through; a CPU that panics while another reports
// halts. Context: any; does not allocate; never returns.
func Panic(reason string, f *x86.TrapFrame) {
	cpu.DisableInterrupts()
	klog.StopVcon() // the report goes to COM1, whatever the console's state
	c := percpu.This()
	if !panicOwner.CompareAndSwap(0, int32(c.ID+1)) {
		if panicOwner.Load() == int32(c.ID+1) { // a fault while reporting: stop right away
			StatusRecord(0, true)
			Stop(debugexit.KernelPanic)
		}
		StopForPanic(c) // another CPU is reporting
	}
	// An NMI to every other online CPU, then a wait (at most
	// stopWaitNs, or a bounded spin while the clock is not calibrated)
	// until they have stopped.
	want := 0
	for i := 0; i < percpu.NOnline; i++ {
		if o := &percpu.CPUs[i]; o != c {
			clock.LAPIC.SendNMI(o.APICID)
			want++
		}
	}
	deadline := clock.Nanotime() + stopWaitNs
	for spin := 0; spin < 100000000 && int(cpusStopped.Load()) < want; spin++ {
		if spin%1024 == 0 && clock.Nanotime() > deadline {
			break
		}
		cpu.Pause()
	}
	stopped := int(cpusStopped.Load())
	var l klog.Line
	if want > 0 {
		l.S("kernel panic on cpu ").U(uint64(c.ID)).S(": ").U(uint64(stopped)).S(" of ").U(uint64(want)).S(" other CPUs stopped").Print()
		l.Reset()
	}
	klog.Print("=== KERNEL PANIC ===")
	l.S("reason: ").S(reason).Print()
	if f != nil {
		PrintFrame(f)
	}
	printStopped(c)
	// The program's threads, one line each: "thread: tid 3 blocked
	// futex cpu 1 rip 0x... signals pending 0x0 blocked 0x0". rip is
	// where the thread last left ring 3 (for a running thread, as of its
	// last entry into the kernel).
	for i := range threadtab.Threads {
		t := sched.TID(i)
		st := threadtab.Sched.Threads[t].State
		if st == sched.Free {
			continue
		}
		th := &threadtab.Threads[i]
		l.Reset()
		l.S("thread: tid ").U(uint64(threadtab.LinuxTID(t))).S(" ")
		if int(st) < len(threadtab.StateNames) {
			l.S(threadtab.StateNames[st])
		} else {
			l.U(uint64(st))
		}
		l.S(" ")
		if st == sched.Blocked && int(th.Wait) < len(threadtab.WaitNames) {
			l.S(threadtab.WaitNames[th.Wait])
		} else {
			l.S("-")
		}
		l.S(" cpu ").U(uint64(threadtab.Sched.Threads[t].CPU)).S(" rip ").X(th.Regs.RIP).S(" signals pending ").X(th.Pending).S(" blocked ").X(th.Sigmask).Print()
	}
	klog.Print("=== END KERNEL PANIC ===")
	StatusRecord(0, true)
	Stop(debugexit.KernelPanic)
}

// StopForPanic halts c for good while another CPU reports a kernel panic,
// counting it as stopped. Context: any; does not allocate; never returns.
func StopForPanic(c *percpu.CPU) {
	cpu.DisableInterrupts()
	if !c.Stopped {
		c.Stopped = true
		cpusStopped.Add(1)
	}
	haltForever()
}

// haltForever stops this CPU with interrupts off (NMIs only bring it back
// to this loop). Context: any; does not allocate; never returns.
func haltForever() {
	cpu.DisableInterrupts()
	for {
		cpu.HaltOff()
	}
}

// PrintFrame prints the trap frame f for a crash report (docs/protocols.md):
// the registers, CR2 and CR3, the code bytes at RIP and the words at RSP.
// Context: any (kernel panics, and program faults in trap context); does
// not allocate.
func PrintFrame(f *x86.TrapFrame) {
	var l klog.Line
	l.S("cpu: ").U(uint64(percpu.This().ID)).S(" vector: ").U(f.Vector)
	if f.Vector < 32 {
		l.S(" (").S(ExceptionName(f.Vector)).S(")")
	}
	l.S(" error: ").X(f.Err).Print()
	// frameRegNames's order: RIP to SS (frame words 17 to 21), AX to R15
	// (words 0 to 14), then CR2 and CR3 in place of Vector and Err.
	w := frameWords(f)
	cr := [2]uint64{cpu.ReadCR2(), cpu.ReadCR3()}
	names := frameRegNames
	l.Reset()
	for i := 0; i < 22; i++ {
		j := i + 17
		if i >= 5 {
			j = i - 5
		}
		v := w[j]
		if i >= 20 {
			v = cr[i-20]
		}
		k := 0
		for names[k] > ' ' {
			k++
		}
		reg(&l, names[:k], v)
		if names[k] == '\n' {
			l.Print()
			l.Reset()
		}
		names = names[k+1:]
	}
	l.S("code:")
	for i := uint64(0); i < 16; i++ {
		if addr := uintptr(f.RIP + i); Mapped(addr) {
			l.S(" ").HB(*(*byte)(cpu.Pointer(addr)))
		} else {
			l.S(" ??")
		}
	}
	l.Print()
	// Two "stack:" lines of 8 words from RSP, each stopping at the first
	// unmapped word.
	for from := uint64(0); from < 16; from += 8 {
		l.Reset()
		l.S("stack:")
		stackWords(&l, f.RSP+8*from)
		l.Print()
	}
}

// frameRegNames names PrintFrame's registers in order, each followed by
// a blank or, where its line ends, a newline: the layout docs/protocols.md
// gives.
const frameRegNames = "rip cs rflags\nrsp ss\nrax rbx rcx rdx\nrsi rdi rbp r8\nr9 r10 r11 r12\nr13 r14 r15\ncr2 cr3\n"

// reg appends "name: value " to l. Context: any; does not allocate.
func reg(l *klog.Line, name string, v uint64) { l.S(name).S(": ").X(v).S(" ") }

// stackWords appends " 0x..." for each of the stackWordsN words of
// kernel or user memory from addr, stopping at the first that is not
// aligned or not mapped. Context: any (crash reports); does not allocate.
func stackWords(l *klog.Line, addr uint64) {
	for i := uint64(0); i < stackWordsN; i++ {
		a := uintptr(addr + 8*i)
		if a&7 != 0 || !Mapped(a) {
			return
		}
		l.S(" ").X(*(*uint64)(cpu.Pointer(a)))
	}
}

// Mapped reports whether addr is mapped in the current page table.
// Context: any (crash reports), with or without the kernel lock; does not
// allocate.
func Mapped(addr uintptr) bool {
	if !mm.Canonical(addr) || mm.KPT.Root == 0 {
		return addr >= 0x1000 && addr < 1<<30 // early identity map
	}
	_, _, ok := mm.KPT.Lookup(addr)
	return ok
}

// printStopped adds to a kernel panic report where the NMI stopped each
// other CPU and which CPU holds the kernel lock: "stopped: cpu 2 rip 0x...
// ring 3" and "lock: held by cpu 1"; then the scheduler's state and
// console input. Context: any (Panic), the other CPUs stopped; does not
// allocate.
func printStopped(c *percpu.CPU) {
	var l klog.Line // one line, reset for each (klog.Line.Reset)
	for i := 0; i < percpu.NOnline; i++ {
		o := &percpu.CPUs[i]
		if o == c || !o.Stopped || o.StoppedAt == 0 {
			continue
		}
		l.Reset()
		l.S("stopped: cpu ").U(uint64(i)).S(" rip ").X(o.StoppedAt).S(" ring ").U(o.StoppedCS & 3).S(" stack")
		stackWords(&l, o.StoppedRSP)
		l.Print()
	}
	// "lock: held by cpu 1" for the kernel lock, then "files lock: ..."
	// for the files lock: one string, the first line without its first
	// 6 bytes.
	const held = "files lock: held by cpu "
	for k := 0; k < 2; k++ {
		lk, name := &spin.KernelLock, held[6:]
		if k == 1 {
			lk, name = &spin.FilesLock, held
		}
		if owner, ok := lk.Owner(); ok {
			l.Reset()
			l.S(name).U(uint64(owner)).Print()
		}
	}
	if n := spin.FilesLock.Readers(); n != 0 {
		l.Reset()
		l.S("files lock: held shared by ").U(uint64(n)).S(" CPUs").Print()
	}
	// The scheduler's state: per CPU its current thread, whether it is
	// idle, its run queue's length, when its timer fires and how many
	// threads' deadlines its timer heap holds ("sched: cpu 0 cur 2 idle 0
	// queued 1 timer +1.000 ms deadlines 1"), then the count of all
	// deadlines ("timers: 3 armed"), and console input ("console: 0 bytes
	// buffered, reader tid 1, eof 0").
	now := clock.Nanotime()
	for i := 0; i < percpu.NOnline; i++ {
		p := &threadtab.Sched.CPUs[i]
		l.Reset()
		l.S("sched: cpu ").U(uint64(i)).S(" cur ")
		if p.Cur == sched.None {
			l.S("-")
		} else {
			l.U(uint64(threadtab.LinuxTID(p.Cur)))
		}
		l.S(" idle ").U(b2u(p.Idle)).S(" queued ").U(uint64(p.RunQ.Len())).S(" timer ")
		relTime(&l, p.Armed, now)
		l.S(" deadlines ").U(uint64(threadtab.Sched.Timers.LenOn(i)))
		l.Print()
	}
	l.Reset()
	l.S("timers: ").U(uint64(threadtab.Sched.Timers.Len())).S(" armed")
	l.Print()
	l.Reset()
	l.S("console: ").U(uint64(conin.Len)).S(" bytes buffered, reader tid ")
	if conin.Reader == sched.None {
		l.S("-")
	} else {
		l.U(uint64(threadtab.LinuxTID(conin.Reader)))
	}
	l.S(", eof ").U(b2u(conin.EOF)).Print()
}

// stackWordsN is how many words from a stack pointer each "stack" list
// of the report shows: each "stack:" line of the trap frame, and a
// stopped CPU's (the symbolizer names those that point into code).
const stackWordsN = 8

// relTime appends deadline at relative to now ("+1.500 ms", "-0.250 ms"
// when past), or "off" for 0. Context: any; does not allocate.
func relTime(l *klog.Line, at, now int64) {
	if at == 0 {
		l.S("off")
		return
	}
	if at < now {
		l.S("-").MS(now - at)
		return
	}
	l.S("+").MS(at - now)
}

// b2u is 1 for true. Context: any; does not allocate.
func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
