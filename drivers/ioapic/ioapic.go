// Package ioapic programs an I/O APIC: it routes a global system interrupt
// (GSI) to a vector on a CPU, with the polarity and trigger mode the ACPI
// MADT gives for it.
package ioapic

import "github.com/gometal/gometal/kernel/cpu"

// Registers (82093AA datasheet): an index register and a data window.
const (
	regSelect  = 0x00
	regWindow  = 0x10
	regVersion = 0x01
	regRedir   = 0x10 // redirection entry n: 0x10+2n (low), 0x11+2n (high)

	redirMasked    = 1 << 16
	redirLevel     = 1 << 15 // level triggered (else edge)
	redirLowActive = 1 << 13 // active low (else high)

	// DefaultBase is the I/O APIC's usual physical address.
	DefaultBase = 0xfec00000
)

// Config describes one I/O APIC.
type Config struct {
	Base    uintptr // virtual address of its registers
	GSIBase uint32  // first GSI it serves
}

// IOAPIC is an initialised I/O APIC.
type IOAPIC struct {
	base    uintptr
	gsiBase uint32
	entries uint32
}

// read returns I/O APIC register reg (through the index and data window).
// Context: boot; does not allocate.
func (a *IOAPIC) read(reg uint32) uint32 {
	*(*uint32)(cpu.Pointer(a.base + regSelect)) = reg
	return *(*uint32)(cpu.Pointer(a.base + regWindow))
}

// write sets I/O APIC register reg to v. Context: boot; does not allocate.
func (a *IOAPIC) write(reg, v uint32) {
	*(*uint32)(cpu.Pointer(a.base + regSelect)) = reg
	*(*uint32)(cpu.Pointer(a.base + regWindow)) = v
}

// Init reads the number of redirection entries and masks them all.
// Context: boot; does not allocate.
func (a *IOAPIC) Init(c Config) bool {
	if c.Base == 0 {
		return false
	}
	a.base, a.gsiBase = c.Base, c.GSIBase
	a.entries = (a.read(regVersion)>>16)&0xff + 1
	for i := uint32(0); i < a.entries; i++ {
		a.write(regRedir+2*i, redirMasked)
		a.write(regRedir+2*i+1, 0)
	}
	return true
}

// Serves reports whether gsi belongs to this I/O APIC. Context: any;
// does not allocate.
func (a *IOAPIC) Serves(gsi uint32) bool {
	return a.entries != 0 && gsi >= a.gsiBase && gsi < a.gsiBase+a.entries
}

// Route delivers gsi as vector to the CPU with APIC id dest. activeLow and
// level come from the MADT's interrupt source override (ISA interrupts
// default to active high, edge triggered).
// Context: boot; does not allocate.
func (a *IOAPIC) Route(gsi uint32, vector uint8, dest uint32, activeLow, level bool) bool {
	if !a.Serves(gsi) || vector < 32 {
		return false
	}
	low := uint32(vector)
	if activeLow {
		low |= redirLowActive
	}
	if level {
		low |= redirLevel
	}
	n := gsi - a.gsiBase
	a.write(regRedir+2*n+1, dest<<24)
	a.write(regRedir+2*n, low)
	return true
}

// Mask stops gsi's interrupts.
func (a *IOAPIC) Mask(gsi uint32) {
	if a.Serves(gsi) {
		a.write(regRedir+2*(gsi-a.gsiBase), redirMasked)
	}
}

// SetMasked masks or unmasks gsi, keeping the rest of its redirection
// entry. Context: trap; does not allocate.
func (a *IOAPIC) SetMasked(gsi uint32, masked bool) {
	if !a.Serves(gsi) {
		return
	}
	reg := regRedir + 2*(gsi-a.gsiBase)
	low := a.read(reg)
	if masked {
		low |= redirMasked
	} else {
		low &^= redirMasked
	}
	a.write(reg, low)
}
