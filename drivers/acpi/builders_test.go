package acpi

import "encoding/binary"

// Builders for test table sets. Offsets here are written from the ACPI 6.5
// tables directly, not from the package's constants, so that a wrong
// constant shows up as a failing test.

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// fixChecksum sets b[at] so that b sums to 0.
func fixChecksum(b []byte, at int) {
	b[at] = 0
	b[at] = -checksum(b)
}

// sdt assembles a System Description Table: the 36-byte header (signature,
// length, revision, checksum, OEM fields) and body, checksummed.
func sdt(sig string, rev byte, body ...[]byte) []byte {
	t := make([]byte, 36)
	copy(t, sig)
	t[8] = rev
	copy(t[10:], "GOMETL")
	copy(t[16:], "TESTTBL ")
	binary.LittleEndian.PutUint32(t[24:], 1)
	copy(t[28:], "GMTL")
	binary.LittleEndian.PutUint32(t[32:], 1)
	t = append(t, cat(body...)...)
	binary.LittleEndian.PutUint32(t[4:], uint32(len(t)))
	fixChecksum(t, 9)
	return t
}

// rsdpV1 is an ACPI 1.0 RSDP (revision 0, 20 bytes).
func rsdpV1(oem string, rsdt uint32) []byte {
	b := cat([]byte("RSD PTR "), []byte{0}, []byte(oem), []byte{0}, le32(rsdt))
	fixChecksum(b, 8)
	return b
}

// rsdpV2 is an ACPI 2.0+ RSDP (revision 2, 36 bytes).
func rsdpV2(oem string, rsdt uint32, xsdt uint64) []byte {
	b := cat([]byte("RSD PTR "), []byte{0}, []byte(oem), []byte{2}, le32(rsdt), le32(36), le64(xsdt), []byte{0, 0, 0, 0})
	fixChecksum(b[:20], 8)
	fixChecksum(b, 32)
	return b
}

func rsdt(addrs ...uint64) []byte {
	var body []byte
	for _, a := range addrs {
		body = append(body, le32(uint32(a))...)
	}
	return sdt("RSDT", 1, body)
}

func xsdt(addrs ...uint64) []byte {
	var body []byte
	for _, a := range addrs {
		body = append(body, le64(a)...)
	}
	return sdt("XSDT", 1, body)
}

// MADT interrupt controller structures (§5.2.12).

func lapicEntry(uid, id uint8, flags uint32) []byte {
	return cat([]byte{0, 8, uid, id}, le32(flags))
}

func ioapicEntry(id uint8, addr, gsiBase uint32) []byte {
	return cat([]byte{1, 12, id, 0}, le32(addr), le32(gsiBase))
}

func overrideEntry(bus, source uint8, gsi uint32, flags uint16) []byte {
	return cat([]byte{2, 10, bus, source}, le32(gsi), le16(flags))
}

func lapicNMIEntry(uid uint8, flags uint16, lint uint8) []byte {
	return cat([]byte{4, 6, uid}, le16(flags), []byte{lint})
}

func lapicAddrOverrideEntry(addr uint64) []byte {
	return cat([]byte{5, 12, 0, 0}, le64(addr))
}

func x2apicEntry(id, flags, uid uint32) []byte {
	return cat([]byte{9, 16, 0, 0}, le32(id), le32(flags), le32(uid))
}

func x2apicNMIEntry(flags uint16, uid uint32, lint uint8) []byte {
	return cat([]byte{0xa, 12}, le16(flags), le32(uid), []byte{lint, 0, 0, 0})
}

func madtTable(lapicAddr, flags uint32, entries ...[]byte) []byte {
	return sdt("APIC", 5, le32(lapicAddr), le32(flags), cat(entries...))
}

// fadtTable is a FADT of length bytes with revision rev; set writes its
// fields (offsets from the start of the table) before the checksum.
func fadtTable(rev byte, length int, set func(t []byte)) []byte {
	t := sdt("FACP", rev, make([]byte, length-36))
	set(t)
	fixChecksum(t, 9)
	return t
}

