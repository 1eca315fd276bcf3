// Package mptable reads the Intel MultiProcessor Specification (1.4)
// tables: the MP floating pointer structure and the MP configuration
// table it points to. Machines without ACPI describe their CPUs and I/O
// APICs there (QEMU's microvm with acpi=off, whose qboot firmware writes
// one). The result goes into an acpi.MADT, so the kernel has one source
// of CPUs, I/O APICs and ISA interrupt overrides whichever table it came
// from.
//
// Context: boot. Nothing here allocates, keeps pointers or panics on any
// input; every read is bounds-checked against the memory window, which
// holds the bytes of physical addresses [base, base+len(mem)).
package mptable

import (
	"encoding/binary"

	"github.com/gometal/gometal/drivers/acpi"
)

// Error is a lookup or parse error; OK is success.
type Error uint8

// Errors.
const (
	OK           Error = iota
	ErrNotFound        // no valid floating pointer in the searched areas
	ErrNoTable         // the floating pointer names a default configuration, not a table
	ErrBadTable        // the configuration table is out of the window, or its signature, length or checksum is wrong
	ErrMalformed       // an entry has an unknown type or runs past the table
)

// String describes e. Context: any; returns constant strings.
func (e Error) String() string {
	switch e {
	case OK:
		return "ok"
	case ErrNotFound:
		return "no MP floating pointer"
	case ErrNoTable:
		return "MP default configuration without a table (not supported)"
	case ErrBadTable:
		return "MP configuration table unreadable or its checksum is wrong"
	case ErrMalformed:
		return "MP configuration table entries malformed"
	}
	return "MP table error"
}

// Areas searched for the floating pointer (MP spec §4): the first KiB of
// the EBDA, the last KiB of base memory, and the BIOS ROM.
const (
	ebdaSegmentPtr = 0x40e
	baseMemKBPtr   = 0x413
	romStart       = 0xf0000
	romEnd         = 0x100000
	fpLen          = 16
	tableHdrLen    = 44
)

// window reads physical memory [addr, addr+n) from mem, nil if outside.
// Context: boot; does not allocate. Not inlined: its copies cost the
// image bytes (issue 16's budget).
//
//go:noinline
func window(mem []byte, base, addr, n uint64) []byte {
	if addr < base || addr-base > uint64(len(mem)) || n > uint64(len(mem))-(addr-base) {
		return nil
	}
	return mem[addr-base : addr-base+n]
}

// sum adds b's bytes, modulo 256 (a valid structure sums to 0).
// Context: boot; does not allocate.
func sum(b []byte) uint8 {
	var s uint8
	for _, c := range b {
		s += c
	}
	return s
}

// Find returns the physical address of the MP floating pointer structure:
// the first valid one, on a 16-byte boundary, in the areas in order.
// Context: boot; does not allocate.
func Find(mem []byte, base uint64) (uint64, Error) {
	// The areas as start and length; length 0 when the BDA's pointer to
	// it is missing or implausible. 639 KiB: 640 KiB machines that left
	// the BDA empty.
	areas := [4][2]uint64{{}, {}, {639 * 1024, 1024}, {romStart, romEnd - romStart}}
	if p := window(mem, base, ebdaSegmentPtr, 2); p != nil {
		if ebda := uint64(binary.LittleEndian.Uint16(p)) << 4; ebda >= 0x400 && ebda < romStart {
			areas[0] = [2]uint64{ebda, 1024}
		}
	}
	if p := window(mem, base, baseMemKBPtr, 2); p != nil {
		if kb := uint64(binary.LittleEndian.Uint16(p)); kb >= 1 && kb <= 640 {
			areas[1] = [2]uint64{kb*1024 - 1024, 1024}
		}
	}
	for _, r := range areas {
		for a := r[0] &^ 15; a+fpLen <= r[0]+r[1]; a += 16 {
			b := window(mem, base, a, fpLen)
			if b == nil {
				break
			}
			if string(b[:4]) == "_MP_" && b[8] == 1 && sum(b) == 0 {
				return a, OK
			}
		}
	}
	return 0, ErrNotFound
}

