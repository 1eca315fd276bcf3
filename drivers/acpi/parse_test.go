package acpi

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sigs lists the signatures in out.Seen.
func sigs(out *Tables) []string {
	var s []string
	for _, r := range out.Seen[:out.NSeen] {
		s = append(s, string(r.Signature[:]))
	}
	return s
}

func TestParseModern(t *testing.T) {
	s := modernSet()
	var out Tables
	require.Equal(t, OK, Parse(s.im.mem, 0, s.rsdp, &out))

	assert.Equal(t, RSDP{Addr: q35RSDP, OEMID: [6]byte{'B', 'O', 'C', 'H', 'S', ' '}, Revision: 2,
		RsdtAddress: out.RSDP.RsdtAddress, Length: 36, XsdtAddress: s.root}, out.RSDP)
	assert.NotZero(t, out.RSDP.RsdtAddress)
	assert.True(t, out.XSDT)
	assert.Equal(t, s.root, out.Root)

	assert.Equal(t, []string{"RSDP", "XSDT", "FACP", "APIC", "HPET", "MCFG", "SSDT", "WAET", "DSDT"}, sigs(&out))
	assert.Equal(t, TableRef{Signature: [4]byte{'R', 'S', 'D', 'P'}, Addr: q35RSDP, Length: 36, Revision: 2, Valid: true}, out.Seen[0])
	assert.Equal(t, s.root, out.Seen[1].Addr)
	assert.Equal(t, TableRef{Signature: [4]byte{'A', 'P', 'I', 'C'}, Addr: s.madt, Length: out.Seen[3].Length, Revision: 5, Valid: true}, out.Seen[3])
	assert.False(t, out.Seen[7].Valid, "WAET has a bad checksum")
	assert.Equal(t, s.badChecksum, out.Seen[7].Addr)
	assert.Equal(t, 1, out.Skipped)
	for i, r := range out.Seen[:out.NSeen] {
		if i != 7 {
			assert.True(t, r.Valid, "%s", r.Signature[:])
		}
	}

	assert.True(t, out.HaveMADT)
	assert.True(t, out.HaveFADT)
	assert.True(t, out.HaveMCFG)
	assert.True(t, out.HaveHPET)
	assert.True(t, out.HaveDSDT)
	assert.True(t, out.HaveS5)
	assert.Equal(t, s.dsdt, out.DSDT)

	m := &out.MADT
	assert.Equal(t, uint64(q35LAPIC), m.LocalAPICAddr)
	assert.Equal(t, uint32(1), m.Flags)
	assert.True(t, m.PCATCompat)
	assert.True(t, m.X2APIC)
	assert.False(t, m.Overflow)
	require.Equal(t, 6, m.NCPUs)
	assert.Equal(t, []CPU{
		{UID: 0, APICID: 0, Flags: 1},
		{UID: 1, APICID: 1, Flags: 1},
		{UID: 2, APICID: 2, Flags: 0},
		{UID: 3, APICID: 3, Flags: 2},
		{UID: 4, APICID: 0x100, Flags: 1, X2APIC: true},
		{UID: 5, APICID: 0x101, Flags: 1, X2APIC: true},
	}, m.CPUs[:m.NCPUs])
	assert.Equal(t, 4, m.EnabledCPUs())
	assert.False(t, m.CPUs[2].Enabled())
	assert.False(t, m.CPUs[2].OnlineCapable())
	assert.False(t, m.CPUs[3].Enabled())
	assert.True(t, m.CPUs[3].OnlineCapable())
	assert.Equal(t, []IOAPIC{{0, q35IOAPIC, 0}, {1, q35IOAPIC2, 24}}, m.IOAPICs[:m.NIOAPICs])
	assert.Equal(t, []Override{{0, 0, 2, 0}, {0, 5, 5, 0xd}, {0, 9, 9, 0xd}, {0, 10, 10, 0xf}}, m.Overrides[:m.NOverrides])
	assert.Equal(t, uint8(PolarityActiveHigh), m.Overrides[1].Polarity())
	assert.Equal(t, uint8(TriggerLevel), m.Overrides[1].Trigger())
	assert.Equal(t, uint8(PolarityActiveLow), m.Overrides[3].Polarity())
	assert.Equal(t, uint8(PolarityConforming), m.Overrides[0].Polarity())
	assert.Equal(t, uint8(TriggerConforming), m.Overrides[0].Trigger())
	assert.Equal(t, []LocalNMI{
		{UID: AllProcessors, Flags: 0, LINT: 1},
		{UID: AllProcessors, Flags: 5, LINT: 1, X2APIC: true},
	}, m.NMIs[:m.NNMIs])
	gsi, flags := m.IRQToGSI(0)
	assert.Equal(t, uint32(2), gsi)
	assert.Equal(t, uint16(0), flags)
	gsi, flags = m.IRQToGSI(9)
	assert.Equal(t, uint32(9), gsi)
	assert.Equal(t, uint16(0xd), flags)
	gsi, flags = m.IRQToGSI(4)
	assert.Equal(t, uint32(4), gsi)
	assert.Equal(t, uint16(0), flags)

	f := &out.FADT
	assert.Equal(t, uint8(6), f.Revision)
	assert.Equal(t, uint8(5), f.MinorVersion)
	assert.Equal(t, s.dsdt, f.DSDT, "X_DSDT wins over DSDT")
	assert.Equal(t, uint16(9), f.SCIInt)
	assert.Equal(t, uint32(q35SMICmd), f.SMICmd)
	assert.Equal(t, uint8(0xf1), f.ACPIEnable)
	assert.Equal(t, uint8(0xf0), f.ACPIDisable)
	assert.Equal(t, uint32(q35PM1aEvt), f.PM1aEvtBlk)
	assert.Equal(t, uint32(q35PM1aCnt), f.PM1aCntBlk)
	assert.Zero(t, f.PM1bCntBlk)
	assert.Zero(t, f.PM1bEvtBlk)
	assert.Equal(t, uint32(q35PMTmr), f.PMTmrBlk)
	assert.Equal(t, uint8(4), f.PM1EvtLen)
	assert.Equal(t, uint8(2), f.PM1CntLen)
	assert.Equal(t, uint8(4), f.PMTmrLen)
	assert.Equal(t, uint8(0x32), f.Century)
	assert.Equal(t, uint16(BootArch8042|BootArchMSINotSupported), f.IAPCBootArch)
	assert.True(t, f.Has8042())
	assert.True(t, f.MSINotSupported())
	assert.False(t, f.VGANotPresent())
	assert.False(t, f.CMOSRTCNotPresent())
	assert.Equal(t, uint32(FlagResetRegSup|FlagTmrValExt|FlagWBINVD), f.Flags)
	assert.True(t, f.ResetSupported())
	assert.False(t, f.HardwareReduced())
	assert.Equal(t, GenericAddress{SpaceSystemIO, 8, 0, 0, q35ResetPort}, f.ResetReg)
	assert.Equal(t, uint8(0x0f), f.ResetValue)
	assert.Equal(t, GenericAddress{SpaceSystemIO, 32, 0, 0, q35PM1aEvt}, f.XPM1aEvtBlk)
	assert.Equal(t, GenericAddress{SpaceSystemIO, 16, 0, 2, q35PM1aCnt}, f.XPM1aCntBlk)
	assert.Equal(t, GenericAddress{}, f.XPM1bCntBlk)
	assert.Equal(t, GenericAddress{SpaceSystemIO, 32, 0, 3, q35PMTmr}, f.XPMTmrBlk)
	assert.Equal(t, f.XPM1aCntBlk, f.PM1aControl())
	assert.Equal(t, GenericAddress{}, f.PM1bControl())
	assert.Equal(t, f.XPMTmrBlk, f.PMTimer())
	assert.Equal(t, f.XPM1aEvtBlk, f.PM1aEvent())
	assert.Equal(t, GenericAddress{}, f.SleepControlReg)

	assert.Equal(t, MCFG{Allocations: [MaxECAM]ECAM{{Base: q35ECAM, EndBus: 0xff}}, NAllocations: 1}, out.MCFG)
	assert.Equal(t, HPET{EventTimerBlockID: 0x8086a201, BaseAddress: GenericAddress{Address: q35HPET}, MinimumTick: 0x80}, out.HPET)
	assert.Equal(t, S5{5, 5}, out.S5)
	assert.Equal(t, uint16(5<<10|1<<13), out.S5.PM1aValue())
	assert.Equal(t, uint16(5<<10|1<<13), out.S5.PM1bValue())
	assert.Equal(t, uint8(5<<2|1<<5), out.S5.SleepControlValue())
}

