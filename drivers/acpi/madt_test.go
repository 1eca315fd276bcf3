package acpi

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMADTLocalAPICAddrOverride(t *testing.T) {
	var m MADT
	require.Equal(t, OK, parseMADT(madtTable(0xfee00000, 0, lapicEntry(0, 0, 1), lapicAddrOverrideEntry(0x1_fee0_0000)), &m))
	assert.Equal(t, uint64(0x1_fee0_0000), m.LocalAPICAddr)
	assert.False(t, m.PCATCompat)
}

func TestMADTx2APIC(t *testing.T) {
	var m MADT
	tbl := madtTable(0xfee00000, 1,
		x2apicEntry(0, 1, 0),
		x2apicEntry(0xfffffffe, 3, 0x1234_5678),
		x2apicNMIEntry(0xd, 0x1234_5678, 0),
	)
	require.Equal(t, OK, parseMADT(tbl, &m))
	assert.True(t, m.X2APIC)
	assert.Equal(t, []CPU{{UID: 0, APICID: 0, Flags: 1, X2APIC: true}, {UID: 0x12345678, APICID: 0xfffffffe, Flags: 3, X2APIC: true}}, m.CPUs[:m.NCPUs])
	assert.Equal(t, 2, m.EnabledCPUs())
	assert.Equal(t, []LocalNMI{{UID: 0x12345678, Flags: 0xd, LINT: 0, X2APIC: true}}, m.NMIs[:m.NNMIs])
}

// TestMADTDuplicateAPICID: firmware that lists a processor in both a
// type-0 and a type-9 entry gets it once.
func TestMADTDuplicateAPICID(t *testing.T) {
	var m MADT
	require.Equal(t, OK, parseMADT(madtTable(0xfee00000, 1, lapicEntry(0, 0, 1), lapicEntry(1, 1, 1), x2apicEntry(1, 1, 1), x2apicEntry(2, 1, 2)), &m))
	assert.Equal(t, 3, m.NCPUs)
	assert.False(t, m.CPUs[1].X2APIC)
	assert.Equal(t, uint32(2), m.CPUs[2].APICID)
}

func TestMADTOverflow(t *testing.T) {
	var entries [][]byte
	for i := 0; i < MaxCPUs+4; i++ {
		entries = append(entries, x2apicEntry(uint32(i), 1, uint32(i)))
	}
	var m MADT
	require.Equal(t, OK, parseMADT(madtTable(0xfee00000, 1, entries...), &m))
	assert.Equal(t, MaxCPUs, m.NCPUs)
	assert.Equal(t, MaxCPUs, m.EnabledCPUs())
	assert.True(t, m.Overflow)

	entries = nil
	for i := 0; i < MaxIOAPICs+1; i++ {
		entries = append(entries, ioapicEntry(uint8(i), 0xfec00000+uint32(i)<<12, uint32(24*i)))
	}
	m = MADT{}
	require.Equal(t, OK, parseMADT(madtTable(0xfee00000, 1, entries...), &m))
	assert.Equal(t, MaxIOAPICs, m.NIOAPICs)
	assert.True(t, m.Overflow)

	entries = nil
	for i := 0; i < MaxOverrides+1; i++ {
		entries = append(entries, overrideEntry(0, uint8(i), uint32(i), 0))
	}
	require.Equal(t, OK, parseMADT(madtTable(0xfee00000, 1, entries...), &m))
	assert.Equal(t, MaxOverrides, m.NOverrides)
	assert.True(t, m.Overflow)

	entries = nil
	for i := 0; i < MaxNMIs+1; i++ {
		entries = append(entries, lapicNMIEntry(uint8(i), 0, 1))
	}
	require.Equal(t, OK, parseMADT(madtTable(0xfee00000, 1, entries...), &m))
	assert.Equal(t, MaxNMIs, m.NNMIs)
	assert.True(t, m.Overflow)

	require.Equal(t, OK, parseMADT(madtTable(0xfee00000, 1, lapicEntry(0, 0, 1)), &m))
	assert.False(t, m.Overflow, "parseMADT starts afresh")
}

