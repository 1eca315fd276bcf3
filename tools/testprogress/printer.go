package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// event is one go test -json (test2json) record.
type event struct {
	Action     string
	Package    string
	Test       string
	Elapsed    float64
	Output     string
	ImportPath string // build-output and build-fail events
}

// printer turns events into go test's per-package lines.
type printer struct {
	mu      sync.Mutex
	out     io.Writer
	now     func() time.Time
	start   time.Time
	started map[string]time.Time // running packages
	outputs map[string][]string  // per package: output lines not yet known to be needed
	oks     map[string]string    // per package: go test's own "ok" line, "(cached)" kept
	failed  bool
	done    int
}

func newPrinter(out io.Writer, now func() time.Time) *printer {
	return &printer{out: out, now: now, start: now(), started: map[string]time.Time{}, outputs: map[string][]string{}, oks: map[string]string{}}
}

// consume reads events until r ends.
func (p *printer) consume(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if err := json.Unmarshal(line, &e); err != nil || (e.Action == "" && e.ImportPath == "") {
			fmt.Fprintf(p.out, "%s\n", line) // not an event: pass it on
			continue
		}
		p.handle(e)
	}
	return sc.Err()
}

// handle acts on one event.
func (p *printer) handle(e event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch e.Action {
	case "start":
		p.started[e.Package] = p.now()
	case "build-output":
		p.outputs[e.ImportPath] = append(p.outputs[e.ImportPath], e.Output)
	case "build-fail":
		p.failed = true
		io.WriteString(p.out, strings.Join(p.outputs[e.ImportPath], ""))
		delete(p.outputs, e.ImportPath)
	case "output":
		if e.Test == "" && isSummary(e.Output) {
			if strings.HasPrefix(e.Output, "ok  \t") {
				p.oks[e.Package] = e.Output // says "(cached)" for a result go test did not run again
			}
			return // the line is printed from the pass/fail event, with the package's output first
		}
		p.outputs[e.Package] = append(p.outputs[e.Package], e.Output)
	case "pass", "fail", "skip":
		if e.Test != "" {
			return
		}
		p.finish(e)
	}
}

// isSummary reports whether a package-level output line is go test's own
// result line for the package.
func isSummary(s string) bool {
	for _, p := range []string{"ok  \t", "FAIL\t", "?   \t", "PASS\n", "FAIL\n"} {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// finish prints a package's line (and its output if it failed).
func (p *printer) finish(e event) {
	delete(p.started, e.Package)
	p.done++
	out := p.outputs[e.Package]
	delete(p.outputs, e.Package)
	switch e.Action {
	case "pass":
		if line, ok := p.oks[e.Package]; ok {
			io.WriteString(p.out, line)
			delete(p.oks, e.Package)
			break
		}
		fmt.Fprintf(p.out, "ok  \t%s\t%.3fs\n", e.Package, e.Elapsed)
	case "skip":
		fmt.Fprintf(p.out, "?   \t%s\t[no test files]\n", e.Package)
	default:
		p.failed = true
		io.WriteString(p.out, strings.Join(out, ""))
		fmt.Fprintf(p.out, "FAIL\t%s\t%.3fs\n", e.Package, e.Elapsed)
	}
}

// running prints the packages still running, the longest first.
func (p *printer) running() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.started) == 0 {
		return
	}
	now := p.now()
	pkgs := make([]string, 0, len(p.started))
	for pkg := range p.started {
		pkgs = append(pkgs, pkg)
	}
	slices.SortFunc(pkgs, func(a, b string) int { return p.started[a].Compare(p.started[b]) })
	var parts []string
	for _, pkg := range pkgs {
		parts = append(parts, fmt.Sprintf("%s (%s)", pkg, now.Sub(p.started[pkg]).Round(time.Second)))
	}
	fmt.Fprintf(p.out, "... %s: %d packages done, running: %s\n", now.Sub(p.start).Round(time.Second), p.done, strings.Join(parts, ", "))
}

// summary prints the total time.
func (p *printer) summary() {
	p.mu.Lock()
	defer p.mu.Unlock()
	verdict := "ok"
	if p.failed {
		verdict = "FAIL"
	}
	fmt.Fprintf(p.out, "%s: %d packages in %s\n", verdict, p.done, p.now().Sub(p.start).Round(time.Second))
}
