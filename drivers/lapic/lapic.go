// Package lapic drives the local APIC in xAPIC (MMIO) or x2APIC (MSR)
// mode: enabling it, end-of-interrupt, its timer in one-shot mode, and
// inter-processor interrupts (fixed, INIT and start-up).
package lapic

import "github.com/gometal/gometal/kernel/cpu"

// Register offsets (Intel SDM vol. 3, table 11-1). In x2APIC mode register
// r is MSR 0x800 + r>>4.
const (
	RegID         = 0x020
	RegTPR        = 0x080
	RegEOI        = 0x0b0
	RegPPR        = 0x0a0 // processor priority: the higher of the TPR and the class in service
	RegSVR        = 0x0f0 // spurious interrupt vector
	RegESR        = 0x280 // error status
	RegICRLow     = 0x300
	RegICRHigh    = 0x310 // xAPIC only: destination in bits 24-31
	RegLVTTimer   = 0x320
	RegLVTLINT0   = 0x350
	RegLVTLINT1   = 0x360
	RegTimerInit  = 0x380
	RegTimerCount = 0x390
	RegTimerDiv   = 0x3e0

	svrEnable      = 1 << 8
	lvtMasked      = 1 << 16
	lvtNMI         = 4 << 8  // delivery mode NMI (always edge-triggered)
	lvtActiveLow   = 1 << 13 // input pin polarity
	lvtTSCDeadline = 2 << 17
	timerDiv16     = 0x3

	// ICR fields.
	icrFixed      = 0 << 8
	icrNMI        = 4 << 8
	icrINIT       = 5 << 8
	icrStartup    = 6 << 8
	icrPending    = 1 << 12 // xAPIC delivery status
	icrAssert     = 1 << 14
	icrLevelTrig  = 1 << 15
	icrAllButSelf = 3 << 18

	// IA32_APIC_BASE.
	MSRAPICBase = 0x1b
	baseEnable  = 1 << 11
	baseX2APIC  = 1 << 10
	x2APICMSR   = 0x800
	DefaultBase = 0xfee00000
	cpuidX2APIC = 1 << 21 // CPUID.1:ECX
	cpuidTSCDL  = 1 << 24 // CPUID.1:ECX: TSC-deadline timer mode
	msrDeadline = 0x6e0   // IA32_TSC_DEADLINE
)

// Config describes the local APIC.
type Config struct {
	Base           uintptr // virtual address of the register page (xAPIC)
	X2APIC         bool    // use x2APIC mode (the CPU must support it)
	SpuriousVector uint8
	TimerVector    uint8
}

// LAPIC is this CPU's enabled local APIC. In xAPIC mode every CPU sees its
// own APIC at the same address, so one value serves all CPUs.
type LAPIC struct {
	base        uintptr
	x2          bool
	timerVector uint8
}

// HasX2APIC reports whether the CPU supports x2APIC mode.
func HasX2APIC() bool {
	_, _, ecx, _ := cpu.Cpuid(1, 0)
	return ecx&cpuidX2APIC != 0
}

// HasTSCDeadline reports whether the timer has TSC-deadline mode.
func HasTSCDeadline() bool {
	_, _, ecx, _ := cpu.Cpuid(1, 0)
	return ecx&cpuidTSCDL != 0
}

// StartDeadline arms the timer in TSC-deadline mode: it fires when the TSC
// reaches tsc. *lvt is this CPU's LVT timer register as the last
// StartDeadline left it (0 when not known), written only when it must
// change (see ArmOneShot). Context: trap; does not allocate.
func (l *LAPIC) StartDeadline(tsc uint64, lvt *uint32) {
	if v := lvtTSCDeadline | uint32(l.timerVector); *lvt != v {
		l.Write(RegLVTTimer, v)
		*lvt = v
	}
	cpu.Wrmsr(msrDeadline, max(tsc, 1))
}

// StopDeadline disarms a TSC-deadline timer.
func (l *LAPIC) StopDeadline() { cpu.Wrmsr(msrDeadline, 0) }

// Read reads a register.
// Context: boot or trap; does not allocate.
func (l *LAPIC) Read(off uint32) uint32 {
	if l.x2 {
		return uint32(cpu.Rdmsr(x2APICMSR + off>>4))
	}
	return *(*uint32)(cpu.Pointer(l.base + uintptr(off)))
}

// Write writes a register.
// Context: boot or trap; does not allocate.
func (l *LAPIC) Write(off uint32, v uint32) {
	if l.x2 {
		cpu.Wrmsr(x2APICMSR+off>>4, uint64(v))
		return
	}
	*(*uint32)(cpu.Pointer(l.base + uintptr(off))) = v
}

// Init enables this CPU's APIC (in x2APIC mode if asked) with the
// spurious vector and leaves its timer masked. Context: boot or trap;
// does not allocate.
func (l *LAPIC) Init(c Config) bool {
	if (c.Base == 0 && !c.X2APIC) || c.SpuriousVector < 32 || c.TimerVector < 32 {
		return false
	}
	base := cpu.Rdmsr(MSRAPICBase) | baseEnable
	if c.X2APIC {
		base |= baseX2APIC
	}
	cpu.Wrmsr(MSRAPICBase, base)
	l.base, l.x2, l.timerVector = c.Base, c.X2APIC, c.TimerVector
	l.Write(RegTPR, 0)
	l.Write(RegSVR, svrEnable|uint32(c.SpuriousVector))
	l.Write(RegTimerDiv, timerDiv16)
	l.Write(RegLVTTimer, lvtMasked|uint32(c.TimerVector))
	return true
}

