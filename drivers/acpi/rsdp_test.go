package acpi

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestErrorString(t *testing.T) {
	seen := map[string]Error{}
	for e := OK; e <= ErrMalformed; e++ {
		s := e.String()
		require.NotEmpty(t, s)
		_, dup := seen[s]
		assert.False(t, dup, "%d and %d share %q", e, seen[s], s)
		seen[s] = e
	}
	assert.Equal(t, "ok", OK.String())
	assert.Equal(t, "ACPI error", Error(200).String())
}

func TestFindRSDPHint(t *testing.T) {
	s := modernSet()
	a, e := FindRSDP(s.im.mem, 0, q35RSDP)
	require.Equal(t, OK, e)
	assert.Equal(t, uint64(q35RSDP), a)

	// A valid RSDP outside the scanned areas is found only through the hint.
	s.im.at(0x9000, rsdpV1("HINTED", 0x1234))
	a, e = FindRSDP(s.im.mem, 0, 0x9000)
	require.Equal(t, OK, e)
	assert.Equal(t, uint64(0x9000), a)
}

func TestFindRSDPScanBIOSArea(t *testing.T) {
	s := modernSet()
	a, e := FindRSDP(s.im.mem, 0, 0)
	require.Equal(t, OK, e)
	assert.Equal(t, uint64(q35RSDP), a)
}

func TestFindRSDPScanEBDA(t *testing.T) {
	s := modernSet()
	const ebda = 0x9fc00
	binary.LittleEndian.PutUint16(s.im.mem[0x40e:], ebda>>4)
	s.im.at(ebda+0x3f0, rsdpV1("EBDA  ", 0x5678)) // last 16-byte slot of the first KiB
	a, e := FindRSDP(s.im.mem, 0, 0)
	require.Equal(t, OK, e)
	assert.Equal(t, uint64(ebda+0x3f0), a, "the EBDA is searched before the BIOS area")

	// Past the first KiB of the EBDA it is not searched: the BIOS area's wins.
	copy(s.im.mem[ebda+0x3f0:], make([]byte, 20))
	s.im.at(ebda+0x400, rsdpV1("EBDA  ", 0x5678))
	a, e = FindRSDP(s.im.mem, 0, 0)
	require.Equal(t, OK, e)
	assert.Equal(t, uint64(q35RSDP), a)
}

func TestFindRSDPBadHintFallsBack(t *testing.T) {
	s := modernSet()
	for name, hint := range map[string]uint64{
		"garbage":        0x80000, // a DSDT, not an RSDP
		"outside memory": 0x7fff0000,
		"past the end":   0xffff8,
		"misaligned":     q35RSDP + 1,
	} {
		a, e := FindRSDP(s.im.mem, 0, hint)
		require.Equal(t, OK, e, name)
		assert.Equal(t, uint64(q35RSDP), a, name)
	}
}

func TestFindRSDPChecksums(t *testing.T) {
	// Signature right, checksum of the first 20 bytes wrong.
	im := newImage(0, 0x100000, 0)
	b := rsdpV1("BOCHS ", 0x1000)
	b[8]++
	im.at(0xf0000, b)
	_, e := FindRSDP(im.mem, 0, 0xf0000)
	assert.Equal(t, ErrNoRSDP, e)

	// Revision 2: first checksum right, extended checksum wrong.
	im = newImage(0, 0x100000, 0)
	b = rsdpV2("BOCHS ", 0x1000, 0x2000)
	b[32]++
	im.at(0xf0000, b)
	_, e = FindRSDP(im.mem, 0, 0)
	assert.Equal(t, ErrNoRSDP, e)

	// Revision 2 with a Length below 36.
	b = rsdpV2("BOCHS ", 0x1000, 0x2000)
	binary.LittleEndian.PutUint32(b[20:], 20)
	fixChecksum(b[:20], 8)
	fixChecksum(b, 32)
	im.at(0xf0000, b)
	_, e = FindRSDP(im.mem, 0, 0)
	assert.Equal(t, ErrNoRSDP, e)
}

func TestFindRSDPNone(t *testing.T) {
	_, e := FindRSDP(make([]byte, 0x100000), 0, 0)
	assert.Equal(t, ErrNoRSDP, e)
	_, e = FindRSDP(nil, 0, 0xf5a40)
	assert.Equal(t, ErrNoRSDP, e)
	// A window that starts above the BIOS area searches nothing.
	_, e = FindRSDP(make([]byte, 0x1000), 0x100000, 0)
	assert.Equal(t, ErrNoRSDP, e)
}

func TestFindRSDPWindowEdge(t *testing.T) {
	// The window ends inside the BIOS area, right after an RSDP.
	im := newImage(0xe0000, 0x44, 0)
	im.at(0xe0020, rsdpV2("EDGE  ", 0, 0x1000))
	a, e := FindRSDP(im.mem, im.base, 0)
	require.Equal(t, OK, e)
	assert.Equal(t, uint64(0xe0020), a)
	// Cut one byte of it off: the extended part no longer fits.
	a, e = FindRSDP(im.mem[:0x43], im.base, 0)
	assert.Equal(t, ErrNoRSDP, e, "found %#x", a)
}