func put8(t []byte, off int, v uint8)   { t[off] = v }
func put16(t []byte, off int, v uint16) { binary.LittleEndian.PutUint16(t[off:], v) }
func put32(t []byte, off int, v uint32) { binary.LittleEndian.PutUint32(t[off:], v) }
func put64(t []byte, off int, v uint64) { binary.LittleEndian.PutUint64(t[off:], v) }

// putGAS writes a Generic Address Structure.
func putGAS(t []byte, off int, g GenericAddress) {
	t[off], t[off+1], t[off+2], t[off+3] = g.AddressSpaceID, g.RegisterBitWidth, g.RegisterBitOffset, g.AccessSize
	put64(t, off+4, g.Address)
}

func mcfgTable(allocs ...ECAM) []byte {
	body := make([]byte, 8)
	for _, a := range allocs {
		body = append(body, cat(le64(a.Base), le16(a.Segment), []byte{a.StartBus, a.EndBus, 0, 0, 0, 0})...)
	}
	return sdt("MCFG", 1, body)
}

func hpetTable(id uint32, base uint64) []byte {
	g := make([]byte, 12)
	putGAS(g, 0, GenericAddress{Address: base})
	return sdt("HPET", 1, le32(id), g, []byte{0}, le16(0x80), []byte{0})
}

// amlS5Zero is SeaBIOS's and QEMU's \_S5: Name (_S5, Package (0x04) {Zero, Zero, Zero, Zero}).
var amlS5Zero = []byte{0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00}

// amlS5Byte is the common form on hardware: Package (0x04) {0x05, 0x05, Zero, Zero}.
var amlS5Byte = []byte{0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00}

// dsdtTable wraps AML in a DSDT, after a little unrelated AML
// (Scope (\_SB) { Name (_S4_X, Zero) } and a string mentioning _S5_).
func dsdtTable(aml ...[]byte) []byte {
	pre := []byte{
		0x10, 0x0c, '\\', '_', 'S', 'B', '_', 0x08, '_', 'S', '4', 'X', 0x00, // Scope (\_SB) { Name (_S4X, Zero) }
		0x08, 'S', 'T', 'R', '_', 0x0d, '_', 'S', '5', '_', 0x12, 0x00, // Name (STR_, "_S5_\x12"), a decoy
	}
	return sdt("DSDT", 2, pre, cat(aml...))
}

// image is a window of physical memory with a bump allocator for tables.
type image struct {
	mem  []byte
	base uint64
	next uint64
}

func newImage(base uint64, size int, first uint64) *image {
	return &image{mem: make([]byte, size), base: base, next: first}
}

// at copies b to physical address addr and returns addr.
func (im *image) at(addr uint64, b []byte) uint64 {
	copy(im.mem[addr-im.base:], b)
	return addr
}

// add places b at the next 16-byte-aligned free address.
func (im *image) add(b []byte) uint64 {
	a := im.at(im.next, b)
	im.next = (im.next + uint64(len(b)) + 15) &^ 15
	return a
}

// Addresses in the table sets below.
const (
	q35RSDP      = 0xf5a40
	q35LAPIC     = 0xfee00000
	q35IOAPIC    = 0xfec00000
	q35IOAPIC2   = 0xfec01000
	q35HPET      = 0xfed00000
	q35ECAM      = 0xb0000000
	q35PM1aCnt   = 0x604
	q35PM1aEvt   = 0x600
	q35PMTmr     = 0x608
	q35SMICmd    = 0xb2
	q35ResetPort = 0xcf9
)

// set is a built table set and where its parts went.
type set struct {
	im                      *image
	rsdp, root              uint64
	madt, fadt, dsdt, mcfg  uint64
	hpet, ssdt, badChecksum uint64
}

