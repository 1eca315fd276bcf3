package clocksrc

// StuckTSC is how many TSC ticks a reference counter may stand still in a
// window before it counts as absent: 100 ms at 1 GHz. The slowest counter
// (the PIT) ticks every microsecond, so a count that stays put this long
// (at least 10 ms at any plausible TSC frequency) belongs to no device. A
// host that pauses the CPU between two reads does not fool this: the
// counter moves on with the TSC.
const StuckTSC = 1e8

// HalvesPPM is how far apart (in parts per million) the two halves of a
// calibration window may be: a host that stops the virtual CPU for longer
// than a counter's wrap-around (55 ms for the PIT) would otherwise go
// unnoticed.
const HalvesPPM = 10000

// WindowState is where a Window stands.
type WindowState uint8

// Window states.
const (
	Closed  WindowState = iota // not started, or finished
	Open                       // counting: feed it readings (Step)
	Reached                    // the counter covered the window: read the end (Finish)
	Stuck                      // the counter stood still for StuckTSC: no device
)

// Window follows one reference counter through a calibration window: the
// TSC and the counter's reading at its start (Start), every reading after
// it (Step, which adds up the counter's advance across its wrap-arounds)
// until the counter has covered the window, then the TSC and the reading
// at its end (Finish), which give the TSC's frequency. Windows on
// different counters are independent, so the kernel follows two counters
// through the same stretch of time (the HPET and the ACPI PM timer), each
// between its own TSC readings. The zero value is Closed.
type Window struct {
	State   WindowState
	hz      uint64 // the counter's frequency
	width   uint8  // the counter's width in bits
	target  uint64 // counter ticks to cover
	t0      uint64 // the TSC at the start
	prev    uint64 // the last reading
	elapsed uint64 // counter ticks covered so far
	changed uint64 // the TSC when the reading last changed
}

// Start opens w over us microseconds of a counter of hz and width bits
// that read ref at TSC tsc. Context: any; does not allocate.
func (w *Window) Start(hz uint64, width uint8, us uint64, tsc, ref uint64) {
	*w = Window{State: Open, hz: hz, width: width, target: hz * us / 1e6, t0: tsc, prev: ref, changed: tsc}
	if w.target == 0 {
		w.State = Reached
	}
}

// Step takes the counter's reading cur, made just before TSC tsc, and
// moves w to Reached once the counter has covered the window, or to
// Stuck when it has not changed for StuckTSC ticks. It does nothing
// unless w is Open. Context: any; does not allocate.
func (w *Window) Step(tsc, cur uint64) {
	if w.State != Open {
		return
	}
	if cur == w.prev {
		if tsc-w.changed > StuckTSC {
			w.State = Stuck
		}
		return
	}
	w.changed = tsc
	w.elapsed += Delta(w.prev, cur, w.width)
	w.prev = cur
	if w.elapsed >= w.target {
		w.State = Reached
	}
}

// Finish closes w with the counter's reading last at TSC tsc (taken after
// it Reached) and returns the TSC frequency over the window; 0 when w had
// not Reached (a Stuck counter) or the numbers make no frequency.
// Context: any; does not allocate.
func (w *Window) Finish(tsc, last uint64) uint64 {
	if w.State != Reached {
		w.State = Closed
		return 0
	}
	w.State = Closed
	elapsed := w.elapsed + Delta(w.prev, last, w.width)
	return Rate(tsc-w.t0, elapsed, w.hz)
}

// Halves returns the TSC frequency from a window's two halves, a and b:
// their mean when both were measured and they agree within HalvesPPM, else
// 0 (measure again). Context: any; does not allocate.
func Halves(a, b uint64) uint64 {
	if a == 0 || b == 0 || DiffPPM(a, b) > HalvesPPM {
		return 0
	}
	return a/2 + b/2
}
