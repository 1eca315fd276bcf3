package kernel

import (
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/x86"
	"sync/atomic"

	"github.com/gometal/gometal/drivers/debugexit"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/sched"
)

var exceptionNames = [32]string{
	"#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
	"#BR bound range", "#UD invalid opcode", "#NM device not available",
	"#DF double fault", "coprocessor overrun", "#TS invalid TSS",
	"#NP segment not present", "#SS stack fault", "#GP general protection",
	"#PF page fault", "reserved", "#MF x87 error", "#AC alignment check",
	"#MC machine check", "#XM SIMD error", "#VE virtualization",
	"#CP control protection", "", "", "", "", "", "", "#HV", "#VC", "#SX", "",
}

// panicOwner is the id + 1 of the CPU reporting a kernel panic (0: none);
// cpusStopped counts the other CPUs that have stopped for it.
var (
	panicOwner  atomic.Int32
	cpusStopped atomic.Int32
)

// stopWaitNs bounds how long kernelPanic waits for the other CPUs to stop.
const stopWaitNs = 100e6

// kernelPanic prints the crash report of docs/protocols.md for the trap in
// f (nil if there is none) and stops the machine with a non-zero status.
// It first stops the other CPUs with an NMI each (noteNMI halts them), so
// that the report is the last thing they let through; a CPU that panics
// while another reports halts. Context: any; does not allocate; never
// returns.
func kernelPanic(reason string, f *x86.TrapFrame) {
	cpu.DisableInterrupts()
	klog.StopVcon() // the report goes to COM1, whatever the console's state
	c := percpu.This()
	if !panicOwner.CompareAndSwap(0, int32(c.ID+1)) {
		if panicOwner.Load() == int32(c.ID+1) { // a fault while reporting: stop right away
			statusRecord(0, true)
			stop(debugexit.KernelPanic)
		}
		stopForPanic(c) // another CPU is reporting
	}
	want, stopped := stopOtherCPUs(c)
	var l klog.Line
	if want > 0 {
		l.S("kernel panic on cpu ").U(uint64(c.ID)).S(": ").U(uint64(stopped)).S(" of ").U(uint64(want)).S(" other CPUs stopped").Print()
		l = klog.Line{}
	}
	l.S("=== KERNEL PANIC ===").Print()
	l = klog.Line{}
	l.S("reason: ").S(reason).Print()
	if f != nil {
		printFrame(f)
	}
	printStopped(c)
	printThreads()
	klog.Print("=== END KERNEL PANIC ===")
	statusRecord(0, true)
	stop(debugexit.KernelPanic)
}

// stopOtherCPUs sends an NMI to every other online CPU and waits (at most
// stopWaitNs, or a bounded spin while the clock is not calibrated) until
// they have stopped. It returns how many it asked and how many stopped.
// Context: any (kernelPanic), interrupts off; does not allocate.
func stopOtherCPUs(c *percpu.CPU) (want, stopped int) {
	for i := 0; i < onlineCPUs; i++ {
		if o := &percpu.CPUs[i]; o != c {
			localAPIC.SendNMI(o.APICID)
			want++
		}
	}
	deadline := nanotime() + stopWaitNs
	for spin := 0; spin < 100000000 && int(cpusStopped.Load()) < want; spin++ {
		if spin%1024 == 0 && nanotime() > deadline {
			break
		}
		cpu.Pause()
	}
	return want, int(cpusStopped.Load())
}