func TestParseLegacy(t *testing.T) {
	s := legacySet()
	var out Tables
	require.Equal(t, OK, Parse(s.im.mem, 0, s.rsdp, &out))

	assert.Equal(t, RSDP{Addr: q35RSDP, OEMID: [6]byte{'B', 'O', 'C', 'H', 'S', ' '}, RsdtAddress: uint32(s.root)}, out.RSDP)
	assert.False(t, out.XSDT)
	assert.Equal(t, s.root, out.Root)
	assert.Equal(t, []string{"RSDP", "RSDT", "FACP", "APIC", "HPET", "DSDT"}, sigs(&out))
	assert.Equal(t, uint32(20), out.Seen[0].Length)
	assert.Zero(t, out.Skipped)
	assert.True(t, out.HaveMADT && out.HaveFADT && out.HaveHPET && out.HaveDSDT && out.HaveS5)
	assert.False(t, out.HaveMCFG)

	m := &out.MADT
	assert.Equal(t, 4, m.NCPUs)
	assert.Equal(t, 4, m.EnabledCPUs())
	assert.False(t, m.X2APIC)
	assert.Equal(t, 1, m.NIOAPICs)
	assert.Equal(t, 5, m.NOverrides)
	assert.Equal(t, 1, m.NNMIs)

	f := &out.FADT
	assert.Equal(t, uint8(1), f.Revision)
	assert.Equal(t, s.dsdt, f.DSDT)
	assert.Equal(t, uint16(9), f.SCIInt)
	assert.Equal(t, uint32(q35PM1aCnt), f.PM1aCntBlk)
	assert.Equal(t, uint32(FlagWBINVD|FlagPwrButton|1<<5|FlagTmrValExt), f.Flags)
	assert.Zero(t, f.IAPCBootArch)
	assert.Equal(t, GenericAddress{}, f.ResetReg, "not in a 116-byte FADT")
	assert.Zero(t, f.ResetValue)
	assert.False(t, f.ResetSupported())
	assert.Equal(t, GenericAddress{}, f.XPM1aCntBlk)
	assert.Zero(t, f.MinorVersion)
	// Without X_ fields the port forms are used.
	assert.Equal(t, GenericAddress{AddressSpaceID: SpaceSystemIO, RegisterBitWidth: 16, Address: q35PM1aCnt}, f.PM1aControl())
	assert.Equal(t, GenericAddress{AddressSpaceID: SpaceSystemIO, RegisterBitWidth: 32, Address: q35PMTmr}, f.PMTimer())
	assert.Equal(t, GenericAddress{AddressSpaceID: SpaceSystemIO, RegisterBitWidth: 32, Address: q35PM1aEvt}, f.PM1aEvent())

	assert.Equal(t, S5{0, 0}, out.S5)
	assert.Equal(t, uint16(0x2000), out.S5.PM1aValue(), "what kernel.stop writes to QEMU's PM1a_CNT")
}

