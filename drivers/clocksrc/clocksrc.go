// Package clocksrc decides the TSC frequency from what a machine offers:
// the frequency CPUID reports (leaf 0x15's crystal ratio, or the
// hypervisor timing leaf 0x40000010), and calibrations against reference
// counters (HPET, ACPI PM timer, PIT). It holds the pure logic: choosing a
// source, plausibility, the cross-check between two sources, counter
// arithmetic, a counter's calibration window (Window, Halves: the kernel
// follows two counters through the same window) and the log formatting. The kernel (kernel/clock/clock.go) does the
// hardware access and feeds the numbers in.
//
// Context: boot. Nothing here allocates, panics or keeps pointers.
package clocksrc

import "math/bits"

// Source names where a frequency came from.
type Source uint8

// Sources, from the most to the least trusted.
const (
	None       Source = iota
	CPUID15           // CPUID leaf 0x15: TSC/crystal ratio and crystal frequency
	Hypervisor        // CPUID leaf 0x40000010: the hypervisor's TSC frequency in kHz
	HPET              // calibrated against the HPET main counter
	PMTimer           // calibrated against the ACPI PM timer (3.579545 MHz)
	PIT               // calibrated against the 8254 PIT (1.193182 MHz)
	RTC               // calibrated against the CMOS RTC's once-a-second update: the last resort
	CPUID16           // CPUID leaf 0x16's base frequency: an estimate, never trusted alone
)

// String names s for the log. Context: any; returns constant strings.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (s Source) String() string {
	switch s {
	case CPUID15:
		return "CPUID 0x15"
	case Hypervisor:
		return "hypervisor CPUID 0x40000010"
	case HPET:
		return "HPET"
	case PMTimer:
		return "ACPI PM timer"
	case PIT:
		return "PIT"
	case RTC:
		return "RTC"
	case CPUID16:
		return "CPUID 0x16 base frequency"
	}
	return "none"
}

// Frequencies of the reference counters.
const (
	PMTimerHz = 3579545
	PITHz     = 1193182
)

// Plausible TSC frequencies: any x86-64 CPU of the last twenty years, and
// QEMU's TCG, whose TSC is the host's.
const (
	MinTSCHz = 200e6
	MaxTSCHz = 10e9
)

// TolerancePPM is how far apart (in parts per million of the larger) two
// sources may be and still agree.
const TolerancePPM = 20000

// Plausible reports whether hz can be a TSC frequency. Context: any; does
// not allocate.
func Plausible(hz uint64) bool { return hz >= MinTSCHz && hz <= MaxTSCHz }

// CPUIDHz returns the TSC frequency CPUID reports, and from which leaf.
// maxLeaf is leaf 0's EAX; l15 is leaf 0x15's EAX (denominator), EBX
// (numerator) and ECX (crystal Hz); l16 is leaf 0x16's EAX (base MHz);
// hvMax is leaf 0x40000000's EAX (0 without a hypervisor) and hvKHz leaf
// 0x40000010's EAX. Leaf 0x15 without a crystal frequency, and a hypervisor
// leaf the hypervisor does not implement, count as absent; leaf 0x16 is
// returned (as CPUID16) only when nothing better exists. (0, None): none.
// Context: boot; does not allocate.
func CPUIDHz(maxLeaf uint32, l15 [3]uint32, l16 uint32, hvMax, hvKHz uint32) (uint64, Source) {
	if maxLeaf >= 0x15 && l15[0] != 0 && l15[1] != 0 && l15[2] != 0 {
		return uint64(l15[2]) * uint64(l15[1]) / uint64(l15[0]), CPUID15
	}
	if hvMax >= 0x40000010 && hvMax < 0x40010000 && hvKHz != 0 {
		return uint64(hvKHz) * 1000, Hypervisor
	}
	if maxLeaf >= 0x16 && l16&0xffff != 0 {
		return uint64(l16&0xffff) * 1e6, CPUID16
	}
	return 0, None
}

// Delta returns how far a counter bits wide advanced from prev to cur,
// allowing one wrap-around. Context: any; does not allocate.
func Delta(prev, cur uint64, width uint8) uint64 {
	if width >= 64 {
		return cur - prev
	}
	mask := uint64(1)<<width - 1
	return (cur - prev) & mask
}

// Rate returns the frequency of a counter that advanced ticks while a
// reference of refHz advanced refTicks: ticks*refHz/refTicks, in 128-bit
// arithmetic. 0 when refTicks is 0 or the result overflows.
// Context: any; does not allocate.
func Rate(ticks, refTicks, refHz uint64) uint64 {
	if refTicks == 0 {
		return 0
	}
	hi, lo := bits.Mul64(ticks, refHz)
	if hi >= refTicks {
		return 0
	}
	q, _ := bits.Div64(hi, lo, refTicks)
	return q
}

