package devices

import (
	"testing"

	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/kernel/console"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/stretchr/testify/assert"
)

// TestDMAPoolOutsizesConsole checks that the goroutine drivers' DMA pool
// keeps at least as much as the virtio console's queues take.
func TestDMAPoolOutsizesConsole(t *testing.T) {
	assert.LessOrEqual(t, uint64(2*console.VconPoolBytes), uint64(DMAPoolPages*mm.PageSize))
}

// TestPhysKindRefusesRAM checks that /dev/mem tells RAM (refused), the
// DMA pool and device memory apart by the memory map SetMemoryMap
// recorded.
func TestPhysKindRefusesRAM(t *testing.T) {
	var info boot.Info
	info.Mem[0] = boot.Region{Base: 0, Size: 0x9f000, Type: boot.RegionRAM}
	info.Mem[1] = boot.Region{Base: 0x100000, Size: 0x7ff00000, Type: boot.RegionRAM}
	info.NMem = 2
	SetMemoryMap(&info)
	t.Cleanup(func() { nMemMap = 0 })
	device, pool := physKind(0x1000, mm.PageSize)
	assert.False(t, device || pool, "RAM")
	device, pool = physKind(0xfee00000, mm.PageSize)
	assert.True(t, device, "local APIC")
	assert.False(t, pool)
	device, _ = physKind(0x7fff0000, 0x20000)
	assert.False(t, device, "a range that ends past RAM still overlaps it")
	DMAPool, DMAPoolSize = 0x200000, DMAPoolPages*mm.PageSize
	t.Cleanup(func() { DMAPool, DMAPoolSize = 0, 0 })
	device, pool = physKind(0x200000, mm.PageSize)
	assert.True(t, pool, "the DMA pool")
	assert.False(t, device)
}
