package acpi

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"
)

// fuzzBase is where the fuzzed window starts: inside the BIOS area, so
// FindRSDP's scan covers it too.
const fuzzBase = 0xe0000

// FuzzParse feeds arbitrary windows to FindRSDP and Parse and checks that
// they neither panic nor report counts beyond their arrays. With repair
// set, the checksums of the tables reachable from the RSDP are fixed
// first, so that mutations reach the table decoders instead of stopping at
// a checksum.
func FuzzParse(f *testing.F) {
	for _, legacy := range []bool{false, true} {
		s := compactSet(legacy)
		f.Add(s.im.mem, uint16(s.rsdp-fuzzBase), false)
		f.Add(s.im.mem, uint16(s.rsdp-fuzzBase), true)
	}
	f.Add([]byte("RSD PTR "), uint16(0), true)
	f.Add(rsdpV2("GOMETL", 0, fuzzBase), uint16(0), true)
	f.Fuzz(func(t *testing.T, mem []byte, off uint16, repair bool) {
		rsdp := uint64(fuzzBase) + uint64(off)
		if repair {
			repairChecksums(mem, fuzzBase, rsdp)
		}
		var out Tables
		e := Parse(mem, fuzzBase, rsdp, &out)
		checkSane(t, mem, fuzzBase, &out, e)

		a, fe := FindRSDP(mem, fuzzBase, rsdp)
		if fe == OK {
			_, ce := checkRSDP(window{mem, fuzzBase}, a)
			require.Equal(t, OK, ce, "FindRSDP returned an invalid RSDP")
		} else {
			require.Equal(t, ErrNoRSDP, fe)
		}
	})
}

// checkSane asserts what must hold for any input.
func checkSane(t *testing.T, mem []byte, base uint64, out *Tables, e Error) {
	require.LessOrEqual(t, e, ErrMalformed)
	require.GreaterOrEqual(t, out.NSeen, 0)
	require.LessOrEqual(t, out.NSeen, MaxTables)
	require.GreaterOrEqual(t, out.Skipped, 0)
	m := &out.MADT
	require.True(t, m.NCPUs >= 0 && m.NCPUs <= MaxCPUs)
	require.True(t, m.NIOAPICs >= 0 && m.NIOAPICs <= MaxIOAPICs)
	require.True(t, m.NOverrides >= 0 && m.NOverrides <= MaxOverrides)
	require.True(t, m.NNMIs >= 0 && m.NNMIs <= MaxNMIs)
	require.LessOrEqual(t, m.EnabledCPUs(), m.NCPUs)
	require.True(t, out.MCFG.NAllocations >= 0 && out.MCFG.NAllocations <= MaxECAM)
	if !out.HaveMADT {
		require.Equal(t, MADT{}, out.MADT)
	}
	if out.HaveS5 {
		require.True(t, out.HaveDSDT)
		require.LessOrEqual(t, out.S5.SLPTypA, uint8(7))
		require.LessOrEqual(t, out.S5.SLPTypB, uint8(7))
	}
	if out.HaveDSDT {
		require.True(t, out.HaveFADT)
	}
	switch e {
	case ErrNoRSDP, ErrBadRSDP, ErrOutOfRange, ErrSignature, ErrChecksum, ErrLength:
		require.False(t, out.HaveMADT || out.HaveFADT || out.HaveMCFG || out.HaveHPET || out.HaveDSDT)
	}
	var hb [DumpHeaderLen]byte
	var lb [DumpLineLen]byte
	for _, r := range out.Seen[:out.NSeen] {
		b := r.Bytes(mem, base)
		if r.Valid {
			require.NotNil(t, b)
			require.Zero(t, checksum(b), "%s", r.Signature[:])
		}
		require.Len(t, DumpHeader(&hb, r.Signature, r.Addr), DumpHeaderLen)
		for off := 0; off < len(b); off += 16 {
			require.NotNil(t, DumpLine(&lb, b, off))
		}
	}
}

// repairChecksums fixes, in place and best effort, the checksums of the
// RSDP, the root table, its tables and the DSDT.
func repairChecksums(mem []byte, base, rsdp uint64) {
	m := window{mem, base}
	r := m.slice(rsdp, rsdpV1Len)
	if r == nil {
		return
	}
	fixChecksum(r, 8)
	root, entryLen := uint64(u32(r, 16)), 4
	if r[15] >= 2 {
		if h := m.slice(rsdp, rsdpV2Len); h != nil {
			if full := m.slice(rsdp, uint64(u32(h, 20))); len(full) >= rsdpV2Len {
				fixChecksum(full, 32)
			}
			if x := u64(h, 24); x != 0 {
				root, entryLen = x, 8
			}
		}
	}
	fix := func(addr uint64) []byte {
		h := m.slice(addr, headerLen)
		if h == nil {
			return nil
		}
		t := m.slice(addr, uint64(u32(h, 4)))
		if len(t) < headerLen {
			return nil
		}
		fixChecksum(t, 9)
		return t
	}
	rt := fix(root)
	for off := headerLen; len(rt)-off >= entryLen; off += entryLen {
		a := uint64(u32(rt, off))
		if entryLen == 8 {
			a = u64(rt, off)
		}
		if t := fix(a); t != nil && string(t[:4]) == "FACP" {
			d := uint64(u32(t, 40))
			if x := u64(t, 140); x != 0 {
				d = x
			}
			fix(d)
		}
	}
}

// FuzzMADT feeds arbitrary interrupt controller structures to the MADT
// decoder.
func FuzzMADT(f *testing.F) {
	s := modernSet()
	n := binary.LittleEndian.Uint32(s.im.mem[s.madt+4:])
	f.Add(s.im.mem[s.madt+44 : s.madt+uint64(n)])
	f.Add([]byte{0, 0})
	f.Fuzz(func(t *testing.T, entries []byte) {
		var m MADT
		e := parseMADT(madtTable(0xfee00000, 1, entries), &m)
		require.True(t, e == OK || e == ErrMalformed)
		require.True(t, m.NCPUs <= MaxCPUs && m.NIOAPICs <= MaxIOAPICs && m.NOverrides <= MaxOverrides && m.NNMIs <= MaxNMIs)
	})
}

// FuzzS5 feeds arbitrary AML to the \_S5 search.
func FuzzS5(f *testing.F) {
	f.Add(amlS5Zero)
	f.Add(amlS5Byte)
	f.Add([]byte{0x08, '\\', '_', 'S', '5', '_', 0x12, 0xc9, 0x00, 0x00, 0x00, 0x02, 0x0a, 0x05, 0x0a, 0x06})
	f.Fuzz(func(t *testing.T, aml []byte) {
		var s S5
		if findS5(aml, &s) {
			require.True(t, s.SLPTypA <= 7 && s.SLPTypB <= 7)
		} else {
			require.Equal(t, S5{}, s)
		}
	})
}
