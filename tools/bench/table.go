package bench

import (
	"math"
	"strconv"
	"strings"

	"github.com/gometal/gometal/tools/bench/stats"
)

// Table is the result of a benchmark run: one row per metric, one cell per
// side, gometal first and Linux second.
type Table struct {
	Sides  []string
	Rows   []Row
	Meta   Meta
	Checks []Check // the rows' bounds, judged (CheckBounds)
}

// Check is a Bound judged on the first side's median of a row.
type Check struct {
	Row   Row
	Bound Bound
	// Met says the median is at most Bound.Max; false when the cell is
	// n/a (Row.Cells[0].NA says why).
	Met bool
}

// CheckBounds judges bounds (by metric key) on t's rows, in row order,
// into t.Checks.
func (t *Table) CheckBounds(bounds map[string]Bound) {
	t.Checks = nil
	for _, r := range t.Rows {
		b, ok := bounds[r.Key]
		if !ok || len(r.Cells) == 0 {
			continue
		}
		c := r.Cells[0]
		t.Checks = append(t.Checks, Check{Row: r, Bound: b, Met: c.OK() && c.Stats.Median <= b.Max})
	}
}

// Row is one metric on every side.
type Row struct {
	Metric
	Cells []Cell
	// Ratio is the first side's median over the second's (gometal/Linux);
	// NaN when either is n/a or the second is zero.
	Ratio float64
	// Note says which repeats were n/a on a side that has values.
	Note string
}

// Cell is one side's measurements of a metric, or why there are none.
type Cell struct {
	Stats stats.Summary
	NA    string // not empty: no value, for this reason
}

// OK reports whether the cell holds a value.
func (c Cell) OK() bool { return c.NA == "" && c.Stats.N > 0 }

// BuildTable summarizes s into rows, in the order of metrics. A metric
// that no side measured or explained is left out; a side that has neither
// values nor a reason for a metric others measured is "not measured".
func BuildTable(metrics []Metric, sides []string, s *Samples, repeats int, meta Meta) *Table {
	t := &Table{Sides: sides, Meta: meta}
	for _, m := range metrics {
		if !anySide(sides, func(side string) bool { return s.Has(side, m.Key) }) {
			continue
		}
		row := Row{Metric: m, Ratio: math.NaN()}
		var notes []string
		for _, side := range sides {
			row.Cells = append(row.Cells, cellOf(s, side, m.Key))
			if note := s.missing(side, m.Key, repeats); note != "" {
				notes = append(notes, note)
			}
		}
		if len(row.Cells) == 2 && row.Cells[0].OK() && row.Cells[1].OK() && row.Cells[1].Stats.Median != 0 {
			row.Ratio = row.Cells[0].Stats.Median / row.Cells[1].Stats.Median
		}
		row.Note = strings.Join(notes, "; ")
		t.Rows = append(t.Rows, row)
	}
	return t
}

// Verdicts of Row.Verdict, for the first side (gometal) against the second.
const (
	VerdictWon     = "won"
	VerdictLost    = "lost"
	VerdictNoise   = "within noise"
	VerdictOneRun  = "one repeat: not judged"
	VerdictNone    = "" // an info row, or a side without a value
	verdictMinRuns = 2
)

// Verdict calls the row for the first side: won or lost when every one of
// its repeats is better (or worse) than every one of the second side's, in
// the row's direction; "within noise" when the two sides' ranges
// [min, max] overlap, however far apart the medians are; not judged with
// a single repeat on a side (no spread to go by), for info rows and when
// a side has no value.
func (r Row) Verdict() string {
	if r.Better == Info || len(r.Cells) != 2 || !r.Cells[0].OK() || !r.Cells[1].OK() {
		return VerdictNone
	}
	a, b := r.Cells[0].Stats, r.Cells[1].Stats
	if a.N < verdictMinRuns || b.N < verdictMinRuns {
		return VerdictOneRun
	}
	switch {
	case a.Max < b.Min:
		if r.Better == Lower {
			return VerdictWon
		}
		return VerdictLost
	case a.Min > b.Max:
		if r.Better == Higher {
			return VerdictWon
		}
		return VerdictLost
	}
	return VerdictNoise
}

// cellOf summarizes one side's values of key.
func cellOf(s *Samples, side, key string) Cell {
	if vs := s.Values(side, key); len(vs) > 0 {
		return Cell{Stats: stats.Summarize(vs)}
	}
	reason := s.Reason(side, key)
	if reason == "" {
		reason = "not measured"
	}
	return Cell{NA: reason}
}

func anySide(sides []string, f func(string) bool) bool {
	for _, side := range sides {
		if f(side) {
			return true
		}
	}
	return false
}

// FormatValue prints a measurement with three or four significant digits
// (whole numbers as they are) and no exponent.
func FormatValue(v float64) string {
	a := math.Abs(v)
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return "n/a"
	case a >= 1000 || v == math.Trunc(v):
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 10 || a == 0:
		return strconv.FormatFloat(v, 'f', 2, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// FormatSpread prints a cell's spread as a percentage; "" for n/a and for
// a single value.
func FormatSpread(c Cell) string {
	sp := c.Stats.Spread()
	if !c.OK() || c.Stats.N < 2 || math.IsNaN(sp) {
		return ""
	}
	return strconv.FormatFloat(100*sp, 'f', 0, 64) + "%"
}

// FormatRatio prints a ratio as "1.23x", "" when it is undefined.
func FormatRatio(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return ""
	}
	return strconv.FormatFloat(r, 'f', 2, 64) + "x"
}
