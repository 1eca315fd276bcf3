package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	svgLabelW = 430 // metric titles
	svgPlotW  = 400 // the bars
	svgTextW  = 120 // the ratio, or n/a
	svgRowH   = 22
	svgTop    = 70 // title, legend and axis labels
	svgBottom = 20
	svgMaxLog = 6 // bars are clipped at 64x either way
)

// WriteSVG draws the ratios of t (first side over second) as horizontal
// bars on a log2 scale around 1x, one row per compared metric: green where
// the first side is better, red where it is worse, no bar and "n/a" where
// either side has no value. Info rows are left out.
func WriteSVG(w io.Writer, t *Table) error {
	var rows []Row
	for _, r := range t.Rows {
		if r.Better != Info {
			rows = append(rows, r)
		}
	}
	span := 1.0 // log2 range shown either side of 1x
	for _, r := range rows {
		if !math.IsNaN(r.Ratio) && r.Ratio > 0 {
			span = max(span, math.Ceil(math.Abs(math.Log2(r.Ratio))))
		}
	}
	span = min(span, svgMaxLog)
	width := svgLabelW + svgPlotW + svgTextW
	height := svgTop + len(rows)*svgRowH + svgBottom
	center := float64(svgLabelW) + svgPlotW/2
	xOf := func(ratio float64) float64 {
		l := math.Max(-span, math.Min(span, math.Log2(ratio)))
		return center + l/span*svgPlotW/2
	}

	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="10" y="20" font-size="15" font-weight="bold">%s</text>`+"\n",
		html.EscapeString(fmt.Sprintf("%s / %s (log scale; green: %s better, red: worse)", title(t.Sides, 0), title(t.Sides, 1), title(t.Sides, 0))))
	fmt.Fprintf(&b, `<text x="10" y="38" fill="#555">%s</text>`+"\n",
		html.EscapeString(fmt.Sprintf("%s; %s; %d repeats, medians", t.Meta.Date.Format("2006-01-02"), t.Meta.QEMU, t.Meta.Repeats)))
	for l := -span; l <= span; l++ {
		x := xOf(math.Exp2(l))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>`+"\n",
			x, svgTop-8, x, height-svgBottom, gridColor(l))
		if span <= 3 || int(l)%2 == 0 { // every other label when crowded
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" fill="#555">%s</text>`+"\n",
				x, svgTop-12, axisLabel(l))
		}
	}
	for i, r := range rows {
		y := svgTop + i*svgRowH
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n",
			svgLabelW-8, y+15, html.EscapeString(r.Title))
		if math.IsNaN(r.Ratio) || r.Ratio <= 0 {
			fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#999">n/a</text>`+"\n", svgLabelW+svgPlotW+8, y+15)
			continue
		}
		x0, x1 := center, xOf(r.Ratio)
		if x1 < x0 {
			x0, x1 = x1, x0
		}
		fmt.Fprintf(&b, `<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n",
			x0, y+4, math.Max(x1-x0, 1), svgRowH-8, barColor(r))
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`+"\n",
			svgLabelW+svgPlotW+8, y+15, FormatRatio(r.Ratio))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// barColor is green when the first side is better, red when worse, and
// grey when the two sides' ranges overlap (Row.Verdict: within noise).
func barColor(r Row) string {
	if r.Verdict() == VerdictNoise {
		return "#9a9a9a"
	}
	if (r.Better == Lower) == (r.Ratio <= 1) {
		return "#2e9d4a"
	}
	return "#d0463b"
}

// gridColor darkens the 1x line.
func gridColor(log2 float64) string {
	if log2 == 0 {
		return "#333"
	}
	return "#ddd"
}

// axisLabel names the ratio 2^log2: ..., 1/4x, 1/2x, 1x, 2x, 4x, ...
func axisLabel(log2 float64) string {
	if log2 < 0 {
		return fmt.Sprintf("1/%gx", math.Exp2(-log2))
	}
	return fmt.Sprintf("%gx", math.Exp2(log2))
}
