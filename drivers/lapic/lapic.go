// Package lapic drives the local APIC in xAPIC (MMIO) mode: enabling it,
// end-of-interrupt, and its timer in one-shot mode.
package lapic

import "github.com/gometal/gometal/kernel/cpu"

// Register offsets (Intel SDM vol. 3, table 11-1).
const (
	RegID         = 0x020
	RegEOI        = 0x0b0
	RegSVR        = 0x0f0 // spurious interrupt vector
	RegLVTTimer   = 0x320
	RegTimerInit  = 0x380
	RegTimerCount = 0x390
	RegTimerDiv   = 0x3e0
	RegTPR        = 0x080

	svrEnable    = 1 << 8
	lvtMasked    = 1 << 16
	timerDiv16   = 0x3
	lvtOneShot   = 0 << 17
	DefaultBase  = 0xfee00000
	MSRAPICBase  = 0x1b
	apicBaseEnab = 1 << 11
)

// Config describes the local APIC.
type Config struct {
	Base           uintptr // virtual address of the register page
	SpuriousVector uint8
	TimerVector    uint8
}

// LAPIC is an enabled local APIC.
type LAPIC struct {
	base        uintptr
	timerVector uint8
}

func (l *LAPIC) reg(off uintptr) *uint32 {
	return (*uint32)(cpu.Pointer(l.base + off))
}

// Read reads a register.
func (l *LAPIC) Read(off uintptr) uint32 { return *l.reg(off) }

// Write writes a register.
func (l *LAPIC) Write(off uintptr, v uint32) { *l.reg(off) = v }

// Init enables the APIC with the spurious vector and leaves its timer
// masked. Context: boot or trap; does not allocate.
func (l *LAPIC) Init(c Config) bool {
	if c.Base == 0 || c.SpuriousVector < 32 || c.TimerVector < 32 {
		return false
	}
	l.base = c.Base
	l.timerVector = c.TimerVector
	l.Write(RegTPR, 0)
	l.Write(RegSVR, svrEnable|uint32(c.SpuriousVector))
	l.Write(RegTimerDiv, timerDiv16)
	l.Write(RegLVTTimer, lvtMasked|uint32(c.TimerVector))
	return true
}

// ID returns this CPU's APIC id.
func (l *LAPIC) ID() uint32 { return l.Read(RegID) >> 24 }

// EOI signals the end of the current interrupt.
func (l *LAPIC) EOI() { l.Write(RegEOI, 0) }

// StartTimer arms the one-shot timer with count ticks (of the bus clock
// divided by 16). A count of 0 stops it.
func (l *LAPIC) StartTimer(count uint32) {
	l.Write(RegLVTTimer, lvtOneShot|uint32(l.timerVector))
	l.Write(RegTimerInit, count)
}

// StopTimer stops and masks the timer.
func (l *LAPIC) StopTimer() {
	l.Write(RegLVTTimer, lvtMasked|uint32(l.timerVector))
	l.Write(RegTimerInit, 0)
}

// TimerCount returns the timer's current count.
func (l *LAPIC) TimerCount() uint32 { return l.Read(RegTimerCount) }

// StartCalibration arms the masked timer with the largest count so that
// elapsed ticks can be read with TimerCount.
func (l *LAPIC) StartCalibration() {
	l.Write(RegLVTTimer, lvtMasked|uint32(l.timerVector))
	l.Write(RegTimerInit, 0xffffffff)
}
