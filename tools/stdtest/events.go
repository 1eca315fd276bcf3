package stdtest

import (
	"bufio"
	"encoding/json"
	"io"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Event is one line of go test -json (cmd/test2json's TestEvent).
type Event struct {
	Time    time.Time `json:",omitempty"`
	Action  string
	Package string  `json:",omitempty"`
	Test    string  `json:",omitempty"`
	Elapsed float64 `json:",omitempty"`
	Output  string  `json:",omitempty"`
	// FailedBuild names the test binary that did not build (a package's
	// final fail event).
	FailedBuild string `json:",omitempty"`
}

// ParseEvents reads a go test -json stream. Lines that are not JSON
// events (a build error printed on its own, a console line) are kept as
// output events of no test, so that nothing is lost.
func ParseEvents(r io.Reader) ([]Event, error) {
	var evs []Event
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.TrimSpace(line) == "" {
			continue
		}
		var e Event
		if !strings.HasPrefix(line, "{") || json.Unmarshal([]byte(line), &e) != nil || e.Action == "" {
			e = Event{Action: "output", Output: line + "\n"}
		}
		evs = append(evs, e)
	}
	return evs, sc.Err()
}

// Status is a test's or a package's outcome.
type Status string

// The outcomes. A test that started and never ended (its binary crashed
// or timed out) did not finish; a package whose test binary did not
// build failed to build.
const (
	Pass       Status = "pass"
	Fail       Status = "fail"
	Skip       Status = "skip"
	Unfinished Status = "unfinished"
	BuildFail  Status = "build-fail"
	NoTests    Status = "no-tests"
)

// TestResult is the outcome of one top-level test or example.
type TestResult struct {
	Name   string
	Status Status
	Output string // the test's output, its subtests' included
}

// PackageResult is what one go test -json stream says about a package.
type PackageResult struct {
	Package string
	Status  Status        // pass, fail, build-fail or no-tests; "" when the stream has no end
	Elapsed time.Duration // the package's own elapsed time
	Tests   []TestResult  // top-level tests in the order they started
	Output  string        // the package's output outside any test
}

// Counts are numbers of top-level tests by outcome.
type Counts struct {
	Passed, Failed, Skipped int
}

// Counts counts r's tests; a test that did not finish counts as failed.
func (r PackageResult) Counts() Counts {
	var c Counts
	for _, t := range r.Tests {
		switch t.Status {
		case Pass:
			c.Passed++
		case Skip:
			c.Skipped++
		default:
			c.Failed++
		}
	}
	return c
}

// Test returns the result of the top-level test name and whether it ran.
func (r PackageResult) Test(name string) (TestResult, bool) {
	for _, t := range r.Tests {
		if t.Name == name {
			return t, true
		}
	}
	return TestResult{}, false
}

// topLevel is the top-level test of a (sub)test name.
func topLevel(name string) string {
	top, _, _ := strings.Cut(name, "/")
	return top
}

// Tally folds the events of one package (those of other packages are
// ignored; pkg "" takes the package of the first event that names one)
// into its result: each top-level test's final action and output, and
// the package's own final action.
func Tally(pkg string, evs []Event) PackageResult {
	r := PackageResult{Package: pkg}
	index := map[string]int{}
	var outs []*strings.Builder // each test's output, by index
	var out strings.Builder
	for _, e := range evs {
		if r.Package == "" && e.Package != "" {
			r.Package = e.Package
		}
		if e.Package != "" && e.Package != r.Package {
			continue
		}
		if e.Test == "" {
			switch e.Action {
			case "output", "build-output":
				out.WriteString(e.Output)
			case "pass", "fail", "skip":
				if r.Status != BuildFail {
					r.Status = Status(e.Action)
				}
				if e.FailedBuild != "" {
					r.Status = BuildFail
				}
				r.Elapsed = time.Duration(e.Elapsed * float64(time.Second))
			case "build-fail":
				r.Status = BuildFail
			}
			continue
		}
		top := topLevel(e.Test)
		i, ok := index[top]
		if !ok {
			i = len(r.Tests)
			index[top] = i
			r.Tests = append(r.Tests, TestResult{Name: top, Status: Unfinished})
			outs = append(outs, new(strings.Builder))
		}
		t := &r.Tests[i]
		switch e.Action {
		case "output":
			outs[i].WriteString(e.Output)
		case "pass", "fail", "skip":
			if e.Test == top {
				t.Status = Status(e.Action)
			}
		}
	}
	r.Output = out.String()
	for i, b := range outs {
		r.Tests[i].Output = b.String()
	}
	if r.Status == Skip && len(r.Tests) == 0 {
		r.Status = NoTests
	}
	return r
}

// errorWords marks a line that reports an error rather than a log;
// weakErrorWords one that may (a comparison, a skip).
var (
	errorWords     = regexp.MustCompile(`(?i)err|fail|unexpect|invalid|timed out|timeout|not supported|not implemented|denied|mismatch|no such|refused|in use|not found|missing`)
	weakErrorWords = regexp.MustCompile(`(?i)want|got|expected|skip`)
)

// FirstError is the line of output that best says why a test failed or
// was skipped: the reason of the first (sub)test whose --- FAIL line
// follows messages of its own, else the reason of the whole output.
func FirstError(output string) string {
	var block []string
	for _, line := range strings.Split(output, "\n") {
		l := strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(l, "--- FAIL"):
			if r := reasonIn(strings.Join(block, "\n")); r != "" {
				return r
			}
			block = block[:0]
		case strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- "):
			block = block[:0]
		default:
			block = append(block, line)
		}
	}
	return reasonIn(output)
}

// reasonIn is the line of output that best says why a test failed or
// was skipped: a panic or fatal error, else the first file:line line that
// reads as an error (t.Log and t.Error lines look alike), else the first
// that reads as a comparison or a skip, else the first file:line line, else the first line that is not go test's framing;
// "" when there is none. It is trimmed and at most 160 bytes long.
func reasonIn(output string) string {
	var located, errLine, weakLine, other string
	for _, line := range strings.Split(output, "\n") {
		l := strings.TrimSpace(line)
		if l == "" || isMarker(l) {
			continue
		}
		switch {
		case strings.HasPrefix(l, "panic:") || strings.HasPrefix(l, "fatal error:"):
			return clip(l)
		case fileLine.MatchString(l):
			if located == "" {
				located = l
			}
			if errLine == "" && errorWords.MatchString(l) {
				errLine = l
			}
			if weakLine == "" && weakErrorWords.MatchString(l) {
				weakLine = l
			}
		case other == "":
			other = l
		}
	}
	for _, l := range []string{errLine, weakLine, located, other} {
		if l != "" {
			return clip(l)
		}
	}
	return ""
}

// fileLine matches a test's log line: "name.go:12: ...".
var fileLine = regexp.MustCompile(`^[\w./-]+\.go:\d+(:\d+)?: `)

// isMarker reports whether a line is go test's framing rather than a
// test's message: === and --- lines, PASS, FAIL, "ok PKG", "# PKG".
func isMarker(l string) bool {
	for _, p := range []string{"=== ", "--- ", "ok  ", "FAIL\t", "?   ", "# "} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return l == "PASS" || l == "FAIL"
}

// clip shortens s to at most 160 bytes.
func clip(s string) string {
	if len(s) <= 160 {
		return s
	}
	s = s[:157]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "..."
}