// TestParseRSDTWhenNoXSDT: a revision-2 RSDP whose XsdtAddress is 0 leads
// to the RSDT.
func TestParseRSDTWhenNoXSDT(t *testing.T) {
	s := legacySet()
	s.im.at(s.rsdp, rsdpV2("BOCHS ", uint32(s.root), 0))
	var out Tables
	require.Equal(t, OK, Parse(s.im.mem, 0, s.rsdp, &out))
	assert.False(t, out.XSDT)
	assert.Equal(t, uint8(2), out.RSDP.Revision)
	assert.True(t, out.HaveMADT)
}

// TestParseXSDTOverRSDT: with both, the XSDT is followed even when the
// RSDT lists different tables.
func TestParseXSDTOverRSDT(t *testing.T) {
	s := modernSet()
	other := s.im.add(rsdt(s.hpet))
	s.im.at(s.rsdp, rsdpV2("BOCHS ", uint32(other), s.root))
	var out Tables
	require.Equal(t, OK, Parse(s.im.mem, 0, s.rsdp, &out))
	assert.True(t, out.XSDT)
	assert.True(t, out.HaveMADT)
}

func TestParseRootErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(s *set)
		want  Error
		rsdpA uint64
	}{
		{"RSDP garbage", func(s *set) {}, ErrBadRSDP, 0x80000},
		{"RSDP outside memory", func(s *set) {}, ErrOutOfRange, 0x10000000},
		{"RSDP bad checksum", func(s *set) { s.im.mem[q35RSDP+8]++ }, ErrBadRSDP, 0},
		{"XSDT outside memory", func(s *set) {
			s.im.at(s.rsdp, rsdpV2("BOCHS ", 0, 0x7ffe0000))
		}, ErrOutOfRange, 0},
		{"XSDT straddles the window's end", func(s *set) {
			s.im.at(0xfffe0, xsdt(s.madt))
			s.im.at(s.rsdp, rsdpV2("BOCHS ", 0, 0xfffe0))
		}, ErrOutOfRange, 0},
		{"XSDT bad signature", func(s *set) { s.im.mem[s.root] = 'Y'; s.im.rechecksum(s.root) }, ErrSignature, 0},
		{"RSDT where an XSDT should be", func(s *set) { copy(s.im.mem[s.root:], "RSDT"); s.im.rechecksum(s.root) }, ErrSignature, 0},
		{"XSDT bad checksum", func(s *set) { s.im.mem[s.root+9]++ }, ErrChecksum, 0},
		{"XSDT length below header", func(s *set) {
			binary.LittleEndian.PutUint32(s.im.mem[s.root+4:], 35)
		}, ErrLength, 0},
		{"XSDT length past memory", func(s *set) {
			binary.LittleEndian.PutUint32(s.im.mem[s.root+4:], 0x100000)
		}, ErrOutOfRange, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := modernSet()
			tc.edit(s)
			addr := s.rsdp
			if tc.rsdpA != 0 {
				addr = tc.rsdpA
			}
			var out Tables
			assert.Equal(t, tc.want, Parse(s.im.mem, 0, addr, &out))
			assert.False(t, out.HaveMADT || out.HaveFADT || out.HaveS5)
		})
	}
}