// modernSet lays out an ACPI 6 machine in a 1 MiB window at 0: RSDP
// revision 2 in the BIOS area pointing at an XSDT (and an RSDT with the
// same tables), a revision-6 FADT with X_ fields, a MADT with xAPIC and
// x2APIC processors (one disabled, one online-capable), two I/O APICs,
// ISA overrides and NMIs, MCFG, HPET, an SSDT, a table with a bad
// checksum, and a DSDT whose \_S5 is {5, 5, 0, 0}.
func modernSet() *set {
	s := &set{im: newImage(0, 0x100000, 0x80000)}
	im := s.im
	s.dsdt = im.add(dsdtTable(amlS5Byte))
	s.madt = im.add(madtTable(q35LAPIC, 1,
		lapicEntry(0, 0, 1),
		lapicEntry(1, 1, 1),
		lapicEntry(2, 2, 0), // disabled
		lapicEntry(3, 3, 2), // online capable
		x2apicEntry(0x100, 1, 4),
		x2apicEntry(0x101, 1, 5),
		ioapicEntry(0, q35IOAPIC, 0),
		ioapicEntry(1, q35IOAPIC2, 24),
		overrideEntry(0, 0, 2, 0),
		overrideEntry(0, 5, 5, 0xd),   // active high, level
		overrideEntry(0, 9, 9, 0xd),   // SCI: active high, level
		overrideEntry(0, 10, 10, 0xf), // active low, level
		lapicNMIEntry(0xff, 0, 1),
		x2apicNMIEntry(5, 0xffffffff, 1),
		[]byte{0x7f, 4, 0xaa, 0xbb}, // unknown type, skipped
	))
	s.fadt = im.add(fadtTable(6, 276, func(t []byte) {
		put32(t, 36, 0)          // FIRMWARE_CTRL
		put32(t, 40, 0xdead0000) // DSDT: ignored, X_DSDT wins
		put8(t, 45, 0)
		put16(t, 46, 9) // SCI_INT
		put32(t, 48, q35SMICmd)
		put8(t, 52, 0xf1) // ACPI_ENABLE
		put8(t, 53, 0xf0)
		put32(t, 56, q35PM1aEvt)
		put32(t, 64, q35PM1aCnt)
		put32(t, 76, q35PMTmr)
		put8(t, 88, 4) // PM1_EVT_LEN
		put8(t, 89, 2) // PM1_CNT_LEN
		put8(t, 91, 4) // PM_TMR_LEN
		put8(t, 108, 0x32)
		put16(t, 109, 1<<1|1<<3) // IAPC_BOOT_ARCH: 8042, MSI not supported
		put32(t, 112, 1<<10|1<<8|1<<0)
		putGAS(t, 116, GenericAddress{SpaceSystemIO, 8, 0, 0, q35ResetPort})
		put8(t, 128, 0x0f)
		put8(t, 131, 5) // minor version
		put64(t, 140, s.dsdt)
		putGAS(t, 148, GenericAddress{SpaceSystemIO, 32, 0, 0, q35PM1aEvt})
		putGAS(t, 172, GenericAddress{SpaceSystemIO, 16, 0, 2, q35PM1aCnt})
		putGAS(t, 208, GenericAddress{SpaceSystemIO, 32, 0, 3, q35PMTmr})
	}))
	s.mcfg = im.add(mcfgTable(ECAM{Base: q35ECAM, Segment: 0, StartBus: 0, EndBus: 0xff}))
	s.hpet = im.add(hpetTable(0x8086a201, q35HPET))
	s.ssdt = im.add(sdt("SSDT", 1, []byte{0x10, 0x05, '_', 'S', 'B', '_'}))
	bad := sdt("WAET", 1, le32(2))
	bad[9]++
	s.badChecksum = im.add(bad)
	tables := []uint64{s.fadt, s.madt, s.hpet, s.mcfg, s.ssdt, s.badChecksum}
	rsdtAddr := im.add(rsdt(tables...))
	s.root = im.add(xsdt(tables...))
	s.rsdp = im.at(q35RSDP, rsdpV2("BOCHS ", uint32(rsdtAddr), s.root))
	return s
}

