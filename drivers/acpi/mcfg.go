package acpi

// MaxECAM bounds MCFG.Allocations.
const MaxECAM = 8

// ECAM is one Configuration Space Base Address Allocation of the MCFG:
// the enhanced configuration space of buses StartBus..EndBus of a PCI
// segment group, 1 MiB per bus from bus 0's address Base.
type ECAM struct {
	Base     uint64 // Base Address of bus 0 (even when StartBus > 0)
	Segment  uint16 // PCI Segment Group Number
	StartBus uint8  // Start Bus Number
	EndBus   uint8  // End Bus Number
}

// MCFG is the PCI Express memory-mapped configuration table (signature
// "MCFG", PCI Firmware Specification 3.x, §4.1.2; reserved by ACPI §5.2.6).
type MCFG struct {
	Allocations  [MaxECAM]ECAM
	NAllocations int
	Overflow     bool // more allocations than MaxECAM; the rest were dropped
}

// MCFG layout: header, 8 reserved bytes, then 16-byte allocations.
const (
	mcfgEntries  = 44
	mcfgEntryLen = 16
)

// parseMCFG decodes the checked table t into c. A length that is not the
// header plus whole allocations is ErrMalformed.
// Context: boot/trap; does not allocate.
func parseMCFG(t []byte, c *MCFG) Error {
	*c = MCFG{}
	if len(t) < mcfgEntries || (len(t)-mcfgEntries)%mcfgEntryLen != 0 {
		return ErrMalformed
	}
	for off := mcfgEntries; len(t)-off >= mcfgEntryLen; off += mcfgEntryLen {
		if c.NAllocations >= len(c.Allocations) {
			c.Overflow = true
			break
		}
		c.Allocations[c.NAllocations] = ECAM{
			Base:     u64(t, off),
			Segment:  u16(t, off+8),
			StartBus: u8(t, off+10),
			EndBus:   u8(t, off+11),
		}
		c.NAllocations++
	}
	return OK
}
