// Package acpi parses the ACPI tables the kernel needs to bring up the
// other CPUs, route interrupts and power the machine off: the RSDP, the
// RSDT or XSDT, the MADT (CPUs, I/O APICs, interrupt source overrides,
// local APIC NMIs), the FADT (SCI, power-management registers, reset
// register, boot architecture flags), the MCFG (PCI Express ECAM), the
// HPET table, and the \_S5 sleep type from the DSDT's AML.
//
// Context: boot/trap context, before the Go runtime exists. Nothing here
// allocates, stores a Go pointer in a global or panics on any input: the
// results go into fixed arrays inside the caller's Tables, and every read is
// bounds-checked against the memory window and against the table's own
// length. Physical memory is one window, mem, holding the bytes of physical
// addresses [base, base+len(mem)) (the kernel passes its direct map).
//
// Names follow the ACPI 6.5 specification; section numbers refer to it.
package acpi

import "encoding/binary"

// Error is an ACPI parse error; the zero value OK is success.
type Error uint8

const (
	OK            Error = iota
	ErrNoRSDP           // no valid RSDP at the hint, in the EBDA or in the BIOS area
	ErrBadRSDP          // the RSDP's signature, checksum or length is wrong
	ErrOutOfRange       // a table lies, wholly or partly, outside the memory window
	ErrSignature        // the root table is not an RSDT or XSDT as the RSDP says
	ErrChecksum         // the root table's checksum is wrong
	ErrLength           // a table's length is smaller than its header
	ErrMalformed        // a table's contents are inconsistent (entry length, size)
)

// String describes e. Context: any; returns constant strings.
func (e Error) String() string {
	switch e {
	case OK:
		return "ok"
	case ErrNoRSDP:
		return "no ACPI RSDP found"
	case ErrBadRSDP:
		return "ACPI RSDP signature, checksum or length is wrong"
	case ErrOutOfRange:
		return "ACPI table outside readable memory"
	case ErrSignature:
		return "ACPI root table signature is not RSDT/XSDT"
	case ErrChecksum:
		return "ACPI root table checksum is wrong"
	case ErrLength:
		return "ACPI table shorter than its header"
	case ErrMalformed:
		return "ACPI table contents malformed"
	}
	return "ACPI error"
}

// MaxTables bounds Tables.Seen.
const MaxTables = 64

// TableRef records one table met while parsing, for the boot log and for
// dumping the tables (see DumpHeader).
type TableRef struct {
	Signature [4]byte // "RSDP" for the RSDP
	Addr      uint64  // physical address
	Length    uint32  // from the header; for the RSDP, the bytes it covers (20 or Length)
	Revision  uint8
	Valid     bool // in the window, length and checksum verified; false: skipped
}

// Tables is everything Parse extracts. It holds no pointers and has a
// fixed size, so the kernel keeps one in a global.
type Tables struct {
	RSDP RSDP
	XSDT bool   // the root table is the XSDT (else the RSDT)
	Root uint64 // physical address of the root table

	Seen    [MaxTables]TableRef // RSDP, root, its tables in order, then the DSDT
	NSeen   int                 // entries used in Seen; further tables are parsed but not listed
	Skipped int                 // tables ignored: unreadable, bad length or bad checksum

	HaveMADT, HaveFADT, HaveMCFG, HaveHPET, HaveDSDT, HaveS5 bool

	MADT MADT
	FADT FADT
	MCFG MCFG
	HPET HPET
	DSDT uint64 // physical address of the DSDT that was read (from the FADT)
	S5   S5

	// MMIO lists the DSDT's virtio-mmio transports (_HID LNRO0005).
	MMIO  [MaxMMIODevices]MMIODevice
	NMMIO int
}

// window is mem holding physical addresses [base, base+len(b)).
type window struct {
	b    []byte
	base uint64
}

// slice returns the n bytes at physical address addr, nil when any of them
// lies outside the window. Context: boot; does not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (m window) slice(addr, n uint64) []byte {
	if addr < m.base || n > uint64(len(m.b)) || addr-m.base > uint64(len(m.b))-n {
		return nil
	}
	return m.b[addr-m.base : addr-m.base+n]
}

// Little-endian reads that return 0 for bytes beyond b, so that a field
// past the end of a short table reads as absent instead of panicking.

func u8(b []byte, off int) uint8 {
	if off < 0 || off >= len(b) {
		return 0
	}
	return b[off]
}

func u16(b []byte, off int) uint16 {
	if off < 0 || len(b)-off < 2 {
		return 0
	}
	return binary.LittleEndian.Uint16(b[off:])
}

func u32(b []byte, off int) uint32 {
	if off < 0 || len(b)-off < 4 {
		return 0
	}
	return binary.LittleEndian.Uint32(b[off:])
}

func u64(b []byte, off int) uint64 {
	if off < 0 || len(b)-off < 8 {
		return 0
	}
	return binary.LittleEndian.Uint64(b[off:])
}

// checksum returns the 8-bit sum of b; a valid table sums to 0.
func checksum(b []byte) uint8 {
	var s uint8
	for _, c := range b {
		s += c
	}
	return s
}
