package firmware

import (
	"testing"

	"github.com/gometal/gometal/drivers/acpi"
	"github.com/stretchr/testify/assert"
)

// TestEnabledIDsReportsTheRest: the kernel keeps at most abi.MaxCPUs
// CPUs; the enabled ones past that are counted, not dropped in silence,
// and disabled entries are neither kept nor counted.
func TestEnabledIDsReportsTheRest(t *testing.T) {
	var m acpi.MADT
	for i := 0; i < 70; i++ {
		m.CPUs[i] = acpi.CPU{APICID: uint32(i), Flags: acpi.CPUEnabled}
	}
	m.CPUs[3].Flags = 0 // a disabled (hot-pluggable) slot
	m.NCPUs = 70

	var out [64]uint32
	n, left := enabledIDs(&m, out[:])
	assert.Equal(t, 64, n)
	assert.Equal(t, 5, left, "69 enabled, 64 kept")
	assert.Equal(t, uint32(2), out[2])
	assert.Equal(t, uint32(4), out[3], "the disabled entry is skipped")
	assert.Equal(t, uint32(64), out[63])

	n, left = enabledIDs(&m, make([]uint32, 80))
	assert.Equal(t, [2]int{69, 0}, [2]int{n, left}, "all fit")
}