func TestParseSkipsBadTables(t *testing.T) {
	s := modernSet()
	im := s.im
	short := im.add(sdt("SSDT", 1))
	binary.LittleEndian.PutUint32(im.mem[short+4:], 20) // length below the header
	// A MADT running past the window's end.
	truncated := im.at(0xfffc0, madtTable(q35LAPIC, 0, lapicEntry(0, 0, 1), lapicEntry(1, 1, 1), lapicEntry(2, 2, 1),
		lapicEntry(3, 3, 1), lapicEntry(4, 4, 1), lapicEntry(5, 5, 1)))
	root := im.add(xsdt(0, 0x7fff0000, short, truncated, s.fadt, s.badChecksum))
	im.at(s.rsdp, rsdpV2("BOCHS ", 0, root))
	var out Tables
	require.Equal(t, OK, Parse(im.mem, 0, s.rsdp, &out))
	assert.Equal(t, 5, out.Skipped, "null, outside, short, truncated, bad checksum")
	assert.Equal(t, []string{"RSDP", "XSDT", "SSDT", "APIC", "FACP", "WAET", "DSDT"}, sigs(&out))
	assert.False(t, out.Seen[2].Valid)
	assert.False(t, out.Seen[3].Valid)
	assert.True(t, out.Seen[4].Valid)
	assert.False(t, out.HaveMADT)
	assert.True(t, out.HaveFADT)
	assert.True(t, out.HaveS5)
}

func TestParseDSDTProblems(t *testing.T) {
	t.Run("bad checksum", func(t *testing.T) {
		s := modernSet()
		s.im.mem[s.dsdt+40]++
		var out Tables
		require.Equal(t, OK, Parse(s.im.mem, 0, s.rsdp, &out))
		assert.True(t, out.HaveFADT)
		assert.False(t, out.HaveDSDT)
		assert.False(t, out.HaveS5)
		assert.Equal(t, 2, out.Skipped)
	})
	t.Run("not a DSDT", func(t *testing.T) {
		s := modernSet()
		copy(s.im.mem[s.dsdt:], "SSDT")
		s.im.rechecksum(s.dsdt)
		var out Tables
		require.Equal(t, OK, Parse(s.im.mem, 0, s.rsdp, &out))
		assert.False(t, out.HaveDSDT)
		assert.False(t, out.Seen[out.NSeen-1].Valid)
	})
	t.Run("no _S5", func(t *testing.T) {
		s := modernSet()
		i := bytes.Index(s.im.mem[s.dsdt:], amlS5Byte)
		require.Positive(t, i)
		s.im.mem[s.dsdt+uint64(i)+3] = '4' // _S5_ -> _S4_
		s.im.rechecksum(s.dsdt)
		var out Tables
		require.Equal(t, OK, Parse(s.im.mem, 0, s.rsdp, &out))
		assert.True(t, out.HaveDSDT)
		assert.False(t, out.HaveS5)
		assert.Equal(t, S5{}, out.S5)
	})
	t.Run("X_DSDT 0 uses DSDT", func(t *testing.T) {
		s := modernSet()
		put64(s.im.mem, int(s.fadt)+140, 0)
		put32(s.im.mem, int(s.fadt)+40, uint32(s.dsdt))
		s.im.rechecksum(s.fadt)
		var out Tables
		require.Equal(t, OK, Parse(s.im.mem, 0, s.rsdp, &out))
		assert.Equal(t, s.dsdt, out.FADT.DSDT)
		assert.True(t, out.HaveS5)
	})
}

