package mptable

import (
	"encoding/binary"
	"os"
	"testing"

	"github.com/gometal/gometal/drivers/acpi"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQEMUMicrovm parses the table qboot wrote in QEMU 7.2's microvm
// (-M microvm,acpi=off -smp 2): the last KiB of base memory, from 0x9fc00.
func TestQEMUMicrovm(t *testing.T) {
	kib, err := os.ReadFile("testdata/qemu72-microvm-smp2-9fc00.bin")
	require.NoError(t, err)
	mem := make([]byte, 0x100000) // physical 0 to 1 MiB, BDA left empty
	copy(mem[0x9fc00:], kib)
	fp, e := Find(mem, 0)
	require.Equal(t, OK, e, e.String())
	assert.Equal(t, uint64(0x9fc00), fp)
	var m acpi.MADT
	require.Equal(t, OK, Parse(mem, 0, fp, &m))
	assert.Equal(t, uint64(0xfee00000), m.LocalAPICAddr)
	require.Equal(t, 2, m.NCPUs)
	assert.Equal(t, uint32(0), m.CPUs[0].APICID)
	assert.Equal(t, uint32(1), m.CPUs[1].APICID)
	assert.True(t, m.CPUs[0].Enabled())
	assert.True(t, m.CPUs[1].Enabled())
	require.Equal(t, 1, m.NIOAPICs)
	assert.Equal(t, acpi.IOAPIC{ID: 3, Addr: 0xfec00000, GSIBase: 0}, m.IOAPICs[0])
	require.Equal(t, 1, m.NOverrides, "only IRQ 0 is wired elsewhere (pin 2)")
	assert.Equal(t, acpi.Override{Source: 0, GSI: 2}, m.Overrides[0])
	gsi, _ := m.IRQToGSI(4)
	assert.Equal(t, uint32(4), gsi)

	// The same table found through the BDA's EBDA pointer, in a window
	// that starts above 0.
	binary.LittleEndian.PutUint16(mem[ebdaSegmentPtr:], 0x9fc0)
	fp, e = Find(mem, 0)
	require.Equal(t, OK, e)
	assert.Equal(t, uint64(0x9fc00), fp)
	_, e = Find(mem[0x1000:], 0x1000)
	assert.Equal(t, OK, e)
}

// table builds a floating pointer at 0x9fc00 and a configuration table
// after it with the given entries, with correct checksums.
func table(entries ...[]byte) []byte {
	mem := make([]byte, 0x100000)
	fp := mem[0x9fc00:]
	copy(fp, "_MP_")
	binary.LittleEndian.PutUint32(fp[4:], 0x9fc10)
	fp[8], fp[9] = 1, 4
	fp[10] = -sum(fp[:16])
	t := mem[0x9fc10:]
	copy(t, "PCMP")
	t[6] = 4
	binary.LittleEndian.PutUint32(t[36:], 0xfee00000)
	n := tableHdrLen
	for _, e := range entries {
		n += copy(t[n:], e)
	}
	binary.LittleEndian.PutUint16(t[4:], uint16(n))
	binary.LittleEndian.PutUint16(t[34:], uint16(len(entries)))
	t[7] = -sum(t[:n])
	return mem
}

func cpu(id, flags uint8) []byte {
	return []byte{entryProcessor, id, 0x14, flags, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
}

func TestParse(t *testing.T) {
	isaBus := []byte{entryBus, 5, 'I', 'S', 'A', ' ', ' ', ' '}
	pciBus := []byte{entryBus, 0, 'P', 'C', 'I', ' ', ' ', ' '}
	ioapic := func(id uint8, addr uint32, flags uint8) []byte {
		e := []byte{entryIOAPIC, id, 0x11, flags, 0, 0, 0, 0}
		binary.LittleEndian.PutUint32(e[4:], addr)
		return e
	}
	irq := func(bus, irq, apic, pin uint8, flags uint16) []byte {
		return []byte{entryIOInt, intTypeINT, byte(flags), byte(flags >> 8), bus, irq, apic, pin}
	}
	mem := table(cpu(0, 3), cpu(2, 0), cpu(4, 1), pciBus, isaBus,
		ioapic(8, 0xfec00000, 1), ioapic(9, 0xfec01000, 0), ioapic(10, 0xfec02000, 1),
		irq(5, 0, 8, 2, 0), irq(5, 9, 10, 1, 0xf), irq(0, 11, 8, 20, 0), irq(5, 4, 8, 4, 0))
	fp, e := Find(mem, 0)
	require.Equal(t, OK, e)
	var m acpi.MADT
	require.Equal(t, OK, Parse(mem, 0, fp, &m))
	require.Equal(t, 3, m.NCPUs)
	assert.False(t, m.CPUs[1].Enabled(), "flags 0: disabled")
	assert.Equal(t, uint32(4), m.CPUs[2].APICID)
	require.Equal(t, 2, m.NIOAPICs, "the disabled I/O APIC is left out")
	assert.Equal(t, uint32(24), m.IOAPICs[1].GSIBase)
	require.Equal(t, 2, m.NOverrides, "PCI interrupts and identity ISA routes are not overrides")
	assert.Equal(t, acpi.Override{Source: 0, GSI: 2}, m.Overrides[0])
	assert.Equal(t, acpi.Override{Source: 9, GSI: 25, Flags: 0xf}, m.Overrides[1])
}

func TestParseErrors(t *testing.T) {
	var m acpi.MADT
	_, e := Find(make([]byte, 0x100000), 0)
	assert.Equal(t, ErrNotFound, e)

	mem := table(cpu(0, 3))
	mem[0x9fc10+44+1] ^= 1 // breaks the table's checksum
	assert.Equal(t, ErrBadTable, Parse(mem, 0, 0x9fc00, &m))

	mem = table([]byte{9, 0, 0, 0, 0, 0, 0, 0})
	assert.Equal(t, ErrMalformed, Parse(mem, 0, 0x9fc00, &m), "unknown entry type")

	mem = table(cpu(0, 3)[:8])
	assert.Equal(t, ErrMalformed, Parse(mem, 0, 0x9fc00, &m), "processor entry cut short")

	mem = table()
	mem[0x9fc00+11] = 5 // default configuration 5
	mem[0x9fc00+10] -= 5
	assert.Equal(t, ErrNoTable, Parse(mem, 0, 0x9fc00, &m))

	mem = table(cpu(0, 3))
	assert.Equal(t, ErrBadTable, Parse(mem[:0x9fc40], 0, 0x9fc00, &m), "table beyond the window")
	assert.Equal(t, ErrNotFound, Parse(mem, 0, 0x9fc10, &m), "not a floating pointer")
	for e := OK; e <= ErrMalformed; e++ {
		assert.NotEmpty(t, e.String())
	}
}
