package acpi

import "encoding/binary"

// Bounds of the MADT's fixed arrays.
const (
	MaxCPUs      = 256
	MaxIOAPICs   = 8
	MaxOverrides = 32
	MaxNMIs      = 256 // firmware often lists one local APIC NMI per CPU
)

// MADT is the Multiple APIC Description Table (signature "APIC", §5.2.12).
type MADT struct {
	LocalAPICAddr uint64 // Local Interrupt Controller Address, or a type-5 override's
	Flags         uint32 // Multiple APIC Flags
	PCATCompat    bool   // Flags bit 0: 8259 PICs present, to be masked

	CPUs   [MaxCPUs]CPU
	NCPUs  int
	X2APIC bool // a Processor Local x2APIC entry (type 9) was present

	IOAPICs  [MaxIOAPICs]IOAPIC
	NIOAPICs int

	Overrides  [MaxOverrides]Override
	NOverrides int

	NMIs  [MaxNMIs]LocalNMI
	NNMIs int

	Overflow bool // more entries of some kind than its array holds; the rest were dropped
}

// CPU is a processor from a Processor Local APIC (type 0) or Processor
// Local x2APIC (type 9) entry.
type CPU struct {
	UID    uint32 // ACPI Processor UID
	APICID uint32 // APIC ID; x2APIC ID from a type-9 entry
	Flags  uint32 // Local APIC Flags: CPUEnabled, CPUOnlineCapable
	X2APIC bool   // from a type-9 entry
}

// Local APIC Flags (§5.2.12.2).
const (
	CPUEnabled       = 1 << 0 // the processor is usable
	CPUOnlineCapable = 1 << 1 // not enabled now, but the OS may enable it later (MADT revision >= 5)
)

// Enabled reports whether the processor is ready to use.
func (c *CPU) Enabled() bool { return c.Flags&CPUEnabled != 0 }

// OnlineCapable reports whether a disabled processor can be brought online.
func (c *CPU) OnlineCapable() bool { return c.Flags&CPUOnlineCapable != 0 }

// IOAPIC is an I/O APIC (type 1, §5.2.12.3).
type IOAPIC struct {
	ID      uint8  // I/O APIC ID
	Addr    uint32 // I/O APIC Address (physical, MMIO)
	GSIBase uint32 // Global System Interrupt Base: the GSI of its input 0
}

// Override is an Interrupt Source Override (type 2, §5.2.12.5): ISA IRQ
// Source on Bus is wired to global system interrupt GSI.
type Override struct {
	Bus    uint8 // 0: ISA
	Source uint8 // bus-relative interrupt source (IRQ)
	GSI    uint32
	Flags  uint16 // MPS INTI Flags: polarity bits 0-1, trigger mode bits 2-3
}

// MPS INTI Flags (§5.2.12.5), for Override and LocalNMI.
const (
	PolarityConforming = 0 // as the bus specifies (ISA: active high)
	PolarityActiveHigh = 1
	PolarityActiveLow  = 3
	TriggerConforming  = 0 // as the bus specifies (ISA: edge)
	TriggerEdge        = 1
	TriggerLevel       = 3
)

// Polarity returns the Polarity field (bits 0-1) of the flags.
func (o *Override) Polarity() uint8 { return uint8(o.Flags & 3) }

// Trigger returns the Trigger Mode field (bits 2-3) of the flags.
func (o *Override) Trigger() uint8 { return uint8(o.Flags>>2) & 3 }

// AllProcessors is the UID of a LocalNMI that applies to every processor
// (0xFF in a type-4 entry, 0xFFFFFFFF in a type-0xA entry).
const AllProcessors = 0xffffffff

// LocalNMI is a Local APIC NMI (type 4) or Local x2APIC NMI (type 0xA)
// entry: the processor's LINT input that is wired to NMI.
type LocalNMI struct {
	UID    uint32 // ACPI Processor UID, or AllProcessors
	Flags  uint16 // MPS INTI Flags
	LINT   uint8  // Local APIC LINT# (0 or 1)
	X2APIC bool   // from a type-0xA entry
}

// MADT layout and interrupt controller structure types (§5.2.12).
const (
	madtLocalAPICAddr = 36
	madtFlags         = 40
	madtEntries       = 44
	madtPCATCompat    = 1 << 0

	typeLocalAPIC         = 0
	typeIOAPIC            = 1
	typeOverride          = 2
	typeLocalAPICNMI      = 4
	typeLocalAPICOverride = 5
	typeLocalX2APIC       = 9
	typeLocalX2APICNMI    = 0xa

	lenLocalAPIC         = 8
	lenIOAPIC            = 12
	lenOverride          = 10
	lenLocalAPICNMI      = 6
	lenLocalAPICOverride = 12
	lenLocalX2APIC       = 16
	lenLocalX2APICNMI    = 12
)