// DiffPPM returns |a-b| in parts per million of the larger; 1e6 when one
// is 0. Context: any; does not allocate.
func DiffPPM(a, b uint64) uint64 {
	if a < b {
		a, b = b, a
	}
	if a == 0 {
		return 0
	}
	if b == 0 {
		return 1e6
	}
	hi, lo := bits.Mul64(a-b, 1e6)
	q, _ := bits.Div64(hi, lo, a)
	return q
}

// Measurement is one source's frequency; Hz 0 means the source is absent
// or could not be measured.
type Measurement struct {
	Src Source
	Hz  uint64
}

// Decision is what Choose decided.
type Decision struct {
	Hz  uint64 // the TSC frequency to use; a best guess when !Trusted
	Src Source
	// Check is the second source compared with Src (None when there was
	// only one), CheckHz its frequency and DiffPPM how far apart they are.
	Check   Source
	CheckHz uint64
	DiffPPM uint64
	// Trusted: Hz is plausible and, where two plausible sources exist, two
	// of them agree within TolerancePPM. Time slices need a trusted clock.
	Trusted bool
	// Why says what is wrong when !Trusted.
	Why Problem
}

// Problem says why a Decision is not trusted. It is a number, not a
// string, so the kernel can keep it in a global without a write barrier.
type Problem uint8

// Problems.
const (
	NoProblem    Problem = iota
	NoSource             // no source answered
	Implausible          // the only frequencies measured are implausible
	OnlyEstimate         // only CPUID 0x16's base frequency, an estimate
	Disagree             // two plausible sources disagree
)

// String describes p. Context: any; returns constant strings.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func (p Problem) String() string {
	switch p {
	case NoSource:
		return "no clock source"
	case Implausible:
		return "implausible frequency"
	case OnlyEstimate:
		return "only CPUID's base-frequency estimate"
	case Disagree:
		return "sources disagree"
	}
	return "ok"
}

// MaxMeasurements bounds Choose's input.
const MaxMeasurements = 8

// Choose picks the TSC frequency from ms, ordered from the most to the
// least trusted source. Sources with implausible frequencies are left out;
// CPUID16 counts only when it is the only one. With one plausible source it
// is used; with two or more the first pair that agrees wins (the more
// trusted of the two is used, the other is the check); when no pair agrees
// the most trusted is used, untrusted. Context: boot; does not allocate.
func Choose(ms []Measurement) (d Decision) {
	var good [MaxMeasurements]Measurement
	n := 0
	var estimate Measurement
	anyHz := Measurement{}
	for _, m := range ms {
		if m.Hz != 0 && anyHz.Hz == 0 {
			anyHz = m
		}
		if !Plausible(m.Hz) {
			continue
		}
		if m.Src == CPUID16 {
			estimate = m
			continue
		}
		if n < len(good) {
			good[n] = m
			n++
		}
	}
	switch n {
	case 0:
		d.Why = OnlyEstimate
		if estimate.Hz == 0 {
			estimate, d.Why = anyHz, Implausible
		}
		if estimate.Hz == 0 {
			d.Why = NoSource
		}
		d.Hz, d.Src = estimate.Hz, estimate.Src
	case 1:
		d.Hz, d.Src, d.Trusted = good[0].Hz, good[0].Src, true
	default:
		// The first pair that agrees; if none does, the first two.
		a, b := 0, 1
		d.Why = Disagree
	pairs:
		for i := 0; i < n; i++ {
			for j := i + 1; j < n; j++ {
				if DiffPPM(good[i].Hz, good[j].Hz) <= TolerancePPM {
					a, b, d.Why, d.Trusted = i, j, NoProblem, true
					break pairs
				}
			}
		}
		d.Hz, d.Src, d.Check, d.CheckHz, d.DiffPPM = good[a].Hz, good[a].Src, good[b].Src, good[b].Hz, DiffPPM(good[a].Hz, good[b].Hz)
	}
	return d
}

// HPETHz returns the frequency of an HPET main counter from its General
// Capabilities and ID register (the counter period in femtoseconds is bits
// 63:32). 0 when the period is outside what the specification allows
// (0 < period <= 100 ns), which is what a missing device reads as.
// Context: any; does not allocate.
func HPETHz(capabilities uint64) uint64 {
	period := capabilities >> 32
	if period == 0 || period > 100e6 {
		return 0
	}
	return 1e15 / period
}
