package clock

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestLAPICRate checks the LAPIC timer's rate from its count over the
// TSC's calibration, and that an unusable count (ran out, did not move,
// too short or too long a window) gives 0, so that Calibrate
// measures it on its own.
func TestLAPICRate(t *testing.T) {
	old := tscHz
	defer func() { tscHz = old }()
	tscHz = 2_000_000_000 // 2 GHz
	// 62.5 MHz (1 GHz bus, divide by 16) over 8 ms: 500,000 ticks.
	assert.Equal(t, uint64(62500), lapicRate(0xffffffff, 0xffffffff-500_000, 16_000_000))
	assert.Zero(t, lapicRate(0xffffffff, 0, 16_000_000), "ran out")
	assert.Zero(t, lapicRate(0xffffffff, 0xffffffff, 16_000_000), "did not count")
	assert.Zero(t, lapicRate(100, 200, 16_000_000), "counted up")
	assert.Zero(t, lapicRate(0xffffffff, 0xfffffff0, 1_000_000), "window under 1 ms")
	assert.Zero(t, lapicRate(0xffffffff, 0x0fffffff, 21*tscHz), "window over 10 s")
}

// TestScaleCycles: cycles to nanoseconds at a 32.32 rate, rounding down,
// without overflow on large counts.
func TestScaleCycles(t *testing.T) {
	assert.Equal(t, uint64(1000), ScaleCycles(4000, (1e9<<32)/4e9), "4 GHz")
	assert.Equal(t, uint64(999), ScaleCycles(3000, uint64(1e9<<32)/uint64(3e9)), "3 GHz rounds down")
	assert.Equal(t, uint64(1)<<40, ScaleCycles(1<<40, 1<<32), "1 GHz, large counts")
}
