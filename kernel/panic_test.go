package kernel

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/kpanic"
)

// TestPanicReportClock checks that the panic report's clock, computed
// from the calibration setupPanicReport hands down, reads what the
// kernel's nanotime reads: the report's timeouts and relative times must
// not drift from the clock if either formula changes.
func TestPanicReportClock(t *testing.T) {
	savedTSC, savedMult := bootTSC, tscMult
	t.Cleanup(func() {
		bootTSC, tscMult = savedTSC, savedMult
		setupPanicReport()
	})
	bootTSC = cpu.Rdtsc() - 3_000_000_000
	tscMult = (1e9 << 32) / 2_500_000_000 // a 2.5 GHz TSC
	setupPanicReport()
	before := nanotime()
	now := kpanic.Now()
	after := nanotime()
	assert.Greater(t, before, int64(1e9), "the kernel's clock runs from bootTSC")
	assert.LessOrEqual(t, before, now, "the report's clock is not behind the kernel's")
	assert.LessOrEqual(t, now, after, "nor ahead of it")
}
