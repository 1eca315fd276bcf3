package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/gometal/gometal/qemu"
)

// ordered prints the output of packages tested in parallel in package
// order, as go test does: the first unfinished package writes through,
// the others are held until every package before them has finished.
type ordered struct {
	mu          sync.Mutex
	out, errOut io.Writer
	secs        []*section
	head        int
}

// section is one package's share of the output.
type section struct {
	o      *ordered
	idx    int
	chunks []chunk
	done   bool
}

// chunk is held output for standard output or standard error.
type chunk struct {
	stderr bool
	b      []byte
}

// newOrdered returns an ordered printer with n sections.
func newOrdered(std stdio, n int) *ordered {
	o := &ordered{out: std.out, errOut: std.errOut}
	for i := range n {
		o.secs = append(o.secs, &section{o: o, idx: i})
	}
	return o
}

// sectionWriter writes to a section's standard output or error.
type sectionWriter struct {
	s      *section
	stderr bool
}

// stdout returns the writer for the section's standard output.
func (s *section) stdout() io.Writer { return sectionWriter{s, false} }

// stderr returns the writer for the section's standard error.
func (s *section) stderr() io.Writer { return sectionWriter{s, true} }

// Write writes through when its section is the first unfinished one and
// holds the bytes otherwise.
func (w sectionWriter) Write(p []byte) (int, error) {
	o := w.s.o
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.head == w.s.idx {
		o.emit(chunk{w.stderr, p})
	} else {
		w.s.chunks = append(w.s.chunks, chunk{w.stderr, bytes.Clone(p)})
	}
	return len(p), nil
}

// emit writes c to the real standard output or error. Errors are ignored,
// as go test ignores them.
func (o *ordered) emit(c chunk) {
	if c.stderr {
		o.errOut.Write(c.b)
	} else {
		o.out.Write(c.b)
	}
}

// finish marks the section done and lets the following sections print.
func (s *section) finish() {
	o := s.o
	o.mu.Lock()
	defer o.mu.Unlock()
	s.done = true
	for o.head < len(o.secs) && o.secs[o.head].done {
		o.head++
		if o.head < len(o.secs) {
			next := o.secs[o.head]
			for _, c := range next.chunks {
				o.emit(c)
			}
			next.chunks = nil
		}
	}
}

// progStream writes the program's output, without the kernel log, to w
// while the serial console arrives (qemu.Options.Console).
type progStream struct {
	split qemu.Splitter
	sent  int
	w     io.Writer
}

// Write splits p off the console and passes on the program output that
// is now decided.
func (p *progStream) Write(b []byte) (int, error) {
	p.split.Write(b)
	p.flush()
	return len(b), nil
}

// Close passes on the rest of the program output.
func (p *progStream) Close() error {
	p.split.Close()
	p.flush()
	return nil
}

// flush writes the program output not written yet.
func (p *progStream) flush() {
	out := p.split.Output()
	if len(out) > p.sent {
		p.w.Write(out[p.sent:])
		p.sent = len(out)
	}
}

// summary formats go test's line for a package that ran: "ok  \tPKG\tT"
// (with " [no tests to run]" when the run matched nothing) or
// "FAIL\tPKG\tT". output is what the test printed; a newline is put
// before the line when the output did not end with one.
func summary(pkg string, passed bool, elapsed time.Duration, output []byte) string {
	var b strings.Builder
	if len(output) > 0 && !bytes.HasSuffix(output, []byte("\n")) {
		b.WriteByte('\n')
	}
	t := fmt.Sprintf("%.3fs", elapsed.Seconds())
	if !passed {
		fmt.Fprintf(&b, "FAIL\t%s\t%s\n", pkg, t)
		return b.String()
	}
	norun := ""
	if bytes.HasPrefix(output, []byte("testing: warning: no tests to run\n")) ||
		bytes.Contains(output, []byte("\ntesting: warning: no tests to run\n")) {
		norun = " [no tests to run]"
	}
	fmt.Fprintf(&b, "ok  \t%s\t%s%s%s\n", pkg, t, coverageNote(output), norun)
	return b.String()
}

