package bench

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
)

// Result file names under the results directory.
const (
	ResultsMarkdown = "bench.md"
	ResultsCSV      = "bench.csv"
	ResultsSVG      = "bench.svg"
)

// WriteResults writes t into dir (made when missing) as Markdown, CSV and
// the SVG chart of ratios, and returns the paths written.
func WriteResults(dir string, t *Table) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	writers := []struct {
		name  string
		write func(io.Writer, *Table) error
	}{
		{ResultsMarkdown, WriteMarkdown},
		{ResultsCSV, WriteCSV},
		{ResultsSVG, WriteSVG},
	}
	var paths []string
	for _, wr := range writers {
		var b bytes.Buffer
		if err := wr.write(&b, t); err != nil {
			return paths, err
		}
		p := filepath.Join(dir, wr.name)
		if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
			return paths, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}
