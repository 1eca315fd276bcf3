package bench

import (
	"bytes"
	"encoding/csv"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWriteMarkdown(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteMarkdown(&b, testTable(t)))
	md := b.String()
	for _, want := range []string{
		"- date: 2026-11-23 05:00 UTC",
		"- host: test host",
		"- QEMU: QEMU 7.2",
		"Debian linux-image-6.1.0-56-amd64",
		"- 3 repeats per side",
		"| metric | unit | gometal | spread | linux | spread | ratio | better | verdict |",
		"|---|---|---:|---:|---:|---:|---:|---|---|",
		"| goroutine create+exit | ns/op | 110 | 18% | 210 | 10% | 0.52x | lower | won |",
		"| cross-CPU wake latency p50 | us | n/a: SMP not available: guest saw 1 CPUs |  | 150 |  |  | lower |  |",
		"| CPU-bound job speedup at 2 vCPUs over 1 | x | 1.500 |  | 1.900 |  | 0.79x | higher | one repeat: not judged |",
		"Notes:\n\n- goroutine create+exit: linux: 1 of 3 repeats n/a (timed out after 2m0s)",
	} {
		assert.Contains(t, md, want)
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") {
			assert.Equal(t, 10, strings.Count(line, "|")-strings.Count(line, `\|`), "cells in %q", line)
		}
	}
	assert.Equal(t, `a\|b c`, mdEscape("a|b\nc"))
}

func TestWriteCSV(t *testing.T) {
	var b bytes.Buffer
	tb := testTable(t)
	require.NoError(t, WriteCSV(&b, tb))
	recs, err := csv.NewReader(&b).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 1+len(tb.Rows))
	assert.Equal(t, []string{"key", "metric", "unit", "better",
		"gometal_median", "gometal_min", "gometal_max", "gometal_n", "gometal_na",
		"linux_median", "linux_min", "linux_max", "linux_n", "linux_na", "ratio", "note", "bound", "bound_met", "verdict"}, recs[0])
	assert.Equal(t, []string{"sched.spawn", "goroutine create+exit", "ns/op", "lower",
		"110", "100", "120", "3", "", "210", "200", "220", "2", "",
		"0.5238095238095238", "linux: 1 of 3 repeats n/a (timed out after 2m0s)", "", "", "won"}, recs[1])
	assert.Equal(t, []string{"sched.wake.p50", "cross-CPU wake latency p50", "us", "lower",
		"", "", "", "0", "SMP not available: guest saw 1 CPUs", "150", "150", "150", "1", "", "", "", "", "", ""}, recs[2])
}

func TestWriteSVG(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, WriteSVG(&b, testTable(t)))
	svg := b.String()
	d := xml.NewDecoder(strings.NewReader(svg))
	var texts []string
	bars := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		require.NoError(t, err, "the SVG must be well-formed XML")
		switch el := tok.(type) {
		case xml.StartElement:
			if el.Name.Local == "rect" {
				bars++
			}
		case xml.CharData:
			texts = append(texts, string(el))
		}
	}
	all := strings.Join(texts, "\n")
	assert.Contains(t, all, "goroutine create+exit")
	assert.Contains(t, all, "0.52x")
	assert.Contains(t, all, "n/a")
	assert.Contains(t, all, "1/2x")
	assert.NotContains(t, all, "GC cycles", "info rows are not charted")
	assert.NotContains(t, all, "network")
	assert.Equal(t, 1+2, bars, "the background, then one bar per row with a ratio")
	assert.Contains(t, svg, `fill="#2e9d4a"`, "spawn is better (lower) on gometal: green")
	assert.Contains(t, svg, `fill="#d0463b"`, "speedup is worse (lower) on gometal: red")
}

func TestWriteResults(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "results")
	paths, err := WriteResults(dir, testTable(t))
	require.NoError(t, err)
	require.Len(t, paths, 3)
	for _, p := range paths {
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.NotZero(t, st.Size(), p)
	}
	assert.Equal(t, []string{filepath.Join(dir, ResultsMarkdown), filepath.Join(dir, ResultsCSV), filepath.Join(dir, ResultsSVG)}, paths)
}