// coverageNote is go test's "\tcoverage: N% of statements" for the ok
// line, from the last such line of a binary built with -cover ("" if
// none).
func coverageNote(output []byte) string {
	i := bytes.LastIndex(output, []byte("\ncoverage: "))
	if i < 0 && !bytes.HasPrefix(output, []byte("coverage: ")) {
		return ""
	}
	line := output[i+1:]
	if end := bytes.IndexByte(line, '\n'); end >= 0 {
		line = line[:end]
	}
	return "\t" + string(line)
}

// noTestFiles is go test's line for a package without _test.go files.
func noTestFiles(pkg string) string { return fmt.Sprintf("?   \t%s\t[no test files]\n", pkg) }

// buildFailed is go test's line for a package whose test did not build.
func buildFailed(pkg string) string { return fmt.Sprintf("FAIL\t%s [build failed]\n", pkg) }

// setupFailed is go test's line for a package that could not be loaded.
func setupFailed(pkg string) string { return fmt.Sprintf("FAIL\t%s [setup failed]\n", pkg) }

// test2json runs "go tool test2json -t -p PKG", go test -json's converter,
// writing its events to w. Write the test binary's -test.v=test2json
// output and then the package's summary line to it, and Close it.
type test2json struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// startTest2JSON starts the converter for package pkg.
func startTest2JSON(ctx context.Context, pkg string, w io.Writer) (*test2json, error) {
	cmd := exec.CommandContext(ctx, "go", "tool", "test2json", "-t", "-p", pkg)
	cmd.Stdout = w
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("go tool test2json: %w", err)
	}
	return &test2json{cmd: cmd, stdin: stdin}, nil
}

// Write feeds the converter.
func (t *test2json) Write(p []byte) (int, error) { return t.stdin.Write(p) }

// Close ends the input and waits for the converter's last events.
func (t *test2json) Close() error {
	t.stdin.Close()
	if err := t.cmd.Wait(); err != nil {
		return fmt.Errorf("go tool test2json: %w", err)
	}
	return nil
}

// testEvent is a go test -json event that gometal writes itself, for a
// package whose test binary did not run; the field order is test2json's.
type testEvent struct {
	Time        *time.Time `json:",omitempty"`
	Action      string
	Package     string   `json:",omitempty"`
	Elapsed     *float64 `json:",omitempty"`
	Output      string   `json:",omitempty"`
	FailedBuild string   `json:",omitempty"`
}

// buildEvent is go test -json's report of build output.
type buildEvent struct {
	ImportPath string
	Action     string
	Output     string `json:",omitempty"`
}

// writeEvents writes events as JSON lines.
func writeEvents(w io.Writer, events ...any) {
	var b bytes.Buffer
	for _, e := range events {
		line, _ := json.Marshal(e)
		b.Write(append(line, '\n'))
	}
	w.Write(b.Bytes())
}

// packageEvents are the events of a package that did not run: start, its
// one line of output and the final action ("skip" or "fail").
func packageEvents(pkg, line, action, failedBuild string) []any {
	now := time.Now()
	zero := 0.0
	return []any{
		testEvent{Time: &now, Action: "start", Package: pkg},
		testEvent{Time: &now, Action: "output", Package: pkg, Output: line},
		testEvent{Time: &now, Action: action, Package: pkg, Elapsed: &zero, FailedBuild: failedBuild},
	}
}

// buildEvents are go test -json's events for a failed build: its output,
// line by line, and "build-fail".
func buildEvents(importPath, output string) []any {
	var events []any
	for _, line := range strings.SplitAfter(output, "\n") {
		if line != "" {
			events = append(events, buildEvent{ImportPath: importPath, Action: "build-output", Output: line})
		}
	}
	return append(events, buildEvent{ImportPath: importPath, Action: "build-fail"})
}
