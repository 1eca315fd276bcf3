package acpi

// S5 is the \_S5 (soft off) sleep type: the SLP_TYP values to
// write to the PM1a and PM1b control registers, or, on hardware-reduced
// platforms, SLPTypA to the sleep control register.
type S5 struct {
	SLPTypA uint8 // first package element
	SLPTypB uint8 // second element; 0 when the package has only one
}

// Sleep control bits.
const (
	pm1SLPTypShift = 10      // PM1 Control: SLP_TYPx, bits 10-12
	pm1SLPEn       = 1 << 13 // PM1 Control: SLP_EN
	sleepTypShift  = 2       // Sleep Control Register: SLP_TYPx, bits 2-4
	sleepSLPEn     = 1 << 5  // Sleep Control Register: SLP_EN
	slpTypMax      = 7       // SLP_TYPx is three bits wide
)

// AML encodings (§20).
const (
	amlNameOp       = 0x08
	amlPackageOp    = 0x12
	amlRootChar     = '\\'
	amlParentPrefix = '^'
	amlZeroOp       = 0x00
	amlOneOp        = 0x01
	amlBytePrefix   = 0x0a
	amlWordPrefix   = 0x0b
	amlDWordPrefix  = 0x0c
	amlQWordPrefix  = 0x0e
)

// PM1aValue returns what to write to PM1a control (PM1aControl) to enter
// S5: SLP_TYPa and SLP_EN. Context: any; does not allocate.
func (s S5) PM1aValue() uint16 { return uint16(s.SLPTypA&slpTypMax)<<pm1SLPTypShift | pm1SLPEn }

// PM1bValue is PM1aValue for the PM1b control block.
func (s S5) PM1bValue() uint16 { return uint16(s.SLPTypB&slpTypMax)<<pm1SLPTypShift | pm1SLPEn }

// SleepControlValue returns what to write to a hardware-reduced FADT's
// SleepControlReg to enter S5.
func (s S5) SleepControlValue() uint8 { return (s.SLPTypA&slpTypMax)<<sleepTypShift | sleepSLPEn }

// findS5 searches the AML aml (a DSDT body) for the declaration
// Name(_S5_, Package(){a, b, ...}), encoded as NameOp, an optional root
// character or parent prefixes, "_S5_", PackageOp, PkgLength, NumElements
// and integer elements, and decodes the first two into s. A candidate
// that does not decode (not a NameOp, a package running past aml, a
// non-integer element, a value over 7) is passed over.
// Context: boot/trap; does not allocate.
func findS5(aml []byte, s *S5) bool {
	for i := 0; len(aml)-i > 4; i++ {
		if aml[i] != '_' || aml[i+1] != 'S' || aml[i+2] != '5' || aml[i+3] != '_' || !nameOpBefore(aml, i) {
			continue
		}
		// b = PackageOp PkgLength NumElements elements...
		b := aml[i+4:]
		if len(b) < 1 || b[0] != amlPackageOp {
			continue
		}
		n, used, ok := pkgLength(b[1:])
		if !ok || n < used+1 || n > len(b)-1 {
			continue
		}
		pkg := b[1+used : 1+n] // NumElements, elements
		count := pkg[0]
		elems := pkg[1:]
		a, k, ok := amlInteger(elems)
		if count < 1 || !ok || a > slpTypMax {
			continue
		}
		var bv uint64
		if count >= 2 && k < len(elems) {
			if bv, _, ok = amlInteger(elems[k:]); !ok || bv > slpTypMax {
				continue
			}
		}
		*s = S5{SLPTypA: uint8(a), SLPTypB: uint8(bv)}
		return true
	}
	*s = S5{}
	return false
}

// nameOpBefore reports whether the NameSeg at aml[i:] is the name of a
// NameOp: NameOp, then '\' or any number of '^', then the segment.
func nameOpBefore(aml []byte, i int) bool {
	j := i - 1
	if j >= 0 && j < len(aml) && aml[j] == amlRootChar {
		j--
	} else {
		for j >= 0 && j < len(aml) && aml[j] == amlParentPrefix {
			j--
		}
	}
	return j >= 0 && j < len(aml) && aml[j] == amlNameOp
}

// pkgLength decodes a PkgLength (§20.2.4) at b: the package's length,
// counted from the PkgLength's first byte, and the PkgLength's own size.
// Context: boot/trap; does not allocate.
func pkgLength(b []byte) (length, size int, ok bool) {
	if len(b) < 1 {
		return 0, 0, false
	}
	lead := b[0]
	follow := int(lead >> 6)
	if follow == 0 {
		return int(lead & 0x3f), 1, true
	}
	if lead&0x30 != 0 || len(b) < 1+follow {
		return 0, 0, false // bits 4-5 must be 0 when bytes follow
	}
	length = int(lead & 0x0f)
	for k := 0; k < follow; k++ {
		length |= int(b[1+k]) << (4 + 8*k)
	}
	return length, 1 + follow, true
}

// amlInteger decodes a constant integer at b (ZeroOp, OneOp, ByteConst,
// WordConst, DWordConst or QWordConst) and the bytes it takes.
// Context: boot/trap; does not allocate.
func amlInteger(b []byte) (v uint64, size int, ok bool) {
	if len(b) < 1 {
		return 0, 0, false
	}
	switch b[0] {
	case amlZeroOp, amlOneOp:
		return uint64(b[0]), 1, true // their values are their opcodes
	case amlBytePrefix:
		size = 2
	case amlWordPrefix:
		size = 3
	case amlDWordPrefix:
		size = 5
	case amlQWordPrefix:
		size = 9
	default:
		return 0, 0, false
	}
	if len(b) < size {
		return 0, 0, false
	}
	for k := size - 1; k >= 1; k-- { // little-endian after the prefix
		v = v<<8 | uint64(b[k])
	}
	return v, size, true
}
