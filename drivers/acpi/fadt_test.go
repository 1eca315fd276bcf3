package acpi

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFADTTooShort(t *testing.T) {
	var f FADT
	assert.Equal(t, ErrMalformed, parseFADT(fadtTable(1, 115, func([]byte) {}), &f))
	assert.Equal(t, ErrMalformed, parseFADT(sdt("FACP", 1), &f))
}

// TestFADTPartialFields: a table that ends inside a Generic Address
// Structure does not yield it (and reading stops at the table's end).
func TestFADTPartialFields(t *testing.T) {
	tbl := fadtTable(2, 140, func(t []byte) {
		putGAS(t, 116, GenericAddress{SpaceSystemIO, 8, 0, 1, 0xcf9})
		put8(t, 128, 6)
		put8(t, 131, 1)
	})
	// Bytes after the table that must not be read.
	mem := append(tbl, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	var f FADT
	require.Equal(t, OK, parseFADT(mem[:len(tbl)], &f))
	assert.Equal(t, GenericAddress{SpaceSystemIO, 8, 0, 1, 0xcf9}, f.ResetReg)
	assert.Equal(t, uint8(6), f.ResetValue)
	assert.Equal(t, uint8(1), f.MinorVersion)
	assert.Zero(t, f.DSDT, "X_DSDT at 140 lies past the end")

	tbl = fadtTable(2, 124, func(t []byte) {
		g := make([]byte, 12)
		putGAS(g, 0, GenericAddress{SpaceSystemIO, 8, 0, 1, 0xcf9})
		copy(t[116:], g) // cut at 124
	})
	require.Equal(t, OK, parseFADT(tbl, &f))
	assert.Equal(t, GenericAddress{}, f.ResetReg)
}

// TestFADTHardwareReduced: an ACPI 6 hardware-reduced FADT (as microVM
// monitors emit) with sleep control and status registers and no PM1 blocks.
func TestFADTHardwareReduced(t *testing.T) {
	tbl := fadtTable(6, 276, func(t []byte) {
		put32(t, 112, 1<<20|1<<10)
		putGAS(t, 116, GenericAddress{SpaceSystemIO, 8, 0, 1, 0x600})
		put8(t, 128, 1)
		put8(t, 131, 5)
		put64(t, 140, 0x1_0000_0000)
		putGAS(t, 244, GenericAddress{SpaceSystemIO, 8, 0, 1, 0x601})
		putGAS(t, 256, GenericAddress{SpaceSystemIO, 8, 0, 1, 0x602})
	})
	var f FADT
	require.Equal(t, OK, parseFADT(tbl, &f))
	assert.True(t, f.HardwareReduced())
	assert.True(t, f.ResetSupported())
	assert.Equal(t, uint64(0x1_0000_0000), f.DSDT)
	assert.Equal(t, GenericAddress{SpaceSystemIO, 8, 0, 1, 0x601}, f.SleepControlReg)
	assert.Equal(t, GenericAddress{SpaceSystemIO, 8, 0, 1, 0x602}, f.SleepStatusReg)
	assert.Equal(t, GenericAddress{}, f.PM1aControl())
	assert.Equal(t, GenericAddress{}, f.PMTimer())
	assert.Equal(t, uint8(0x34), S5{SLPTypA: 5}.SleepControlValue())
}

// TestFADTRevision3: QEMU's q35 FADT layout (revision 3, 244 bytes): X_
// fields but no sleep registers.
func TestFADTRevision3(t *testing.T) {
	tbl := fadtTable(3, 244, func(t []byte) {
		put32(t, 40, 0x7fe0040)
		put32(t, 64, 0x604)
		put8(t, 89, 2)
		put16(t, 109, 1<<1) // 8042
		put32(t, 112, 0x84a5)
		putGAS(t, 116, GenericAddress{SpaceSystemIO, 8, 0, 0, 0xcf9})
		put8(t, 128, 0x0f)
		put64(t, 140, 0x7fe0040)
		putGAS(t, 172, GenericAddress{SpaceSystemIO, 16, 0, 0, 0x604})
	})
	var f FADT
	require.Equal(t, OK, parseFADT(tbl, &f))
	assert.Equal(t, uint8(3), f.Revision)
	assert.Equal(t, uint64(0x7fe0040), f.DSDT)
	assert.Equal(t, GenericAddress{SpaceSystemIO, 16, 0, 0, 0x604}, f.PM1aControl())
	assert.True(t, f.Has8042())
	assert.True(t, f.ResetSupported())
	assert.Equal(t, GenericAddress{}, f.SleepControlReg)
}

func TestMCFG(t *testing.T) {
	var c MCFG
	require.Equal(t, OK, parseMCFG(mcfgTable(
		ECAM{Base: 0xb0000000, Segment: 0, StartBus: 0, EndBus: 0xff},
		ECAM{Base: 0x3f000000000, Segment: 1, StartBus: 0x80, EndBus: 0x8f},
	), &c))
	assert.Equal(t, []ECAM{{0xb0000000, 0, 0, 0xff}, {0x3f000000000, 1, 0x80, 0x8f}}, c.Allocations[:c.NAllocations])
	assert.False(t, c.Overflow)

	var many []ECAM
	for i := 0; i < MaxECAM+2; i++ {
		many = append(many, ECAM{Base: uint64(i) << 28, Segment: uint16(i), EndBus: 0xff})
	}
	require.Equal(t, OK, parseMCFG(mcfgTable(many...), &c))
	assert.Equal(t, MaxECAM, c.NAllocations)
	assert.True(t, c.Overflow)
	assert.Equal(t, uint16(MaxECAM-1), c.Allocations[MaxECAM-1].Segment)

	require.Equal(t, OK, parseMCFG(mcfgTable(), &c))
	assert.Zero(t, c.NAllocations)

	assert.Equal(t, ErrMalformed, parseMCFG(sdt("MCFG", 1, make([]byte, 8+15)), &c), "partial allocation")
	assert.Equal(t, ErrMalformed, parseMCFG(sdt("MCFG", 1, make([]byte, 4)), &c), "no reserved field")
}

func TestHPET(t *testing.T) {
	var h HPET
	tbl := hpetTable(0x8086a201, 0xfed00000)
	tbl[52] = 3
	tbl[55] = 1
	require.Equal(t, OK, parseHPET(tbl, &h))
	assert.Equal(t, HPET{EventTimerBlockID: 0x8086a201, BaseAddress: GenericAddress{Address: 0xfed00000}, HPETNumber: 3, MinimumTick: 0x80, PageProtection: 1}, h)
	assert.Equal(t, ErrMalformed, parseHPET(tbl[:55], &h))
}