// stopForPanic halts c for good while another CPU reports a kernel panic,
// counting it as stopped. Context: any; does not allocate; never returns.
func stopForPanic(c *percpu.CPU) {
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

// printFrame prints the trap frame f for a crash report (docs/protocols.md):
// the registers, CR2 and CR3, the code bytes at RIP and the words at RSP.
// Context: any (kernel panics, and program faults in trap context); does
// not allocate.
func printFrame(f *x86.TrapFrame) {
	var l klog.Line
	l.S("cpu: ").U(uint64(percpu.This().ID)).S(" vector: ").U(f.Vector)
	if f.Vector < 32 {
		l.S(" (").S(exceptionNames[f.Vector]).S(")")
	}
	l.S(" error: ").X(f.Err).Print()
	reg := func(name string, v uint64, l *klog.Line) { l.S(name).S(": ").X(v).S(" ") }
	l = klog.Line{}
	reg("rip", f.RIP, &l)
	reg("cs", f.CS, &l)
	reg("rflags", f.RFLAGS, &l)
	l.Print()
	l = klog.Line{}
	reg("rsp", f.RSP, &l)
	reg("ss", f.SS, &l)
	l.Print()
	l = klog.Line{}
	reg("rax", f.AX, &l)
	reg("rbx", f.BX, &l)
	reg("rcx", f.CX, &l)
	reg("rdx", f.DX, &l)
	l.Print()
	l = klog.Line{}
	reg("rsi", f.SI, &l)
	reg("rdi", f.DI, &l)
	reg("rbp", f.BP, &l)
	reg("r8", f.R8, &l)
	l.Print()
	l = klog.Line{}
	reg("r9", f.R9, &l)
	reg("r10", f.R10, &l)
	reg("r11", f.R11, &l)
	reg("r12", f.R12, &l)
	l.Print()
	l = klog.Line{}
	reg("r13", f.R13, &l)
	reg("r14", f.R14, &l)
	reg("r15", f.R15, &l)
	l.Print()
	l = klog.Line{}
	reg("cr2", cpu.ReadCR2(), &l)
	reg("cr3", cpu.ReadCR3(), &l)
	l.Print()
	l = klog.Line{}
	l.S("code:")
	for i := uint64(0); i < 16; i++ {
		if b, ok := peekByte(uintptr(f.RIP + i)); ok {
			l.S(" ").HB(b)
		} else {
			l.S(" ??")
		}
	}
	l.Print()
	l = klog.Line{}
	l.S("stack:")
	for i := uint64(0); i < 8; i++ {
		w, ok := peekWord(uintptr(f.RSP + 8*i))
		if !ok {
			break
		}
		l.S(" ").X(w)
	}
	l.Print()
	l = klog.Line{}
	l.S("stack:")
	for i := uint64(8); i < 16; i++ {
		w, ok := peekWord(uintptr(f.RSP + 8*i))
		if !ok {
			break
		}
		l.S(" ").X(w)
	}
	l.Print()
}

// peekByte reads a byte of kernel or user memory if it is mapped.
// Context: any (crash reports); does not allocate.
func peekByte(addr uintptr) (byte, bool) {
	if !mapped(addr) {
		return 0, false
	}
	return *(*byte)(ptr(addr)), true
}

// peekWord reads an aligned word of kernel or user memory if it is mapped.
// Context: any (crash reports); does not allocate.
func peekWord(addr uintptr) (uint64, bool) {
	if addr&7 != 0 || !mapped(addr) {
		return 0, false
	}
	return *(*uint64)(ptr(addr)), true
}

// mapped reports whether addr is mapped in the current page table.
// Context: any (crash reports), with or without the kernel lock; does not
// allocate.
func mapped(addr uintptr) bool {
	if !mm.Canonical(addr) || kpt.Root == 0 {
		return addr >= 0x1000 && addr < 1<<30 // early identity map
	}
	_, _, ok := kpt.Lookup(addr)
	return ok
}

// printStopped adds to a kernel panic report where the NMI stopped each
// other CPU and which CPU holds the kernel lock: "stopped: cpu 2 rip 0x...
// ring 3" and "lock: held by cpu 1". Context: any (kernelPanic), the
// other CPUs stopped; does not allocate.
func printStopped(c *percpu.CPU) {
	for i := 0; i < onlineCPUs; i++ {
		o := &percpu.CPUs[i]
		if o == c || !o.Stopped || o.StoppedAt == 0 {
			continue
		}
		var l klog.Line
		l.S("stopped: cpu ").U(uint64(i)).S(" rip ").X(o.StoppedAt).S(" ring ").U(o.StoppedCS & 3).S(" stack")
		for w := uint64(0); w < stoppedStackWords; w++ {
			v, ok := peekWord(uintptr(o.StoppedRSP + 8*w))
			if !ok {
				break
			}
			l.S(" ").X(v)
		}
		l.Print()
	}
	if owner, ok := spin.KernelLock.Owner(); ok {
		var l klog.Line
		l.S("lock: held by cpu ").U(uint64(owner)).Print()
	}
	printSched()
}

// stoppedStackWords is how many words from a stopped CPU's stack pointer
// the report shows (the symbolizer names those that point into code).
const stoppedStackWords = 8

// printSched adds the scheduler's state to a kernel panic report: per CPU
// its current thread, whether it is idle, its run queue's length and when
// its timer fires ("sched: cpu 0 cur 2 idle 0 queued 1 timer +1.000 ms"),
// then the sleep timers' owner and the next one ("timers: 3 armed, next
// tid 2 in +0.500 ms, owner cpu 1"), and console input ("console: 0
// bytes buffered, reader tid 1, eof 0"). Context: any (kernelPanic), the
// other CPUs stopped; does not allocate.
func printSched() {
	now := nanotime()
	for i := 0; i < onlineCPUs; i++ {
		p := &threadtab.Sched.CPUs[i]
		var l klog.Line
		l.S("sched: cpu ").U(uint64(i)).S(" cur ")
		if p.Cur == noThread {
			l.S("-")
		} else {
			l.U(uint64(threadtab.LinuxTID(p.Cur)))
		}
		l.S(" idle ").U(b2u(p.Idle)).S(" queued ").U(uint64(p.RunQ.Len())).S(" timer ")
		relTime(&l, p.Armed, now)
		l.Print()
	}
	var l klog.Line
	l.S("timers: ").U(uint64(threadtab.Sched.Timers.Len())).S(" armed")
	if t, when := threadtab.Sched.Timers.Next(); t != noThread {
		l.S(", next tid ").U(uint64(threadtab.LinuxTID(t))).S(" ")
		relTime(&l, when, now)
		l.S(", owner cpu ").U(uint64(threadtab.Sched.TimerOwner))
	}
	l.Print()
	l = klog.Line{}
	l.S("console: ").U(uint64(conLen)).S(" bytes buffered, reader tid ")
	if conReader == noThread {
		l.S("-")
	} else {
		l.U(uint64(threadtab.LinuxTID(conReader)))
	}
	l.S(", eof ").U(b2u(conEOF)).Print()
}

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

// printThreads adds the program's threads to a kernel panic report, one
// line each: "thread: tid 3 blocked futex cpu 1 rip 0x... signals
// pending 0x0 blocked 0x0". rip is where the thread last left ring 3
// (for a running thread, as of its last entry into the kernel).
// Context: any (kernelPanic), the other CPUs stopped; does not allocate.
func printThreads() {
	for i := range threadtab.Threads {
		t := sched.TID(i)
		st := tstate(t)
		if st == threadFree {
			continue
		}
		th := &threadtab.Threads[i]
		var l klog.Line
		l.S("thread: tid ").U(uint64(threadtab.LinuxTID(t))).S(" ")
		if int(st) < len(threadtab.StateNames) {
			l.S(threadtab.StateNames[st])
		} else {
			l.U(uint64(st))
		}
		l.S(" ")
		if st == threadBlocked && int(th.Wait) < len(threadtab.WaitNames) {
			l.S(threadtab.WaitNames[th.Wait])
		} else {
			l.S("-")
		}
		l.S(" cpu ").U(uint64(threadtab.Sched.Threads[t].CPU)).S(" rip ").X(th.Regs.RIP).S(" signals pending ").X(th.Pending).S(" blocked ").X(th.Sigmask).Print()
	}
}
