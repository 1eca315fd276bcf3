package bench

import (
	"fmt"
	"io"
	"strings"
)

// WriteMarkdown writes t as a Markdown document: what was measured where,
// then one table with both sides, their spreads and the ratio.
func WriteMarkdown(w io.Writer, t *Table) error {
	var b strings.Builder
	m := t.Meta
	fmt.Fprintf(&b, "# gometal vs Linux: the same Go program in the same QEMU\n\n")
	fmt.Fprintf(&b, "- date: %s\n", m.Date.Format("2006-01-02 15:04 MST"))
	fmt.Fprintf(&b, "- host: %s; load average %s\n", m.Host, m.Load)
	fmt.Fprintf(&b, "- QEMU: %s\n", m.QEMU)
	fmt.Fprintf(&b, "- Go: %s; Linux side: Debian %s, initramfs with bench/workload as /init for the workload rows\n", m.Go, m.Linux)
	if m.Net != "" {
		fmt.Fprintf(&b, "- network rows: %s\n", m.Net)
	}
	fmt.Fprintf(&b, "- %d repeats per side; value = median, spread = (max-min)/median; workload -scale %g, gc heap %d MiB\n",
		m.Repeats, m.Scale, m.HeapMiB)
	fmt.Fprintf(&b, "- ratio = %s / %s; \"better\" says which direction is an improvement; \"verdict\" is %s's: won or lost only when the two sides' ranges (min to max over the repeats) do not overlap, else within noise\n\n", title(t.Sides, 0), title(t.Sides, 1), title(t.Sides, 0))

	b.WriteString("| metric | unit")
	for _, side := range t.Sides {
		fmt.Fprintf(&b, " | %s | spread", side)
	}
	b.WriteString(" | ratio | better | verdict |\n|---|---")
	for range t.Sides {
		b.WriteString("|---:|---:")
	}
	b.WriteString("|---:|---|---|\n")
	var notes []string
	for _, r := range t.Rows {
		fmt.Fprintf(&b, "| %s | %s", mdEscape(r.Title), r.Unit)
		for _, c := range r.Cells {
			val := FormatValue(c.Stats.Median)
			if !c.OK() {
				val = "n/a: " + c.NA
			}
			fmt.Fprintf(&b, " | %s | %s", mdEscape(val), FormatSpread(c))
		}
		fmt.Fprintf(&b, " | %s | %s | %s |\n", FormatRatio(r.Ratio), r.Better, r.Verdict())
		if r.Note != "" {
			notes = append(notes, fmt.Sprintf("- %s: %s", r.Title, r.Note))
		}
	}
	writeChecks(&b, t)
	if len(notes) > 0 {
		b.WriteString("\nNotes:\n\n" + strings.Join(notes, "\n") + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeChecks lists t.Checks after the table: each bound and whether the
// first side's median met it.
func writeChecks(b *strings.Builder, t *Table) {
	if len(t.Checks) == 0 {
		return
	}
	side := title(t.Sides, 0)
	fmt.Fprintf(b, "\nBounds on the %s median:\n\n", side)
	for _, c := range t.Checks {
		cell, unit := c.Row.Cells[0], c.Row.Unit
		got := "n/a: " + cell.NA
		if cell.OK() {
			got = FormatValue(cell.Stats.Median) + " " + unit
		}
		verdict := "NOT MET"
		switch {
		case c.Met:
			verdict = "met"
		case !cell.OK():
			verdict = "not judged"
		}
		fmt.Fprintf(b, "- %s: %s %s, bound %s %s (%s): %s\n",
			c.Row.Title, side, got, FormatValue(c.Bound.Max), unit, c.Bound.Why, verdict)
	}
}

// title returns the i-th side's name, or "?".
func title(sides []string, i int) string {
	if i < len(sides) {
		return sides[i]
	}
	return "?"
}

// mdEscape keeps a cell's text from ending the cell.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}