// SetLINTNMI makes local interrupt pin lint (0 or 1) deliver an NMI,
// unmasked, with the given polarity: what the ACPI MADT's Local APIC NMI
// entries ask for (on a PC, LINT1 of the boot CPU, where the chipset and
// QEMU's inject-nmi send NMIs). SeaBIOS sets it up that way on the boot
// CPU before the kernel starts, qboot does not; the kernel sets it itself.
// Context: boot; does not allocate.
func (l *LAPIC) SetLINTNMI(lint uint8, activeLow bool) {
	reg := uint32(RegLVTLINT0)
	if lint == 1 {
		reg = RegLVTLINT1
	} else if lint != 0 {
		return
	}
	v := uint32(lvtNMI)
	if activeLow {
		v |= lvtActiveLow
	}
	l.Write(reg, v)
}

// ID returns this CPU's APIC id.
// Context: boot; does not allocate.
func (l *LAPIC) ID() uint32 {
	if l.x2 {
		return l.Read(RegID)
	}
	return l.Read(RegID) >> 24
}

// EOI signals the end of the current interrupt.
// Context: trap; does not allocate. Not inlined: its copies at ten
// callers cost the image more than the calls (issue 16's budget).
//
//go:noinline
func (l *LAPIC) EOI() { l.Write(RegEOI, 0) }

// ArmOneShot arms the one-shot timer with count ticks (of the bus clock
// divided by 16). It writes the LVT timer register only when it must
// change: *lvt is this CPU's register as the last ArmOneShot left it, 0
// when not known (after Init, StopTimer or calibration). Under emulation
// each register write is an exit into QEMU's device model, which waits
// for QEMU's global lock, so re-arming costs one write instead of two.
// Context: trap; does not allocate.
func (l *LAPIC) ArmOneShot(count uint32, lvt *uint32) {
	if v := uint32(l.timerVector); *lvt != v {
		l.Write(RegLVTTimer, v)
		*lvt = v
	}
	l.Write(RegTimerInit, count)
}

// StopOneShot stops the one-shot timer with an initial count of 0,
// leaving its LVT register (and ArmOneShot's copy of it) as they are.
// Context: trap; does not allocate.
func (l *LAPIC) StopOneShot() { l.Write(RegTimerInit, 0) }

// StopTimer stops and masks the timer.
// Context: boot or trap; does not allocate.
func (l *LAPIC) StopTimer() {
	l.Write(RegLVTTimer, lvtMasked|uint32(l.timerVector))
	l.Write(RegTimerInit, 0)
}

// TimerCount returns the timer's current count.
func (l *LAPIC) TimerCount() uint32 { return l.Read(RegTimerCount) }

// StartCalibration arms the masked timer with the largest count so that
// elapsed ticks can be read with TimerCount.
// Context: boot; does not allocate.
func (l *LAPIC) StartCalibration() {
	l.Write(RegLVTTimer, lvtMasked|uint32(l.timerVector))
	l.Write(RegTimerInit, 0xffffffff)
}

// icrSpinLimit bounds the wait for the delivery status in xAPIC mode (a
// second or so of register reads): an interrupt the system never accepts
// must not hang the caller, which holds the kernel lock.
const icrSpinLimit = 1 << 22

// icr sends one interrupt command and, in xAPIC mode, waits until the APIC
// has accepted it. It reports false if the delivery status still says
// pending after icrSpinLimit reads.
// Context: boot or trap; does not allocate.
func (l *LAPIC) icr(dest uint32, low uint32) bool {
	if l.x2 {
		cpu.Wrmsr(x2APICMSR+RegICRLow>>4, uint64(dest)<<32|uint64(low))
		return true
	}
	l.Write(RegICRHigh, dest<<24)
	l.Write(RegICRLow, low)
	for i := 0; l.Read(RegICRLow)&icrPending != 0; i++ {
		if i >= icrSpinLimit {
			return false
		}
		cpu.Pause()
	}
	return true
}

// SetTaskPriority sets this CPU's task priority (TPR): interrupts whose
// vector's priority class (vector >> 4) is at or below tpr >> 4 wait in
// the IRR until it is lowered again. Context: trap; does not allocate.
func (l *LAPIC) SetTaskPriority(tpr uint8) { l.Write(RegTPR, uint32(tpr)) }

// ProcessorPriority returns this CPU's processor priority (PPR): no
// interrupt of its class (>> 4) or below is delivered now, whatever the
// TPR, while one of that class is in service (not yet EOI'd). Context:
// trap; does not allocate.
func (l *LAPIC) ProcessorPriority() uint8 { return uint8(l.Read(RegPPR)) }

// SendIPI sends a fixed interrupt with vector to the CPU with APIC id dest.
// It reports false if the interrupt was not accepted (see icr).
// Context: trap; does not allocate.
func (l *LAPIC) SendIPI(dest uint32, vector uint8) bool {
	return l.icr(dest, icrFixed|uint32(vector))
}

// SendNMI sends a non-maskable interrupt to the CPU with APIC id dest.
// Context: trap (the kernel panic path); does not allocate.
func (l *LAPIC) SendNMI(dest uint32) bool {
	return l.icr(dest, icrNMI)
}

// SendInit sends an INIT IPI (assert) to dest, the first step of starting
// an application processor. Context: boot CPU (kernel/smp); does not
// allocate.
func (l *LAPIC) SendInit(dest uint32) {
	l.icr(dest, icrINIT|icrAssert|icrLevelTrig)
}

// SendStartup sends a start-up IPI: dest begins executing in real mode at
// physical page << 12. Context: boot CPU (kernel/smp); does not
// allocate.
func (l *LAPIC) SendStartup(dest uint32, page uint8) {
	l.icr(dest, icrStartup|uint32(page))
}