// legacySet lays out an ACPI 1.0 machine like QEMU pc with SeaBIOS: RSDP
// revision 0 pointing at an RSDT, a 116-byte revision-1 FADT, a MADT with
// four processors, one I/O APIC, the usual five ISA overrides and one NMI
// for all processors, and SeaBIOS's \_S5 {0, 0, 0, 0}.
func legacySet() *set {
	s := &set{im: newImage(0, 0x100000, 0x70000)}
	im := s.im
	s.dsdt = im.add(dsdtTable(amlS5Zero))
	s.madt = im.add(madtTable(q35LAPIC, 1,
		lapicEntry(0, 0, 1), lapicEntry(1, 1, 1), lapicEntry(2, 2, 1), lapicEntry(3, 3, 1),
		ioapicEntry(0, q35IOAPIC, 0),
		overrideEntry(0, 0, 2, 0),
		overrideEntry(0, 5, 5, 0xd),
		overrideEntry(0, 9, 9, 0xd),
		overrideEntry(0, 10, 10, 0xd),
		overrideEntry(0, 11, 11, 0xd),
		lapicNMIEntry(0xff, 0, 1),
	))
	s.fadt = im.add(fadtTable(1, 116, func(t []byte) {
		put32(t, 40, uint32(s.dsdt))
		put16(t, 46, 9)
		put32(t, 48, q35SMICmd)
		put8(t, 52, 0xf1)
		put8(t, 53, 0xf0)
		put32(t, 56, q35PM1aEvt)
		put32(t, 64, q35PM1aCnt)
		put32(t, 76, q35PMTmr)
		put8(t, 88, 4)
		put8(t, 89, 2)
		put8(t, 91, 4)
		put8(t, 108, 0x32)
		put32(t, 112, 1<<0|1<<4|1<<5|1<<8)
	}))
	s.hpet = im.add(hpetTable(0x8086a201, q35HPET))
	s.root = im.add(rsdt(s.fadt, s.madt, s.hpet))
	s.rsdp = im.at(q35RSDP, rsdpV1("BOCHS ", uint32(s.root)))
	return s
}

// compactSet lays the modern set's kinds of tables out in a small window
// at 0xE0000 with the RSDP first: a fuzzing seed.
func compactSet(legacy bool) *set {
	s := &set{im: newImage(0xe0000, 0x800, 0xe0040)}
	im := s.im
	aml := amlS5Byte
	if legacy {
		aml = amlS5Zero
	}
	s.dsdt = im.add(dsdtTable(aml))
	s.madt = im.add(madtTable(q35LAPIC, 1,
		lapicEntry(0, 0, 1), lapicEntry(1, 1, 0), x2apicEntry(0x100, 1, 2),
		ioapicEntry(0, q35IOAPIC, 0), overrideEntry(0, 0, 2, 0), overrideEntry(0, 9, 9, 0xd),
		lapicNMIEntry(0xff, 0, 1), x2apicNMIEntry(0, 0xffffffff, 1), lapicAddrOverrideEntry(q35LAPIC)))
	length := 276
	if legacy {
		length = 116
	}
	s.fadt = im.add(fadtTable(6, length, func(t []byte) {
		put32(t, 40, uint32(s.dsdt))
		put32(t, 64, q35PM1aCnt)
		put8(t, 89, 2)
		if !legacy {
			put64(t, 140, s.dsdt)
			putGAS(t, 172, GenericAddress{SpaceSystemIO, 16, 0, 2, q35PM1aCnt})
		}
	}))
	s.mcfg = im.add(mcfgTable(ECAM{Base: q35ECAM, EndBus: 0xff}))
	s.hpet = im.add(hpetTable(1, q35HPET))
	if legacy {
		s.root = im.add(rsdt(s.fadt, s.madt, s.mcfg, s.hpet))
		s.rsdp = im.at(0xe0000, rsdpV1("GOMETL", uint32(s.root)))
	} else {
		s.root = im.add(xsdt(s.fadt, s.madt, s.mcfg, s.hpet))
		s.rsdp = im.at(0xe0000, rsdpV2("GOMETL", 0, s.root))
	}
	if im.next > im.base+uint64(len(im.mem)) {
		panic("compactSet: window too small")
	}
	return s
}

// rechecksum recomputes the checksum of the table at addr after a test
// changed it.
func (im *image) rechecksum(addr uint64) {
	t := im.mem[addr-im.base:]
	n := binary.LittleEndian.Uint32(t[4:])
	fixChecksum(t[:n], 9)
}
