package clocksrc

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// simCounter is a reference counter driven by a simulated TSC: its count
// at TSC t is start + t*hz/tscHz, cut to width bits.
type simCounter struct {
	hz, start uint64
	width     uint8
}

func (c simCounter) at(tsc, tscHz uint64) uint64 {
	v := c.start + Rate(tsc, tscHz, c.hz) // tsc*hz/tscHz
	if c.width < 64 {
		v &= 1<<c.width - 1
	}
	return v
}

// TestWindowsShareTime follows the HPET and the ACPI PM timer through the
// same 2 ms, one reading of each per step as the kernel's loop does, and
// checks that each window gives the TSC's frequency, that each closes
// once its own counter has covered the window (not the other's), and that
// the PM timer's 24-bit wrap-around inside the window is counted.
func TestWindowsShareTime(t *testing.T) {
	const tscHz = 2_500_000_000
	hpet := simCounter{hz: 100_000_000, start: 0xfffff000, width: 32}
	pm := simCounter{hz: PMTimerHz, start: 0xffff00, width: 24} // wraps after 256 ticks
	var w [2]Window
	ctr := [2]simCounter{hpet, pm}
	tsc := uint64(1_000_000)
	for i := range w {
		w[i].Start(ctr[i].hz, ctr[i].width, 2000, tsc, ctr[i].at(tsc, tscHz))
		tsc += 300 // the second start is read a little later
	}
	var hz [2]uint64
	var endTSC [2]uint64
	for steps := 0; w[0].State != Closed || w[1].State != Closed; steps++ {
		require.Less(t, steps, 1_000_000, "the windows never closed")
		for i := range w {
			if w[i].State == Open {
				tsc += 1000 // a read under emulation: a few hundred ns
				w[i].Step(tsc, ctr[i].at(tsc, tscHz))
			}
			if w[i].State == Reached {
				tsc += 200
				hz[i], endTSC[i] = w[i].Finish(tsc, ctr[i].at(tsc, tscHz)), tsc
			}
		}
	}
	for i, name := range []string{"HPET", "PM timer"} {
		assert.LessOrEqual(t, DiffPPM(hz[i], tscHz), uint64(300), "%s: %d Hz", name, hz[i])
		// Closed within a couple of reads after 2 ms of its own start.
		assert.InDelta(t, 2e-3*tscHz, float64(endTSC[i]-1_000_000-uint64(i)*300), 5000, name)
	}
}

// TestWindowStuck: a counter that never changes is Stuck after StuckTSC,
// not before, and Finish then gives 0; one that changed just before is
// still Open.
func TestWindowStuck(t *testing.T) {
	var w Window
	w.Start(PITHz, 16, 2000, 1000, 0x1234)
	w.Step(1000+StuckTSC, 0x1234)
	assert.Equal(t, Open, w.State, "standing still exactly StuckTSC is not yet stuck")
	w.Step(1001+StuckTSC, 0x1234)
	assert.Equal(t, Stuck, w.State)
	assert.Zero(t, w.Finish(2000+StuckTSC, 0x1234))
	assert.Equal(t, Closed, w.State)

	w.Start(PITHz, 16, 2000, 1000, 0x1234)
	w.Step(StuckTSC, 0x1235) // one tick, just before it would have counted as stuck
	w.Step(StuckTSC+StuckTSC/2, 0x1235)
	assert.Equal(t, Open, w.State, "the stuck clock restarts at each change")
}

// TestWindowStepAfterClose: readings after a window reached its end, or
// before it started, change nothing, and Finish without Reached gives 0.
func TestWindowStepAfterClose(t *testing.T) {
	var w Window
	w.Step(5, 7)
	assert.Equal(t, Closed, w.State)
	assert.Zero(t, w.Finish(10, 10))

	w.Start(1_000_000, 32, 10, 0, 0) // 10 ticks to cover
	w.Step(1000, 4)
	assert.Equal(t, Open, w.State)
	w.Step(2000, 12)
	require.Equal(t, Reached, w.State)
	w.Step(3000, 500) // ignored: the end reading goes to Finish
	// 13 ticks of 1 MHz (the end reading adds one) in 2500 TSC ticks:
	// 192.3 MHz.
	assert.Equal(t, uint64(192_307_692), w.Finish(2500, 13))

	w.Start(1_000_000, 32, 10, 0, 0)
	assert.Zero(t, w.Finish(2500, 12), "an Open window has no frequency")
}

// TestHalves: two halves that agree within HalvesPPM give their mean; a
// missing half or a disagreement gives 0 (measure again).
func TestHalves(t *testing.T) {
	assert.Equal(t, uint64(2_000_000_000), Halves(1_999_000_000, 2_001_000_000))
	assert.Equal(t, uint64(2_010_000_000), Halves(2_000_000_000, 2_020_000_000), "0.99% apart")
	assert.Zero(t, Halves(2_000_000_000, 2_030_000_000), "1.5% apart")
	assert.Zero(t, Halves(0, 2_000_000_000))
	assert.Zero(t, Halves(2_000_000_000, 0))
}