// parseMADT decodes the checked table t into m. Entries of unknown types
// are skipped; an entry shorter than 2 bytes, running past the table or
// shorter than its type requires is ErrMalformed. A processor whose APIC ID
// was already listed (firmware that lists one in both a type-0 and a
// type-9 entry) is kept once, as first listed. On an error m is left
// zero. Context: boot/trap; does not allocate.
func parseMADT(t []byte, m *MADT) Error {
	*m = MADT{}
	if len(t) < madtEntries {
		return ErrMalformed
	}
	m.LocalAPICAddr = uint64(u32(t, madtLocalAPICAddr))
	m.Flags = u32(t, madtFlags)
	m.PCATCompat = m.Flags&madtPCATCompat != 0
	le := binary.LittleEndian // e is long enough: no need for u32 and friends
	for off := madtEntries; off < len(t); {
		n := 0 // too short: no length byte
		if len(t)-off >= 2 {
			n = int(t[off+1])
		}
		bad := n < 2 || n > len(t)-off
		if !bad {
			// Decode the interrupt controller structure e (type,
			// length, ...); one too short for its type is bad.
			e := t[off : off+n]
			switch e[0] {
			case typeLocalAPIC:
				if bad = len(e) < lenLocalAPIC; !bad {
					m.addCPU(CPU{UID: uint32(e[2]), APICID: uint32(e[3]), Flags: le.Uint32(e[4:])})
				}
			case typeLocalX2APIC:
				if bad = len(e) < lenLocalX2APIC; !bad {
					m.X2APIC = true
					m.addCPU(CPU{APICID: le.Uint32(e[4:]), Flags: le.Uint32(e[8:]), UID: le.Uint32(e[12:]), X2APIC: true})
				}
			case typeIOAPIC:
				if bad = len(e) < lenIOAPIC; !bad {
					if m.NIOAPICs >= len(m.IOAPICs) {
						m.Overflow = true
						break
					}
					m.IOAPICs[m.NIOAPICs] = IOAPIC{ID: e[2], Addr: le.Uint32(e[4:]), GSIBase: le.Uint32(e[8:])}
					m.NIOAPICs++
				}
			case typeOverride:
				if bad = len(e) < lenOverride; !bad {
					if m.NOverrides >= len(m.Overrides) {
						m.Overflow = true
						break
					}
					m.Overrides[m.NOverrides] = Override{Bus: e[2], Source: e[3], GSI: le.Uint32(e[4:]), Flags: le.Uint16(e[8:])}
					m.NOverrides++
				}
			case typeLocalAPICNMI:
				if bad = len(e) < lenLocalAPICNMI; !bad {
					uid := uint32(e[2])
					if uid == 0xff {
						uid = AllProcessors
					}
					m.addNMI(LocalNMI{UID: uid, Flags: le.Uint16(e[3:]), LINT: e[5]})
				}
			case typeLocalX2APICNMI:
				if bad = len(e) < lenLocalX2APICNMI; !bad {
					m.addNMI(LocalNMI{Flags: le.Uint16(e[2:]), UID: le.Uint32(e[4:]), LINT: e[8], X2APIC: true})
				}
			case typeLocalAPICOverride:
				if bad = len(e) < lenLocalAPICOverride; !bad {
					m.LocalAPICAddr = le.Uint64(e[4:])
				}
			}
		}
		if bad {
			*m = MADT{}
			return ErrMalformed
		}
		off += n
	}
	return OK
}

func (m *MADT) addCPU(c CPU) {
	for i := 0; i < m.NCPUs && i < len(m.CPUs); i++ {
		if m.CPUs[i].APICID == c.APICID {
			return
		}
	}
	if m.NCPUs >= len(m.CPUs) {
		m.Overflow = true
		return
	}
	m.CPUs[m.NCPUs] = c
	m.NCPUs++
}

func (m *MADT) addNMI(n LocalNMI) {
	if m.NNMIs >= len(m.NMIs) {
		m.Overflow = true
		return
	}
	m.NMIs[m.NNMIs] = n
	m.NNMIs++
}

// NMIPins returns which local interrupt pins of the processor with APIC
// id apicID the Local APIC NMI entries wire to NMI (bit n: LINTn) and
// which of those are active low: the entries for all processors and for
// its ACPI UID. With none that applies, LINT1 active high, the PC's
// wiring (the MultiProcessor specification's default, what Linux and
// SeaBIOS program). Context: boot; does not allocate.
func (m *MADT) NMIPins(apicID uint32) (pins, activeLow uint8) {
	uid, known := uint32(0), false
	for i := 0; i < m.NCPUs && i < len(m.CPUs); i++ {
		if m.CPUs[i].APICID == apicID {
			uid, known = m.CPUs[i].UID, true
			break
		}
	}
	for i := 0; i < m.NNMIs && i < len(m.NMIs); i++ {
		n := &m.NMIs[i]
		if n.LINT > 1 || n.UID != AllProcessors && (!known || n.UID != uid) {
			continue
		}
		pins |= 1 << n.LINT
		if n.Flags&3 == PolarityActiveLow {
			activeLow |= 1 << n.LINT
		}
	}
	if pins == 0 {
		return 1 << 1, 0
	}
	return pins, activeLow
}

// EnabledCPUs returns how many listed processors have the Enabled flag.
// Context: boot/trap; does not allocate.
func (m *MADT) EnabledCPUs() int {
	n := 0
	for i := 0; i < m.NCPUs && i < len(m.CPUs); i++ {
		if m.CPUs[i].Enabled() {
			n++
		}
	}
	return n
}

// IRQToGSI returns the global system interrupt and MPS INTI flags of ISA
// IRQ irq: its Interrupt Source Override if there is one, else the
// identity mapping with conforming (ISA: active high, edge) flags.
// Context: boot/trap; does not allocate.
func (m *MADT) IRQToGSI(irq uint8) (gsi uint32, flags uint16) {
	for i := 0; i < m.NOverrides && i < len(m.Overrides); i++ {
		if o := &m.Overrides[i]; o.Bus == 0 && o.Source == irq {
			return o.GSI, o.Flags
		}
	}
	return uint32(irq), 0
}
