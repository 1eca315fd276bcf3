package acpi

// RSDP is the Root System Description Pointer (§5.2.5.3).
type RSDP struct {
	Addr        uint64 // physical address
	OEMID       [6]byte
	Revision    uint8  // 0 for ACPI 1.0, 2 for ACPI 2.0 and later
	RsdtAddress uint32 // physical address of the RSDT
	Length      uint32 // revision >= 2: bytes the extended checksum covers
	XsdtAddress uint64 // revision >= 2: physical address of the XSDT, 0 if none
}

// RSDP layout.
const (
	rsdpSignature        = "RSD PTR "
	rsdpV1Len            = 20 // what the first checksum covers: all of an ACPI 1.0 RSDP
	rsdpV2Len            = 36
	rsdpOEMID            = 9
	rsdpRevision         = 15
	rsdpRsdtAddress      = 16
	rsdpLength           = 20
	rsdpXsdtAddress      = 24
	rsdpExtendedRevision = 2 // Length, XsdtAddress and the extended checksum exist from here
)

// Where FindRSDP searches (§5.2.5.1).
const (
	ebdaSegmentPtr  = 0x40e   // in the BIOS data area: the EBDA's real-mode segment
	ebdaScanLen     = 1024    // the EBDA's first KiB is searched
	bdaEnd          = 0x400   // an EBDA segment pointing below this...
	conventionalTop = 0xa0000 // ...or above this is ignored
	biosAreaStart   = 0xe0000 // then the BIOS read-only area up to 1 MiB
	biosAreaLen     = 0x20000
	rsdpScanAlign   = 16
)

// checkRSDP returns the RSDP bytes at addr when they hold a valid RSDP:
// the signature, the checksum of the first 20 bytes and, for revision 2 and
// later, the extended checksum over Length bytes.
// Context: boot/trap; does not allocate.
func checkRSDP(m window, addr uint64) ([]byte, Error) {
	b := m.slice(addr, rsdpV1Len)
	if b == nil {
		return nil, ErrOutOfRange
	}
	if string(b[:8]) != rsdpSignature || checksum(b) != 0 {
		return nil, ErrBadRSDP
	}
	if b[rsdpRevision] < rsdpExtendedRevision {
		return b, OK
	}
	h := m.slice(addr, rsdpV2Len)
	if h == nil {
		return nil, ErrOutOfRange
	}
	n := u32(h, rsdpLength)
	if n < rsdpV2Len {
		return nil, ErrBadRSDP
	}
	full := m.slice(addr, uint64(n))
	if full == nil {
		return nil, ErrOutOfRange
	}
	if checksum(full) != 0 {
		return nil, ErrBadRSDP
	}
	return full, OK
}

// FindRSDP returns the physical address of the RSDP. It takes hint (from
// the boot loader: PVH's hvm_start_info.rsdp_paddr, or 0) when a valid RSDP
// is there, else searches the first KiB of the EBDA (whose segment is at
// physical 0x40E) and then 0xE0000-0xFFFFF, on 16-byte boundaries (§5.2.5.1).
// Areas outside the window are not searched.
// Context: boot/trap; does not allocate.
func FindRSDP(mem []byte, base uint64, hint uint64) (uint64, Error) {
	m := window{mem, base}
	// The areas in order, as start and length: the hint alone (none when
	// 0), the EBDA (none when its segment is implausible), the BIOS area.
	areas := [3][2]uint64{{hint, 0}, {0, 0}, {biosAreaStart, biosAreaLen}}
	if hint != 0 {
		areas[0][1] = 1
	}
	if seg := m.slice(ebdaSegmentPtr, 2); seg != nil {
		ebda := uint64(u16(seg, 0)) << 4
		if ebda >= bdaEnd && ebda < conventionalTop {
			areas[1] = [2]uint64{ebda, ebdaScanLen}
		}
	}
	for _, r := range areas {
		for a := r[0]; a < r[0]+r[1]; a += rsdpScanAlign {
			if _, e := checkRSDP(m, a); e == OK {
				return a, OK
			}
		}
	}
	return 0, ErrNoRSDP
}
