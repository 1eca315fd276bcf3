package acpi

// Dumping tables in the text format of ACPICA's acpidump, which Linux's
// `acpidump` prints and testdata/ holds (see testdata/README):
//
//	APIC @ 0x0000000007FE18D2
//	    0000: 41 50 49 43 78 00 00 00 01 CF 42 4F 43 48 53 20  APICx.....BOCHS
//	    0010: ...
//
// one header line per table, one line per 16 bytes, a blank line after
// each table. The kernel can print these lines on its console, so that a
// captured boot log becomes a test case.

// Line sizes for DumpHeader and DumpLine.
const (
	DumpHeaderLen = 4 + len(" @ 0x") + 16
	DumpLineLen   = 8 + len(": ") + 16*3 + 1 + 16
)

const hexDigits = "0123456789ABCDEF"

// Bytes returns the table r refers to, nil when it is not all in the
// window. Context: boot/trap; does not allocate.
func (r *TableRef) Bytes(mem []byte, base uint64) []byte {
	return window{mem, base}.slice(r.Addr, uint64(r.Length))
}

// DumpHeader formats the line that starts table sig at physical address
// addr into buf and returns it (without a newline).
// Context: boot/trap; does not allocate.
func DumpHeader(buf *[DumpHeaderLen]byte, sig [4]byte, addr uint64) []byte {
	copy(buf[:], sig[:])
	copy(buf[4:], " @ 0x")
	for i := 0; i < 16; i++ {
		buf[DumpHeaderLen-1-i] = hexDigits[(addr>>(4*i))&0xf]
	}
	return buf[:]
}

// DumpLine formats the line of table t that starts at offset off (a
// multiple of 16 below len(t)) into buf and returns it (without a newline):
// the offset, up to 16 bytes in hex, and the same bytes as ASCII. It
// returns nil when off is out of range.
// Context: boot/trap; does not allocate.
func DumpLine(buf *[DumpLineLen]byte, t []byte, off int) []byte {
	if off < 0 || off >= len(t) || uint64(off) > 0xffffffff {
		return nil
	}
	line := t[off:]
	if len(line) > 16 {
		line = line[:16]
	}
	digits := 4 // %8.4X: at least 4 digits, right-aligned in 8
	for digits < 8 && off>>(4*digits) != 0 {
		digits++
	}
	for i := 0; i < 8; i++ {
		buf[i] = ' '
	}
	for i := 0; i < digits; i++ {
		buf[7-i] = hexDigits[(off>>(4*i))&0xf]
	}
	buf[8], buf[9] = ':', ' '
	// Constant offsets, not a running index: the compiler then proves
	// them in range and leaves out the bounds checks (issue 16's budget).
	const text = 10 + 16*3 + 1 // where the characters start
	for i := 0; i < 16; i++ {
		hi, lo := byte(' '), byte(' ')
		if i < len(line) {
			hi, lo = hexDigits[line[i]>>4], hexDigits[line[i]&0xf]
		}
		buf[10+3*i], buf[11+3*i], buf[12+3*i] = hi, lo, ' '
	}
	buf[text-1] = ' '
	for i, c := range line {
		if c < 0x20 || c > 0x7e {
			c = '.'
		}
		buf[text+i] = c
	}
	return buf[:text+len(line)]
}