// Entry types and their lengths (MP spec §4.3).
const (
	entryProcessor  = 0
	entryBus        = 1
	entryIOAPIC     = 2
	entryIOInt      = 3
	entryLocalInt   = 4
	processorLen    = 20
	otherEntryLen   = 8
	cpuEnabled      = 1
	ioapicEnabled   = 1
	intTypeINT      = 0
	maxBuses        = 256
	ioapicPinsGuess = 24 // the table does not give pin counts: GSIs are numbered as if each I/O APIC had 24
)

// Parse decodes the configuration table the floating pointer at fp points
// to into m (CPUs, I/O APICs, and ISA interrupts wired to another I/O APIC
// pin than their number, as overrides). It also returns the local APIC
// address. The header's entry count is not trusted (QEMU's qboot writes
// 0): entries are read up to the table's length.
// Context: boot; does not allocate.
func Parse(mem []byte, base, fp uint64, m *acpi.MADT) Error {
	*m = acpi.MADT{}
	f := window(mem, base, fp, fpLen)
	if f == nil || string(f[:4]) != "_MP_" || sum(f) != 0 {
		return ErrNotFound
	}
	if f[11] != 0 { // a default configuration number
		return ErrNoTable
	}
	addr := uint64(binary.LittleEndian.Uint32(f[4:]))
	h := window(mem, base, addr, tableHdrLen)
	if h == nil || string(h[:4]) != "PCMP" {
		return ErrBadTable
	}
	n := uint64(binary.LittleEndian.Uint16(h[4:]))
	t := window(mem, base, addr, n)
	if n < tableHdrLen || t == nil || sum(t) != 0 {
		return ErrBadTable
	}
	m.LocalAPICAddr = uint64(binary.LittleEndian.Uint32(t[36:]))
	var isa [maxBuses / 8]uint8 // bus IDs whose type is ISA
	for off := tableHdrLen; off < len(t); {
		size := otherEntryLen
		if t[off] == entryProcessor {
			size = processorLen
		}
		if t[off] > entryLocalInt || off+size > len(t) {
			return ErrMalformed
		}
		e := t[off : off+size]
		off += size
		switch e[0] {
		case entryProcessor:
			if m.NCPUs == len(m.CPUs) {
				m.Overflow = true
				continue
			}
			flags := uint32(0)
			if e[3]&cpuEnabled != 0 {
				flags = acpi.CPUEnabled
			}
			m.CPUs[m.NCPUs] = acpi.CPU{UID: uint32(m.NCPUs), APICID: uint32(e[1]), Flags: flags}
			m.NCPUs++
		case entryBus:
			if string(e[2:5]) == "ISA" {
				isa[e[1]/8] |= 1 << (e[1] % 8)
			}
		case entryIOAPIC:
			if e[3]&ioapicEnabled == 0 {
				continue
			}
			if m.NIOAPICs == len(m.IOAPICs) {
				m.Overflow = true
				continue
			}
			m.IOAPICs[m.NIOAPICs] = acpi.IOAPIC{ID: e[1], Addr: binary.LittleEndian.Uint32(e[4:]), GSIBase: uint32(m.NIOAPICs) * ioapicPinsGuess}
			m.NIOAPICs++
		}
	}
	// Interrupt entries refer to buses and I/O APICs by ID, which may come
	// after them: a second pass.
	for off := tableHdrLen; off < len(t); {
		size := otherEntryLen
		if t[off] == entryProcessor {
			size = processorLen
		}
		e := t[off : off+size]
		off += size
		if e[0] != entryIOInt || e[1] != intTypeINT || isa[e[4]/8]&(1<<(e[4]%8)) == 0 {
			continue
		}
		irq, apicID, pin := e[5], e[6], uint32(e[7])
		gsi, found := uint32(0), false
		for i := 0; i < m.NIOAPICs; i++ {
			if m.IOAPICs[i].ID == apicID || apicID == 0xff {
				gsi, found = m.IOAPICs[i].GSIBase+pin, true
				break
			}
		}
		flags := binary.LittleEndian.Uint16(e[2:]) // same encoding as ACPI's MPS INTI flags
		if !found || (gsi == uint32(irq) && flags == 0) {
			continue
		}
		if m.NOverrides == len(m.Overrides) {
			m.Overflow = true
			continue
		}
		m.Overrides[m.NOverrides] = acpi.Override{Bus: 0, Source: irq, GSI: gsi, Flags: flags}
		m.NOverrides++
	}
	return OK
}
