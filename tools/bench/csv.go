package bench

import (
	"encoding/csv"
	"io"
	"math"
	"strconv"
)

// WriteCSV writes t with one record per row: the metric, then for every
// side its median, min, max, count of values and n/a reason, then the
// ratio, the note, the first side's bound with whether its median met
// it ("true", "false"; both empty for a row without one), and the row's
// verdict (Row.Verdict). Numbers are written in full precision; missing
// numbers are empty fields.
func WriteCSV(w io.Writer, t *Table) error {
	cw := csv.NewWriter(w)
	head := []string{"key", "metric", "unit", "better"}
	for _, side := range t.Sides {
		head = append(head, side+"_median", side+"_min", side+"_max", side+"_n", side+"_na")
	}
	head = append(head, "ratio", "note", "bound", "bound_met", "verdict")
	checks := map[string]Check{}
	for _, c := range t.Checks {
		checks[c.Row.Key] = c
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for _, r := range t.Rows {
		rec := []string{r.Key, r.Title, r.Unit, r.Better.String()}
		for _, c := range r.Cells {
			if c.OK() {
				rec = append(rec, num(c.Stats.Median), num(c.Stats.Min), num(c.Stats.Max), strconv.Itoa(c.Stats.N), "")
			} else {
				rec = append(rec, "", "", "", "0", c.NA)
			}
		}
		rec = append(rec, num(r.Ratio), r.Note, "", "", r.Verdict())
		if c, ok := checks[r.Key]; ok {
			rec[len(rec)-3], rec[len(rec)-2] = num(c.Bound.Max), strconv.FormatBool(c.Met)
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// num formats x in full precision, "" for NaN.
func num(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return ""
	}
	return strconv.FormatFloat(x, 'g', -1, 64)
}
