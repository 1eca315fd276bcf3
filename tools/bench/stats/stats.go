// Package stats holds the few statistics the benchmarks report: the median
// and spread of repeated measurements and percentiles of latency samples.
// It depends on nothing but the standard library, so the guest workload
// (bench/workload) and the host runner (tools/bench) share it.
package stats

import (
	"math"
	"slices"
)

// Percentile returns the p-th percentile (0 <= p <= 100) of xs, linearly
// interpolated between the two closest ranks (the rule of numpy's default
// and of spreadsheets' PERCENTILE.INC): p = 0 is the minimum, 100 the
// maximum, 50 the median. It returns NaN for an empty xs and does not
// modify xs.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 || math.IsNaN(p) {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	p = min(max(p, 0), 100)
	pos := p / 100 * float64(len(s)-1)
	lo := int(math.Floor(pos))
	hi := int(math.Ceil(pos))
	return s[lo] + (s[hi]-s[lo])*(pos-float64(lo))
}

// Median returns the median of xs (the mean of the two middle values for
// an even count), or NaN for an empty xs.
func Median(xs []float64) float64 { return Percentile(xs, 50) }

// Summary describes repeated measurements of one quantity.
type Summary struct {
	N      int     // number of measurements
	Median float64 // their median
	Min    float64 // the smallest
	Max    float64 // the largest
}

// Summarize returns the summary of xs; all fields but N are NaN when xs is
// empty.
func Summarize(xs []float64) Summary {
	if len(xs) == 0 {
		return Summary{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	return Summary{N: len(xs), Median: Median(xs), Min: slices.Min(xs), Max: slices.Max(xs)}
}

// Spread is the range of the measurements relative to their median,
// (Max-Min)/|Median|: 0.1 means the repeats differ by 10% of the median.
// It is 0 for a single measurement and NaN when the median is 0 or
// undefined.
func (s Summary) Spread() float64 {
	if s.N == 0 || s.Median == 0 || math.IsNaN(s.Median) {
		return math.NaN()
	}
	return (s.Max - s.Min) / math.Abs(s.Median)
}
