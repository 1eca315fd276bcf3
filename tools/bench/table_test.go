package bench

import (
	"bytes"
	"github.com/gometal/gometal/tools/bench/stats"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testTable is a small table with every kind of cell.
func testTable(t *testing.T) *Table {
	t.Helper()
	s := NewSamples()
	for _, v := range []float64{100, 120, 110} {
		s.Add("gometal", "sched.spawn", v)
	}
	for _, v := range []float64{200, 220} {
		s.Add("linux", "sched.spawn", v)
	}
	s.NA("linux", "sched.spawn", "timed out after 2m0s")
	s.NA("gometal", "sched.wake.p50", "SMP not available: guest saw 1 CPUs")
	s.Add("linux", "sched.wake.p50", 150)
	s.Add("gometal", SpeedupKey(2), 1.5)
	s.Add("linux", SpeedupKey(2), 1.9)
	s.Add("gometal", "gc.count", 7)
	s.Add("linux", "gc.count", 7)
	s.NA("gometal", KeyHTTPRPS, "HTTP load failed: connection reset")
	s.NA("linux", KeyHTTPRPS, "no virtio-net modules for Linux")
	s.Add("linux", "time.sleep.p50", 0) // gometal: nothing at all
	meta := Meta{Date: time.Date(2026, 11, 23, 5, 0, 0, 0, time.UTC), Host: "test host",
		QEMU: "QEMU 7.2", Go: "go1.26", Linux: "linux-image-6.1.0-56-amd64", Repeats: 3, Scale: 1, HeapMiB: 16}
	tb := BuildTable(Catalog(Config{CPUs: []int{1, 2}, HeapMiB: 16}), []string{"gometal", "linux"}, s, 3, meta)
	require.NotNil(t, tb)
	return tb
}

func TestBuildTable(t *testing.T) {
	tb := testTable(t)
	var keys []string
	for _, r := range tb.Rows {
		keys = append(keys, r.Key)
	}
	assert.Equal(t, []string{"sched.spawn", "sched.wake.p50", "time.sleep.p50", SpeedupKey(2), "gc.count", KeyHTTPRPS},
		keys, "rows nobody measured are left out; catalog order is kept")

	spawn := tb.Rows[0]
	assert.Equal(t, 110.0, spawn.Cells[0].Stats.Median)
	assert.Equal(t, 210.0, spawn.Cells[1].Stats.Median)
	assert.InDelta(t, 110.0/210, spawn.Ratio, 1e-12)
	assert.Equal(t, "linux: 1 of 3 repeats n/a (timed out after 2m0s)", spawn.Note)

	wake := tb.Rows[1]
	assert.False(t, wake.Cells[0].OK())
	assert.Equal(t, "SMP not available: guest saw 1 CPUs", wake.Cells[0].NA)
	assert.True(t, wake.Cells[1].OK())
	assert.True(t, math.IsNaN(wake.Ratio))

	sleep := tb.Rows[2]
	assert.Equal(t, "not measured", sleep.Cells[0].NA)
	assert.True(t, math.IsNaN(sleep.Ratio))

	speedup := tb.Rows[3]
	assert.Equal(t, Higher, speedup.Better)
	assert.InDelta(t, 1.5/1.9, speedup.Ratio, 1e-12)

	net := tb.Rows[5]
	assert.Equal(t, "HTTP load failed: connection reset", net.Cells[0].NA)
	assert.Equal(t, "no virtio-net modules for Linux", net.Cells[1].NA)
	assert.Equal(t, Higher, net.Better)
}

func TestBuildTableZeroDenominator(t *testing.T) {
	s := NewSamples()
	s.Add("gometal", "gc.count", 3)
	s.Add("linux", "gc.count", 0)
	tb := BuildTable(Catalog(Config{HeapMiB: 16}), []string{"gometal", "linux"}, s, 1, Meta{})
	require.Len(t, tb.Rows, 1)
	assert.True(t, math.IsNaN(tb.Rows[0].Ratio))
}

func TestFormat(t *testing.T) {
	tests := map[float64]string{
		0: "0", 7: "7", 45: "45", 12452.4: "12452", 235.54: "235.5", 49.789: "49.79",
		3.01449: "3.014", 0.1234: "0.123", 0.00012345: "0.000123", -2.5: "-2.500",
		math.NaN(): "n/a", math.Inf(1): "n/a",
	}
	for v, want := range tests {
		assert.Equal(t, want, FormatValue(v), "%v", v)
	}
	assert.Equal(t, "1.23x", FormatRatio(1.2345))
	assert.Equal(t, "", FormatRatio(math.NaN()))
	assert.Equal(t, "", FormatRatio(math.Inf(1)))

	tb := testTable(t)
	assert.Equal(t, "18%", FormatSpread(tb.Rows[0].Cells[0]), "(120-100)/110")
	assert.Equal(t, "", FormatSpread(tb.Rows[1].Cells[0]), "n/a has no spread")
	assert.Equal(t, "", FormatSpread(tb.Rows[1].Cells[1]), "one value has no spread")
}

func TestBetterString(t *testing.T) {
	assert.Equal(t, "lower", Lower.String())
	assert.Equal(t, "higher", Higher.String())
	assert.Equal(t, "info", Info.String())
}

func TestCatalog(t *testing.T) {
	keys := map[string]bool{}
	for _, m := range Catalog(Config{CPUs: []int{1, 2, 4, 8}, HeapMiB: 1024, NetSMP: 2}) {
		assert.False(t, keys[m.Key], "duplicate key %s", m.Key)
		keys[m.Key] = true
		assert.NotEmpty(t, m.Title)
	}
	for _, k := range []string{ParallelTimeKey(1), SpeedupKey(2), SpeedupKey(4), SpeedupKey(8), KeyMinMem, KeyHTTPRPS, KeyHTTPP50, KeyHTTPP99, KeyHTTPBulk} {
		assert.True(t, keys[k], k)
	}
	for _, m := range Catalog(Config{NetSMP: 2}) {
		switch m.Key {
		case KeyHTTPRPS:
			assert.Equal(t, "HTTP GET /, 8 keep-alive connections, 2 vCPU: requests per second", m.Title)
			assert.Equal(t, Higher, m.Better)
		case KeyHTTPP99:
			assert.Equal(t, "us", m.Unit)
			assert.Equal(t, Lower, m.Better)
		case KeyHTTPBulk:
			assert.Equal(t, "HTTP GET of 4 MiB bodies, one connection, 2 vCPU", m.Title)
		}
	}
	assert.False(t, keys[SpeedupKey(1)], "no speedup of 1 over itself")
}

func TestCheckBounds(t *testing.T) {
	b := Bounds()
	assert.Equal(t, Bound{Max: 2000, Why: "slice + 1 ms"}, b[Ticker5Key("1ms", 1, "p50")])
	assert.Equal(t, 3000.0, b[Ticker5Key("2ms", 4, "p50")].Max)
	assert.NotContains(t, b, Ticker5Key("off", 1, "p50"), "no bound without slices")
	assert.NotContains(t, b, Ticker5Key("1ms", 1, "p99"), "the bound is on p50")
	assert.Len(t, b, 4)

	s := NewSamples()
	met, missed, na := Ticker5Key("1ms", 1, "p50"), Ticker5Key("2ms", 4, "p50"), Ticker5Key("1ms", 4, "p50")
	for _, v := range []float64{1900, 2000, 2600} { // median 2000: met, at the bound
		s.Add("gometal", met, v)
	}
	s.Add("gometal", missed, 3001)
	s.NA("gometal", na, "timed out after 2m0s")
	for _, k := range []string{met, missed, na, Ticker5Key("off", 1, "p50")} {
		s.Add("linux", k, 15000)
	}
	s.Add("gometal", Ticker5Key("off", 1, "p50"), 15000)
	tb := BuildTable(Catalog(Config{HeapMiB: 16}), []string{"gometal", "linux"}, s, 3, Meta{})
	tb.CheckBounds(Bounds())
	require.Len(t, tb.Checks, 3, "rows without a bound are not checked")
	got := map[string]bool{}
	for _, c := range tb.Checks {
		got[c.Row.Key] = c.Met
	}
	assert.Equal(t, map[string]bool{met: true, missed: false, na: false}, got)

	var md bytes.Buffer
	require.NoError(t, WriteMarkdown(&md, tb))
	for _, want := range []string{
		"Bounds on the gometal median:\n\n",
		"- 5ms ticker lateness p50, 3 CPU hogs, GOMAXPROCS=1, slice=1ms, 1 vCPU: gometal 2000 us, bound 2000 us (slice + 1 ms): met\n",
		"- 5ms ticker lateness p50, 3 CPU hogs, GOMAXPROCS=1, slice=1ms, 4 vCPU: gometal n/a: timed out after 2m0s, bound 2000 us (slice + 1 ms): not judged\n",
		"- 5ms ticker lateness p50, 3 CPU hogs, GOMAXPROCS=1, slice=2ms, 4 vCPU: gometal 3001 us, bound 3000 us (slice + 1 ms): NOT MET\n",
	} {
		assert.Contains(t, md.String(), want)
	}
	var csvOut bytes.Buffer
	require.NoError(t, WriteCSV(&csvOut, tb))
	assert.Contains(t, csvOut.String(), ",2000,true,one repeat: not judged\n")
	assert.Contains(t, csvOut.String(), ",3000,false,one repeat: not judged\n")
}

func TestBuildTableBootMachines(t *testing.T) {
	s := NewSamples()
	for _, v := range []float64{300, 320, 310} {
		s.Add("gometal", BootKey(KeyHostToMain, "q35"), v)
		s.Add("gometal", BootKey(KeyHostToMain, "microvm"), v-100)
		s.Add("linux", BootKey(KeyHostToMain, "q35"), 2*v)
	}
	s.NA("linux", BootKey(KeyHostToMain, "microvm"), "timed out after 30s")
	tb := BuildTable(Catalog(Config{HeapMiB: 16}), []string{"gometal", "linux"}, s, 3, Meta{})
	require.Len(t, tb.Rows, 2)
	q35, mv := tb.Rows[0], tb.Rows[1]
	assert.Equal(t, "boot on q35, hello test: QEMU start to main (host clock)", q35.Title)
	assert.Equal(t, "boot on microvm, hello test: QEMU start to main (host clock)", mv.Title)
	assert.Equal(t, 310.0, q35.Cells[0].Stats.Median)
	assert.InDelta(t, 0.5, q35.Ratio, 1e-12)
	assert.Equal(t, 210.0, mv.Cells[0].Stats.Median)
	assert.Equal(t, "timed out after 30s", mv.Cells[1].NA, "a side that cannot boot on microvm says why")
	assert.True(t, math.IsNaN(mv.Ratio))
}

// TestRowVerdict: a row is won or lost only when the two sides' ranges do
// not overlap, in the row's direction; overlapping ranges are within
// noise even when the medians differ a lot; one repeat, info rows and n/a
// cells are not judged.
func TestRowVerdict(t *testing.T) {
	cell := func(vs ...float64) Cell { return Cell{Stats: stats.Summarize(vs)} }
	row := func(b Better, g, l Cell) Row { return Row{Metric: Metric{Better: b}, Cells: []Cell{g, l}} }
	assert.Equal(t, VerdictWon, row(Lower, cell(100, 120, 110), cell(200, 220)).Verdict())
	assert.Equal(t, VerdictLost, row(Higher, cell(100, 120, 110), cell(200, 220)).Verdict())
	assert.Equal(t, VerdictWon, row(Higher, cell(300, 320), cell(200, 220)).Verdict())
	assert.Equal(t, VerdictLost, row(Lower, cell(300, 320), cell(200, 220)).Verdict())
	assert.Equal(t, VerdictNoise, row(Lower, cell(100, 101, 250), cell(200, 210, 220)).Verdict(),
		"medians 101 against 210, but one gometal repeat is inside Linux's range")
	assert.Equal(t, VerdictNoise, row(Higher, cell(200, 220), cell(220, 230)).Verdict(), "touching ranges overlap")
	assert.Equal(t, VerdictOneRun, row(Lower, cell(100), cell(200, 210)).Verdict())
	assert.Equal(t, VerdictNone, row(Info, cell(1, 2), cell(5, 6)).Verdict())
	assert.Equal(t, VerdictNone, row(Lower, Cell{NA: "timed out"}, cell(5, 6)).Verdict())
}

// TestBuildTableFutexRows: the futex-heavy rows come after the parallel
// job's in the table, with the ratio of the speedups (gometal's over
// Linux's: above 1, gometal scales better), verdicts in the higher-is-
// better direction, and a Markdown line each.
func TestBuildTableFutexRows(t *testing.T) {
	s := NewSamples()
	for _, v := range []float64{900, 950, 1000} {
		s.Add("gometal", FutexJob.TimeKey(1), v)
		s.Add("linux", FutexJob.TimeKey(1), v-100)
	}
	for _, v := range []float64{1.2, 1.3, 1.4} {
		s.Add("gometal", FutexJob.SpeedupKey(2), v)
		s.Add("linux", FutexJob.SpeedupKey(2), v+0.4)
		s.Add("gometal", SpeedupKey(2), v)
	}
	s.NA("gometal", FutexJob.SpeedupKey(4), "timed out after 2m0s")
	s.Add("linux", FutexJob.SpeedupKey(4), 2.5)
	tb := BuildTable(Catalog(Config{CPUs: []int{1, 2}, HeapMiB: 16}), []string{"gometal", "linux"}, s, 3, Meta{})
	var keys []string
	for _, r := range tb.Rows {
		keys = append(keys, r.Key)
	}
	require.Equal(t, []string{SpeedupKey(2), FutexJob.TimeKey(1), FutexJob.SpeedupKey(2), FutexJob.SpeedupKey(4)}, keys)
	t1, sp2, sp4 := tb.Rows[1], tb.Rows[2], tb.Rows[3]
	assert.InDelta(t, 950.0/850, t1.Ratio, 1e-12)
	assert.InDelta(t, 1.3/1.7, sp2.Ratio, 1e-12, "the ratio of the two sides' speedups")
	assert.Equal(t, VerdictLost, sp2.Verdict(), "every gometal speedup below every Linux one")
	assert.Equal(t, "timed out after 2m0s", sp4.Cells[0].NA)
	assert.True(t, math.IsNaN(sp4.Ratio))

	var md bytes.Buffer
	require.NoError(t, WriteMarkdown(&md, tb))
	assert.Contains(t, md.String(), "| futex-heavy job speedup at 2 vCPUs over 1 | x | 1.300 | 15% | 1.700 | 12% | 0.76x | higher | lost |")
	assert.Contains(t, md.String(), "| futex-heavy job speedup at 4 vCPUs over 1 | x | n/a: timed out after 2m0s |")
}
