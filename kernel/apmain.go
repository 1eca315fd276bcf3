package kernel

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/smp"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/x86"
)

// The application processors: kernel/smp starts them (startAPs hands it
// the entry assembly's address and the apfault= option), waits for them
// (smp.Collect, from kmain) and releases them when the program starts;
// each one's own set-up and its way into the scheduler (apMain) stay here,
// with the entry assembly.

// startAPs starts the other CPUs the firmware lists (smp.Start) without
// waiting for them; kmain then waits for them (smp.Collect). Context:
// boot CPU, kernel lock held.
func startAPs(ids []uint32) {
	v, ok := kernelOptionValue("apfault=")
	smp.Start(ids, apEntryAddr(), v, ok)
}

// apEntryAddr returns the 64-bit entry of application processors
// (start_amd64.s).
// Context: boot; does not allocate.
func apEntryAddr() uintptr

// apMain is where an application processor arrives in Go, on its own
// kernel stack with its kernel g. It sets itself up, writes its APIC id
// into its slot (which slot a CPU takes is known only when it takes it),
// reports online, and joins the scheduler. The APs run this at the same
// time: what they write is their own slot's, and LAPIC.Init writes the
// same values into the shared clock.LAPIC as the boot CPU did.
// Context: trap, interrupts off; never returns.
func apMain() {
	c := percpu.This()
	setupCPU(c, &c.ISTTop)
	if !clock.LAPIC.Init(lapicConfig(cpu.Rdmsr(x86.MsrAPICBase))) {
		kpanic.Panic("local APIC refused its configuration", nil)
	}
	c.APICID = clock.LAPIC.ID()
	c.UpAt = clock.Nanotime()
	c.Online.Store(true)
	// Halt, not spin, until the boot CPU starts the program: the kernel
	// lock is the boot CPU's until then, and a CPU spinning for it takes
	// a host core from the boot CPU under emulation (and from the next AP
	// coming up). The boot CPU kicks every AP when it lets go (smp.WakeAPs);
	// a kick that comes before the HLT waits in the local APIC until STI.
	for !smp.ProgramStarted() {
		cpu.Halt()
	}
	klock.Kernel.Lock(c)
	var f x86.TrapFrame
	if reschedule(c, &f) { // idles until a thread is runnable
		tlb.EnterUser(c)
		unlockKernel(c)
	}
	enterUser(&f)
}
