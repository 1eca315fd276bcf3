package kernel

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/smp"
	"github.com/gometal/gometal/kernel/sysinfo"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/x86"
)

var hwcap uint32 // CPUID.1:EDX, handed to the program as AT_HWCAP

// checkCPU stops with a clear message if the CPU lacks what the kernel and
// the Go runtime need. Context: boot.
func checkCPU() {
	_, _, ecx, edx := cpu.Cpuid(1, 0)
	hwcap = edx
	need := uint32(x86.Cpuid1EDXTSC | x86.Cpuid1EDXAPIC | x86.Cpuid1EDXFXSR | x86.Cpuid1EDXSSE2)
	if edx&need != need {
		kpanic.Panic("CPU lacks TSC, APIC, FXSR or SSE2", nil)
	}
	sysinfo.HasRDRAND = ecx&x86.Cpuid1ECXRDRAND != 0
}

// setupCPU loads c's descriptor tables, turns on SSE and the SYSCALL
// instruction, and points GS at c (already done for the boot CPU by
// start64). The area where an NMI taken in ring 0 saves the FPU state
// (percpu.CPU.NmiFX, threadtab.FXSize bytes) is the lowest bytes of c's
// NMI stack (ist[1]), which grows down from its top: NMIs do not nest,
// and the handler has smp.ISTSize less those 512 bytes. ist[1]
// is 16-byte aligned and smp.ISTSize a multiple of 16, as FXSAVE wants;
// on the boot CPU the area begins at the double-fault stack's top, which
// that stack grows down from (bootISTTops).
// Context: boot, on c; does not allocate.
func setupCPU(c *percpu.CPU, ist *[3]uintptr) {
	x86.LoadGDT(&c.GDT, &c.TSS, c.KstackTop, ist)
	c.NmiFX = ist[1] - smp.ISTSize
	if c.ID == 0 {
		setupIDT()
	}
	x86.LoadIDT()
	cpu.WriteCR0(cpu.ReadCR0()&^(x86.Cr0EM|x86.Cr0TS) | x86.Cr0MP)
	cpu.WriteCR4(cpu.ReadCR4() | x86.Cr4OSFXSR | x86.Cr4OSXMM)
	cpu.Wrmsr(x86.MsrEFER, cpu.Rdmsr(x86.MsrEFER)|x86.EferSCE|x86.EferNXE)
	cpu.Wrmsr(x86.MsrSTAR, uint64(x86.SelUser32Code)<<48|uint64(x86.SelKernelCode)<<32)
	cpu.Wrmsr(x86.MsrLSTAR, uint64(syscallEntryAddr()))
	cpu.Wrmsr(x86.MsrFMASK, x86.FlagIF|x86.FlagTF|x86.FlagDF|x86.FlagAC|x86.FlagNT)
	cpu.SetIOPL3()
}

// setupInterrupts masks the legacy 8259 PICs (after moving their vectors
// out of the exception range, where a spurious IRQ 7 would look like a
// fault), enables this CPU's local APIC and makes its LINT pins that the
// MADT wires to NMI deliver it. Context: boot, after the ACPI tables are
// read (firmware.Read).
func setupInterrupts() {
	for i := 0; i < len(picSetup); i += 2 {
		cpu.Outb(uint16(picSetup[i]), picSetup[i+1])
	}
	base := cpu.Rdmsr(x86.MsrAPICBase)
	cpu.Wrmsr(x86.MsrAPICBase, base|x86.ApicBaseEnable)
	if !clock.LAPIC.Init(lapicConfig(base)) {
		kpanic.Panic("local APIC refused its configuration", nil)
	}
	percpu.CPUs[0].APICID = clock.LAPIC.ID()
	// The LINT pins that the MADT wires to NMI (LINT1 on a PC) deliver
	// it: the chipset's NMIs and QEMU's inject-nmi (the stall report,
	// qemu/stall.go) arrive there. SeaBIOS leaves LINT1 so programmed,
	// qboot leaves it masked. Only the boot CPU, as Linux does: the APs'
	// pins stay masked after their INIT, so one CPU answers an NMI.
	pins, low := firmware.NMIPins(percpu.CPUs[0].APICID)
	for lint := uint8(0); lint < 2; lint++ {
		if pins&(1<<lint) != 0 {
			clock.LAPIC.SetLINTNMI(lint, low&(1<<lint) != 0)
		}
	}
	threadtab.Sched.Init(1) // startAPs adds the others
}

// picSetup is what setupInterrupts writes to the legacy 8259 PICs (command
// ports 0x20 and 0xa0, data ports 0x21 and 0xa1), in order, as pairs of
// port and value: a string, so the table is read-only data and not a call
// per write (issue 16's image budget). TestPICSetup checks it against the
// vector base, x86.VecPICBase.
const picSetup = "\x20\x11\xa0\x11" + // ICW1: init, ICW4 follows
	"\x21\xe0\xa1\xe8" + // ICW2: vector bases, x86.VecPICBase and the next 8
	"\x21\x04\xa1\x02" + // ICW3: cascade on IRQ 2
	"\x21\x01\xa1\x01" + // ICW4: 8086 mode
	"\x21\xff\xa1\xff" // mask everything
