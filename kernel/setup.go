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
// fault) and enables this CPU's local APIC. Context: boot.
func setupInterrupts() {
	const pic1, pic2 = 0x20, 0xa0
	cpu.Outb(pic1, 0x11) // ICW1: init, ICW4 follows
	cpu.Outb(pic2, 0x11)
	cpu.Outb(pic1+1, x86.VecPICBase) // ICW2: vector bases
	cpu.Outb(pic2+1, x86.VecPICBase+8)
	cpu.Outb(pic1+1, 4) // ICW3: cascade on IRQ 2
	cpu.Outb(pic2+1, 2)
	cpu.Outb(pic1+1, 1) // ICW4: 8086 mode
	cpu.Outb(pic2+1, 1)
	cpu.Outb(pic1+1, 0xff) // mask everything
	cpu.Outb(pic2+1, 0xff)

	base := cpu.Rdmsr(x86.MsrAPICBase)
	cpu.Wrmsr(x86.MsrAPICBase, base|x86.ApicBaseEnable)
	if !clock.LAPIC.Init(lapicConfig(base)) {
		kpanic.Panic("local APIC refused its configuration", nil)
	}
	percpu.CPUs[0].APICID = clock.LAPIC.ID()
	setupBootNMI(percpu.CPUs[0].APICID)
	threadtab.Sched.Init(1) // startAPs adds the others
}

// setupBootNMI makes the boot CPU's LINT pins that the MADT wires to NMI
// (LINT1 on a PC) deliver it: the chipset's NMIs and QEMU's inject-nmi
// (the stall report, qemu/stall.go) arrive there. SeaBIOS leaves LINT1 so
// programmed, qboot leaves it masked. Only the boot CPU, as Linux does:
// the APs' pins stay masked after their INIT, so one CPU answers an NMI.
// Context: boot, after readACPI; does not allocate.
func setupBootNMI(apicID uint32) {
	pins, low := firmware.NMIPins(apicID)
	for lint := uint8(0); lint < 2; lint++ {
		if pins&(1<<lint) != 0 {
			clock.LAPIC.SetLINTNMI(lint, low&(1<<lint) != 0)
		}
	}
}