// TestParseMalformedKeepsOthers: a malformed MADT fails the parse with
// ErrMalformed but the other tables are still read.
func TestParseMalformedKeepsOthers(t *testing.T) {
	s := modernSet()
	s.im.mem[s.madt+44+1] = 0 // first entry's length
	s.im.rechecksum(s.madt)
	var out Tables
	require.Equal(t, ErrMalformed, Parse(s.im.mem, 0, s.rsdp, &out))
	assert.False(t, out.HaveMADT)
	assert.Equal(t, MADT{}, out.MADT)
	assert.True(t, out.HaveFADT && out.HaveHPET && out.HaveMCFG && out.HaveS5)
}

// TestParseFirstOfDuplicates: a second MADT is listed but not used.
func TestParseFirstOfDuplicates(t *testing.T) {
	s := modernSet()
	second := s.im.add(madtTable(0xfee00000, 0, lapicEntry(7, 7, 1)))
	root := s.im.add(xsdt(s.madt, second))
	s.im.at(s.rsdp, rsdpV2("BOCHS ", 0, root))
	var out Tables
	require.Equal(t, OK, Parse(s.im.mem, 0, s.rsdp, &out))
	assert.Equal(t, []string{"RSDP", "XSDT", "APIC", "APIC"}, sigs(&out))
	assert.Equal(t, 6, out.MADT.NCPUs)
}

func TestParseSeenFull(t *testing.T) {
	s := modernSet()
	var entries []uint64
	for i := 0; i < MaxTables+10; i++ {
		entries = append(entries, s.ssdt)
	}
	root := s.im.add(xsdt(append(entries, s.madt)...))
	s.im.at(s.rsdp, rsdpV2("BOCHS ", 0, root))
	var out Tables
	require.Equal(t, OK, Parse(s.im.mem, 0, s.rsdp, &out))
	assert.Equal(t, MaxTables, out.NSeen)
	assert.True(t, out.HaveMADT, "tables past Seen's capacity are still parsed")
}

// TestParseWindowBase: the window need not start at physical 0.
func TestParseWindowBase(t *testing.T) {
	s := compactSet(false)
	var out Tables
	require.Equal(t, OK, Parse(s.im.mem, s.im.base, s.rsdp, &out))
	assert.True(t, out.HaveMADT && out.HaveFADT && out.HaveMCFG && out.HaveHPET && out.HaveS5)
	assert.Equal(t, 3, out.MADT.NCPUs)
	a, e := FindRSDP(s.im.mem, s.im.base, 0)
	require.Equal(t, OK, e)
	assert.Equal(t, s.rsdp, a)

	s = compactSet(true)
	require.Equal(t, OK, Parse(s.im.mem, s.im.base, s.rsdp, &out))
	assert.True(t, out.HaveMADT && out.HaveFADT && out.HaveMCFG && out.HaveHPET && out.HaveS5)
	assert.Equal(t, S5{}, out.S5)
}

// TestParseDoesNotAllocate runs Parse and FindRSDP under the allocation
// counter.
func TestParseDoesNotAllocate(t *testing.T) {
	s := modernSet()
	var out Tables
	allocs := testing.AllocsPerRun(10, func() {
		_, _ = FindRSDP(s.im.mem, 0, 0)
		_ = Parse(s.im.mem, 0, s.rsdp, &out)
		var hb [DumpHeaderLen]byte
		var lb [DumpLineLen]byte
		_ = DumpHeader(&hb, out.Seen[0].Signature, out.Seen[0].Addr)
		_ = DumpLine(&lb, out.Seen[3].Bytes(s.im.mem, 0), 16)
	})
	assert.Zero(t, allocs)
}
