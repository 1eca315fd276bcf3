package acpi

// System Description Table header (§5.2.6): Signature[4], Length u32,
// Revision u8, Checksum u8, OEMID[6], OEM Table ID[8], OEM Revision u32,
// Creator ID u32, Creator Revision u32.
const (
	headerLen   = 36
	hdrLength   = 4
	hdrRevision = 8
)

// Parse reads the tables reachable from the RSDP at physical address rsdp
// (see FindRSDP) into out, which it clears first. It follows the XSDT when
// the RSDP's revision is 2 or later and its XsdtAddress is not 0, else the
// RSDT, and then the DSDT named by the FADT.
//
// A bad RSDP or root table (outside the window, wrong signature, length or
// checksum) fails the whole parse. Any other table whose address is 0, that
// lies outside the window, is shorter than its header or has a bad checksum
// (or, for the DSDT, another signature) is skipped and counted in
// out.Skipped (and listed in out.Seen, not Valid, when its header could be
// read). A table that passes those checks but whose contents are malformed
// (a MADT entry shorter than 2 bytes, than its type needs, or running past
// the table, a FADT shorter than ACPI 1.0's 116 bytes, an MCFG of partial
// allocations, an HPET table under 56 bytes) makes Parse return
// ErrMalformed once it has read the rest: that table's Have flag is false
// and its struct zero, the other tables are filled in, so the caller may
// log the error and go on. Of several tables with one signature, the first
// is used. An \_S5 object that cannot be decoded leaves HaveS5 false
// without an error.
//
// Context: boot/trap; does not allocate, does not panic on any input.
func Parse(mem []byte, base uint64, rsdp uint64, out *Tables) Error {
	*out = Tables{}
	m := window{mem, base}
	r, e := checkRSDP(m, rsdp)
	if e != OK {
		return e
	}
	p := &out.RSDP // r holds at least an ACPI 1.0 RSDP (20 bytes)
	p.Addr, p.Revision, p.RsdtAddress = rsdp, r[rsdpRevision], u32(r, rsdpRsdtAddress)
	copy(p.OEMID[:], r[rsdpOEMID:])
	if p.Revision >= rsdpExtendedRevision {
		p.Length, p.XsdtAddress = u32(r, rsdpLength), u64(r, rsdpXsdtAddress)
	}
	if ref := out.see(nil, rsdp); ref != nil {
		ref.Signature = [4]byte{'R', 'S', 'D', 'P'}
		ref.Length, ref.Revision, ref.Valid = uint32(len(r)), out.RSDP.Revision, true
	}

	root, entryLen, sig := uint64(out.RSDP.RsdtAddress), 4, "RSDT"
	if out.RSDP.Revision >= rsdpExtendedRevision && out.RSDP.XsdtAddress != 0 {
		root, entryLen, sig = out.RSDP.XsdtAddress, 8, "XSDT"
		out.XSDT = true
	}
	out.Root = root
	t, e := table(m, root, sig)
	if e != OK {
		return e
	}
	if ref := out.see(t, root); ref != nil {
		ref.Valid = true
	}

	first := OK
	for off := headerLen; len(t)-off >= entryLen; off += entryLen {
		addr := uint64(u32(t, off))
		if entryLen == 8 {
			addr = u64(t, off)
		}
		// Decode the part of out the table provides; one that fails to
		// parse leaves its struct zero.
		tb := out.load(m, addr, "")
		if len(tb) < headerLen {
			continue
		}
		pe := OK
		switch string(tb[:4]) {
		case "APIC":
			if !out.HaveMADT {
				pe = parseMADT(tb, &out.MADT)
				out.HaveMADT = pe == OK
			}
		case "FACP":
			if !out.HaveFADT {
				pe = parseFADT(tb, &out.FADT)
				out.HaveFADT = pe == OK
			}
		case "MCFG":
			if !out.HaveMCFG {
				pe = parseMCFG(tb, &out.MCFG)
				out.HaveMCFG = pe == OK
			}
		case "HPET":
			if !out.HaveHPET {
				pe = parseHPET(tb, &out.HPET)
				out.HaveHPET = pe == OK
			}
		}
		if pe != OK && first == OK {
			first = pe
		}
	}

	if out.HaveFADT && out.FADT.DSDT != 0 {
		if d := out.load(m, out.FADT.DSDT, "DSDT"); d != nil {
			out.HaveDSDT, out.DSDT = true, out.FADT.DSDT
			out.HaveS5 = findS5(d[headerLen:], &out.S5)
			out.NMMIO = findMMIODevices(d[headerLen:], &out.MMIO)
		}
	}
	return first
}

// table returns the table at addr, checked: in the window, signature
// want (none when want is empty), at least a header long, summing to 0.
// On an error after its header was read it returns the header, so that
// the caller can list the table. Context: boot/trap; does not allocate.
func table(m window, addr uint64, want string) ([]byte, Error) {
	h := m.slice(addr, headerLen)
	if h == nil {
		return nil, ErrOutOfRange
	}
	if want != "" && string(h[:4]) != want {
		return h, ErrSignature
	}
	n := u32(h, hdrLength)
	if n < headerLen {
		return h, ErrLength
	}
	t := m.slice(addr, uint64(n))
	if t == nil {
		return h, ErrOutOfRange
	}
	if checksum(t) != 0 {
		return h, ErrChecksum
	}
	return t, OK
}

// load returns the table at addr when it lies in the window, is at least a
// header long, sums to 0 and, if want is not empty, has signature want.
// It lists the table in Seen (when its header is readable) and counts it in
// Skipped when it fails.
// Context: boot/trap; does not allocate.
func (out *Tables) load(m window, addr uint64, want string) []byte {
	if addr == 0 { // an empty entry: nothing is read at physical 0
		out.Skipped++
		return nil
	}
	t, e := table(m, addr, want)
	if t == nil {
		out.Skipped++
		return nil
	}
	ref := out.see(t, addr)
	if e != OK {
		out.Skipped++
		return nil
	}
	if ref != nil {
		ref.Valid = true
	}
	return t
}

// see appends the table with header h (nil: fill in later) at addr to Seen,
// returning its entry, or nil when Seen is full.
// Context: boot/trap; does not allocate.
func (out *Tables) see(h []byte, addr uint64) *TableRef {
	if out.NSeen < 0 || out.NSeen >= len(out.Seen) {
		return nil
	}
	r := &out.Seen[out.NSeen]
	out.NSeen++
	*r = TableRef{Addr: addr, Length: u32(h, hdrLength), Revision: u8(h, hdrRevision)}
	if len(h) >= len(r.Signature) {
		copy(r.Signature[:], h)
	}
	return r
}
