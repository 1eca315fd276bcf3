// Package pci enumerates PCI (and PCI Express) functions through their
// configuration space, decodes their BARs and capabilities, and enables
// MSI-X. It works before the Go runtime exists: no allocation, fixed
// arrays, errors as values.
package pci

import "github.com/gometal/gometal/kernel/cpu"

// Drivers built on this package run as ordinary goroutines (package
// kernel/ring3/kgo), in ring 3 with IOPL 3: they reach configuration space
// through the legacy ports.

// Addr is a function's bus, device and function number.
type Addr struct{ Bus, Dev, Fn uint8 }

// ConfigSpace reads and writes configuration registers. Access is the
// real hardware (ports 0xCF8/0xCFC, or ECAM through the MCFG table);
// tests use a fake.
type ConfigSpace interface {
	Read32(a Addr, off uint16) uint32
	Write32(a Addr, off uint16, v uint32)
}

// PortIO is configuration mechanism #1 (ports 0xCF8 and 0xCFC): the first
// 256 bytes of each function.
type PortIO struct{}

const (
	portAddress = 0xcf8
	portData    = 0xcfc
)

func portAddr(a Addr, off uint16) uint32 {
	return 1<<31 | uint32(a.Bus)<<16 | uint32(a.Dev&31)<<11 | uint32(a.Fn&7)<<8 | uint32(off&0xfc)
}

// Read32 reads a dword. The two-port sequence is not atomic: one
// goroutine owns configuration space (kernel/ring3/kgo's scan), or the kernel
// at boot (the virtio console). Context: any; does not allocate.
func (*PortIO) Read32(a Addr, off uint16) uint32 {
	if off >= 256 {
		return 0xffffffff
	}
	cpu.Outl(portAddress, portAddr(a, off))
	return cpu.Inl(portData)
}

// Write32 writes a dword. Context: any; does not allocate.
func (*PortIO) Write32(a Addr, off uint16, v uint32) {
	if off >= 256 {
		return
	}
	cpu.Outl(portAddress, portAddr(a, off))
	cpu.Outl(portData, v)
}

// ECAM is the PCI Express memory-mapped configuration space of one
// segment: 4 KiB per function at Base + (bus<<20 | dev<<15 | fn<<12).
type ECAM struct {
	Base             uintptr // virtual address of bus StartBus's space
	StartBus, EndBus uint8
}

// reg returns the virtual address of the dword at off in a's
// configuration space, and false where a's bus lies outside the segment
// or off outside the space. Context: any; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (e *ECAM) reg(a Addr, off uint16) (uintptr, bool) {
	if a.Bus < e.StartBus || a.Bus > e.EndBus || off >= 4096 {
		return 0, false
	}
	return e.Base + (uintptr(a.Bus-e.StartBus)<<20 | uintptr(a.Dev&31)<<15 | uintptr(a.Fn&7)<<12 | uintptr(off&^3)), true
}

// Read32 reads a dword. Context: any; does not allocate.
func (e *ECAM) Read32(a Addr, off uint16) uint32 {
	r, ok := e.reg(a, off)
	if !ok {
		return 0xffffffff
	}
	return *(*uint32)(cpu.Pointer(r))
}

// Write32 writes a dword. Context: any; does not allocate.
func (e *ECAM) Write32(a Addr, off uint16, v uint32) {
	if r, ok := e.reg(a, off); ok {
		*(*uint32)(cpu.Pointer(r)) = v
	}
}