func TestMADTMalformed(t *testing.T) {
	for _, tc := range []struct {
		name  string
		table []byte
	}{
		{"shorter than the fixed fields", sdt("APIC", 5, le32(0xfee00000))},
		{"zero-length entry", madtTable(0xfee00000, 1, lapicEntry(0, 0, 1), []byte{0, 0, 0, 0, 0, 0, 0, 0})},
		{"length-1 entry", madtTable(0xfee00000, 1, []byte{0x7f, 1})},
		{"one byte left", madtTable(0xfee00000, 1, lapicEntry(0, 0, 1), []byte{0})},
		{"entry past the table", madtTable(0xfee00000, 1, []byte{0x7f, 9, 0, 0, 0, 0, 0, 0})},
		{"short local APIC", madtTable(0xfee00000, 1, []byte{0, 7, 0, 0, 1, 0, 0})},
		{"short I/O APIC", madtTable(0xfee00000, 1, []byte{1, 8, 0, 0, 0, 0, 0xc0, 0xfe})},
		{"short override", madtTable(0xfee00000, 1, []byte{2, 8, 0, 0, 2, 0, 0, 0})},
		{"short NMI", madtTable(0xfee00000, 1, []byte{4, 5, 0xff, 0, 0})},
		{"short address override", madtTable(0xfee00000, 1, []byte{5, 8, 0, 0, 0, 0, 0xe0, 0xfe})},
		{"short x2APIC", madtTable(0xfee00000, 1, shorten(x2apicEntry(0, 1, 0), 12))},
		{"short x2APIC NMI", madtTable(0xfee00000, 1, shorten(x2apicNMIEntry(0, 0, 1), 8))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m MADT
			assert.Equal(t, ErrMalformed, parseMADT(tc.table, &m))
		})
	}
}

// shorten cuts entry e to n bytes and says so in its length byte.
func shorten(e []byte, n int) []byte {
	e = e[:n]
	e[1] = byte(n)
	return e
}

// TestMADTLongerEntries: entries longer than this revision defines (a
// later ACPI revision) are read by their known prefix.
func TestMADTLongerEntries(t *testing.T) {
	var m MADT
	require.Equal(t, OK, parseMADT(madtTable(0xfee00000, 1,
		cat([]byte{0, 10, 3, 4}, le32(1), []byte{0xaa, 0xbb}),
		[]byte{0x10, 2}, // unknown type, minimal length
	), &m))
	assert.Equal(t, []CPU{{UID: 3, APICID: 4, Flags: 1}}, m.CPUs[:m.NCPUs])
}

func TestMADTEmpty(t *testing.T) {
	var m MADT
	require.Equal(t, OK, parseMADT(madtTable(0xfee00000, 0), &m))
	assert.Zero(t, m.NCPUs)
	assert.Zero(t, m.EnabledCPUs())
}

// TestNMIPins: the entries for all processors and for the CPU's own UID
// apply, others' do not; polarity from the flags; no entry that applies
// means LINT1, active high.
func TestNMIPins(t *testing.T) {
	m := &MADT{NCPUs: 2, NNMIs: 3}
	m.CPUs[0] = CPU{UID: 0, APICID: 0, Flags: CPUEnabled}
	m.CPUs[1] = CPU{UID: 7, APICID: 2, Flags: CPUEnabled}
	m.NMIs[0] = LocalNMI{UID: AllProcessors, LINT: 1}
	m.NMIs[1] = LocalNMI{UID: 7, LINT: 0, Flags: PolarityActiveLow}
	m.NMIs[2] = LocalNMI{UID: 9, LINT: 0}
	pins, low := m.NMIPins(0)
	assert.Equal(t, uint8(1<<1), pins, "the boot CPU: LINT1 (all processors)")
	assert.Zero(t, low)
	pins, low = m.NMIPins(2)
	assert.Equal(t, uint8(1<<0|1<<1), pins, "UID 7: its own LINT0 too")
	assert.Equal(t, uint8(1<<0), low)

	pins, low = (&MADT{}).NMIPins(0)
	assert.Equal(t, uint8(1<<1), pins, "no entries: LINT1")
	assert.Zero(t, low)
	m.NMIs[0].LINT = 5 // not a pin: ignored, and nothing else applies to CPU 0
	pins, _ = m.NMIPins(0)
	assert.Equal(t, uint8(1<<1), pins)
}
