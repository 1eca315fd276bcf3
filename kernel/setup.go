package kernel

import (
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/x86"
)

// Model-specific registers (Intel SDM vol. 4).
const (
	msrEFER     = 0xc0000080
	msrSTAR     = 0xc0000081
	msrLSTAR    = 0xc0000082
	msrFMASK    = 0xc0000084
	msrAPICBase = 0x1b

	eferSCE = 1 << 0 // SYSCALL enable
	eferNXE = 1 << 11

	apicBaseEnable = 1 << 11
)

// RFLAGS bits.
const (
	flagTF   = 1 << 8
	flagIF   = 1 << 9
	flagDF   = 1 << 10
	flagIOPL = 3 << 12 // IOPL 3: the program's drivers may use port I/O
	flagNT   = 1 << 14
	flagAC   = 1 << 18
)

// CPUID feature bits.
const (
	cpuid1EDXTSC    = 1 << 4
	cpuid1EDXAPIC   = 1 << 9
	cpuid1EDXFXSR   = 1 << 24
	cpuid1EDXSSE2   = 1 << 26
	cpuid1ECXRDRAND = 1 << 30
	cpuidExtNX      = 1 << 20
)

var hwcap uint32 // CPUID.1:EDX, handed to the program as AT_HWCAP

// checkCPU stops with a clear message if the CPU lacks what the kernel and
// the Go runtime need. Context: boot.
func checkCPU() {
	_, _, ecx, edx := cpu.Cpuid(1, 0)
	hwcap = edx
	need := uint32(cpuid1EDXTSC | cpuid1EDXAPIC | cpuid1EDXFXSR | cpuid1EDXSSE2)
	if edx&need != need {
		kernelPanic("CPU lacks TSC, APIC, FXSR or SSE2", nil)
	}
	hasRDRAND = ecx&cpuid1ECXRDRAND != 0
}

// setupCPU loads c's descriptor tables, turns on SSE and the SYSCALL
// instruction, and points GS at c (already done for the boot CPU by
// start64). Context: boot, on c; does not allocate.
func setupCPU(c *percpu, ist *[3]uintptr) {
	x86.LoadGDT(&c.gdt, &c.tss, c.kstackTop, ist)
	c.nmiFX = (uintptr(ptrOf(&nmiFXAreas[c.id][0])) + 15) &^ 15
	if c.id == 0 {
		setupIDT()
	}
	x86.LoadIDT()
	cpu.WriteCR0(cpu.ReadCR0()&^(cr0EM|cr0TS) | cr0MP)
	cpu.WriteCR4(cpu.ReadCR4() | cr4OSFXSR | cr4OSXMM)
	cpu.Wrmsr(msrEFER, cpu.Rdmsr(msrEFER)|eferSCE|eferNXE)
	cpu.Wrmsr(msrSTAR, uint64(x86.SelUser32Code)<<48|uint64(x86.SelKernelCode)<<32)
	cpu.Wrmsr(msrLSTAR, uint64(syscallEntryAddr()))
	cpu.Wrmsr(msrFMASK, flagIF|flagTF|flagDF|flagAC|flagNT|flagIOPL)
}

// picVectorBase is where setupInterrupts moves the 8259s' 16 vectors. They
// are masked, but a spurious IRQ 7 or 15 still arrives on the last vector
// of each, so no other user of vectors (/dev/irq) may overlap them.
const picVectorBase = 0xe0

// setupInterrupts masks the legacy 8259 PICs (after moving their vectors
// out of the exception range, where a spurious IRQ 7 would look like a
// fault) and enables this CPU's local APIC. Context: boot.
func setupInterrupts() {
	const pic1, pic2 = 0x20, 0xa0
	cpu.Outb(pic1, 0x11) // ICW1: init, ICW4 follows
	cpu.Outb(pic2, 0x11)
	cpu.Outb(pic1+1, picVectorBase) // ICW2: vector bases
	cpu.Outb(pic2+1, picVectorBase+8)
	cpu.Outb(pic1+1, 4) // ICW3: cascade on IRQ 2
	cpu.Outb(pic2+1, 2)
	cpu.Outb(pic1+1, 1) // ICW4: 8086 mode
	cpu.Outb(pic2+1, 1)
	cpu.Outb(pic1+1, 0xff) // mask everything
	cpu.Outb(pic2+1, 0xff)

	base := cpu.Rdmsr(msrAPICBase)
	cpu.Wrmsr(msrAPICBase, base|apicBaseEnable)
	if !localAPIC.Init(lapicConfig(base)) {
		kernelPanic("local APIC refused its configuration", nil)
	}
	cpus[0].apicID = localAPIC.ID()
	sch.Init(1) // startAPs adds the others
}
