package stdtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gometal/gometal/tools/conformance"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The testdata streams were captured for real: sample_* from go test -json
// and gometal test -json on testdata/sample_test.go.txt in a module of its
// own (sample_buildfail_host.json from an earlier version whose example
// failed vet), container_list_* from the host's go test -json -short
// container/list and from gometal test -json -short container/list.

// load parses a testdata stream.
func load(t *testing.T, name string) []Event {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	require.NoError(t, err)
	defer f.Close()
	evs, err := ParseEvents(f)
	require.NoError(t, err)
	return evs
}

// statuses maps a result's top-level tests to their outcomes.
func statuses(r PackageResult) map[string]Status {
	m := map[string]Status{}
	for _, t := range r.Tests {
		m[t.Name] = t.Status
	}
	return m
}

// TestParseEventsKeepsNonJSONLines checks that lines that are not events become output of no test.
func TestParseEventsKeepsNonJSONLines(t *testing.T) {
	in := `{"Action":"run","Package":"p","Test":"TestA"}
not json at all

{"Action":"pass","Package":"p","Test":"TestA","Elapsed":0.5}
{"broken":
`
	evs, err := ParseEvents(strings.NewReader(in))
	require.NoError(t, err)
	require.Len(t, evs, 4)
	assert.Equal(t, Event{Action: "run", Package: "p", Test: "TestA"}, evs[0])
	assert.Equal(t, Event{Action: "output", Output: "not json at all\n"}, evs[1])
	assert.Equal(t, 0.5, evs[2].Elapsed)
	assert.Equal(t, "output", evs[3].Action)
}

// TestTallyHostSample folds the host's sample stream: outcomes, counts, subtest output.
func TestTallyHostSample(t *testing.T) {
	r := Tally("", load(t, "sample_host.json"))
	assert.Equal(t, "example.com/sample", r.Package)
	assert.Equal(t, Fail, r.Status)
	assert.Equal(t, []string{"TestPass", "TestFail", "TestSkip", "TestSubFail", "TestSpawn", "Example"}, names(r))
	assert.Equal(t, map[string]Status{
		"TestPass": Pass, "TestFail": Fail, "TestSkip": Skip, "TestSubFail": Fail, "TestSpawn": Pass, "Example": Pass,
	}, statuses(r))
	assert.Equal(t, Counts{Passed: 3, Failed: 2, Skipped: 1}, r.Counts())
	fail, ok := r.Test("TestFail")
	require.True(t, ok)
	assert.Contains(t, fail.Output, "got 1, want 2")
	sub, _ := r.Test("TestSubFail")
	assert.Contains(t, sub.Output, "bad subtest", "a subtest's output belongs to its top-level test")
}

// TestTallyGuestSample folds the guest's sample stream, where TestSpawn fails on fork/exec.
func TestTallyGuestSample(t *testing.T) {
	r := Tally("example.com/sample", load(t, "sample_guest.json"))
	assert.Equal(t, Fail, r.Status)
	assert.Equal(t, Counts{Passed: 2, Failed: 3, Skipped: 1}, r.Counts())
	spawn, _ := r.Test("TestSpawn")
	assert.Equal(t, Fail, spawn.Status)
	assert.Equal(t, ReasonSpawn, DetectSpawn(spawn.Output))
}

// TestTallyBuildFail checks that a test binary that did not build makes a build-fail package.
func TestTallyBuildFail(t *testing.T) {
	r := Tally("example.com/sample", load(t, "sample_buildfail_host.json"))
	assert.Equal(t, BuildFail, r.Status)
	assert.Empty(t, r.Tests)
	assert.Contains(t, r.Output, "ExampleHello refers to unknown identifier")
}

// TestTallyIgnoresOtherPackages checks that events of another package are left out.
func TestTallyIgnoresOtherPackages(t *testing.T) {
	evs := []Event{
		{Action: "run", Package: "a", Test: "TestA"},
		{Action: "run", Package: "b", Test: "TestB"},
		{Action: "pass", Package: "a", Test: "TestA"},
		{Action: "fail", Package: "b", Test: "TestB"},
		{Action: "pass", Package: "a"},
	}
	r := Tally("a", evs)
	assert.Equal(t, []string{"TestA"}, names(r))
	assert.Equal(t, Pass, r.Status)
}

// TestTallyUnfinished checks a stream that stops in a test: the test did not finish and counts as failed.
func TestTallyUnfinished(t *testing.T) {
	evs := []Event{
		{Action: "run", Package: "p", Test: "TestA"},
		{Action: "pass", Package: "p", Test: "TestA"},
		{Action: "run", Package: "p", Test: "TestB"},
		{Action: "output", Package: "p", Test: "TestB", Output: "panic: test timed out after 5m0s\n"},
	}
	r := Tally("p", evs)
	assert.Equal(t, Status(""), r.Status, "the stream has no end")
	assert.Equal(t, Counts{Passed: 1, Failed: 1}, r.Counts(), "a test that did not finish counts as failed")
	b, _ := r.Test("TestB")
	assert.Equal(t, Unfinished, b.Status)
}

// TestTallyNoTests checks a package without test files.
func TestTallyNoTests(t *testing.T) {
	r := Tally("p", []Event{{Action: "output", Package: "p", Output: "?   \tp\t[no test files]\n"}, {Action: "skip", Package: "p"}})
	assert.Equal(t, NoTests, r.Status)
}

// TestContainerListBothSides compares the real container/list streams: every test passes on both sides.
func TestContainerListBothSides(t *testing.T) {
	host := Tally("container/list", load(t, "container_list_host.json"))
	guest := Tally("container/list", load(t, "container_list_guest.json"))
	assert.Equal(t, Pass, host.Status)
	assert.Equal(t, Pass, guest.Status)
	assert.Equal(t, Counts{Passed: 11}, host.Counts())
	row := Compare(host, guest, nil)
	assert.Equal(t, Counts{Passed: 11}, row.GuestCounts)
	assert.Empty(t, row.Missing)
	assert.Empty(t, row.Failures)
	assert.Empty(t, row.Excluded)
}

// TestCompareSample compares the sample streams: a detected spawn is excluded, failures keep their reasons.
func TestCompareSample(t *testing.T) {
	host := Tally("", load(t, "sample_host.json"))
	guest := Tally("", load(t, "sample_guest.json"))
	row := Compare(host, guest, nil)
	assert.Equal(t, "example.com/sample", row.Package)
	assert.Equal(t, Counts{Passed: 3, Failed: 2, Skipped: 1}, row.HostCounts)
	// TestSpawn is excluded (detected): neither a pass nor a failure.
	assert.Equal(t, Counts{Passed: 2, Failed: 2, Skipped: 1}, row.GuestCounts)
	require.Len(t, row.Excluded, 1)
	assert.Equal(t, ExcludedTest{Name: "TestSpawn", Reason: ReasonSpawn, Detected: true, Guest: Fail}, row.Excluded[0])
	assert.Empty(t, row.Missing, "every host pass but the excluded one passes")
	require.Len(t, row.Failures, 2)
	assert.Equal(t, "TestFail", row.Failures[0].Name)
	assert.Equal(t, "sample_test.go:16: got 1, want 2", row.Failures[0].Reason)
	assert.Equal(t, "TestSubFail", row.Failures[1].Name)
	assert.Equal(t, "sample_test.go:25: bad subtest", row.Failures[1].Reason)
}

// TestCompareTableExclusionAndMissing checks table exclusions and every kind of missing test.
func TestCompareTableExclusionAndMissing(t *testing.T) {
	host := PackageResult{Package: "p", Status: Pass, Tests: []TestResult{
		{Name: "TestA", Status: Pass}, {Name: "TestExec", Status: Pass}, {Name: "TestB", Status: Pass},
		{Name: "TestC", Status: Pass}, {Name: "TestD", Status: Pass}, {Name: "TestE", Status: Skip},
	}}
	guest := PackageResult{Package: "p", Status: Fail, Tests: []TestResult{
		{Name: "TestA", Status: Pass},
		{Name: "TestExec", Status: Pass},
		{Name: "TestB", Status: Skip, Output: "    x_test.go:9: skipping: no unix sockets\n"},
		{Name: "TestC", Status: Unfinished, Output: "=== RUN   TestC\npanic: boom\n"},
	}, Output: "FAIL\tp\t1.0s\n"}
	table := []Exclusion{{Package: "p", Test: "TestEx.*", Reason: ReasonSpawn}, {Package: "q", Test: "TestA", Reason: "other"}}
	row := Compare(host, guest, table)
	assert.Equal(t, []ExcludedTest{{Name: "TestExec", Reason: ReasonSpawn, Guest: Pass}}, row.Excluded,
		"an excluded test is not a pass even when it passes")
	assert.Equal(t, Counts{Passed: 1, Failed: 1, Skipped: 1}, row.GuestCounts)
	assert.Equal(t, []Missing{
		{Name: "TestB", Guest: Skip, Reason: "x_test.go:9: skipping: no unix sockets"},
		{Name: "TestC", Guest: Unfinished, Reason: "did not finish: panic: boom"},
		{Name: "TestD", Reason: "did not run: the test binary stopped in TestC"},
	}, row.Missing)
	assert.Equal(t, []Missing{{Name: "TestC", Guest: Unfinished, Reason: "did not finish: panic: boom"}}, row.Failures)
}

// TestCompareNotRunReasons checks the reason given for a host pass that never ran in the guest.
func TestCompareNotRunReasons(t *testing.T) {
	host := PackageResult{Package: "p", Status: Pass, Tests: []TestResult{{Name: "TestCgo", Status: Pass}}}
	for _, c := range []struct {
		guest PackageResult
		want  string
	}{
		{PackageResult{Status: Pass, Output: "PASS\nok  \tp\t0.1s\n"}, "did not run: not in the guest's test binary"},
		{PackageResult{Status: Fail, Output: "panic: cannot load zone\n"}, "did not run: panic: cannot load zone"},
		{PackageResult{Status: BuildFail, Output: "# p\nx.go:1:2: undefined: y\n"}, "build failed: x.go:1:2: undefined: y"},
		{PackageResult{Output: "gometal: QEMU timed out after 6m0s\n"}, "package did not finish: gometal: QEMU timed out after 6m0s"},
	} {
		c.guest.Package = "p"
		row := Compare(host, c.guest, nil)
		require.Len(t, row.Missing, 1)
		assert.Equal(t, c.want, row.Missing[0].Reason)
	}
}

// TestExclusionMatching checks that exclusion patterns are anchored and per package.
func TestExclusionMatching(t *testing.T) {
	e := Exclusion{Package: "os", Test: "TestExec|TestStartProcess.*"}
	assert.True(t, e.Matches("os", "TestExec"))
	assert.True(t, e.Matches("os", "TestStartProcessAttr"))
	assert.False(t, e.Matches("os", "TestExecutable"), "the pattern is anchored")
	assert.False(t, e.Matches("os/exec", "TestExec"), "the package must be equal")
	assert.False(t, Exclusion{Package: "os", Test: "("}.Matches("os", "("), "a bad pattern matches nothing")
	assert.Equal(t, "r2", Excluded([]Exclusion{{"a", "TestX", "r1"}, {"b", "TestX", "r2"}}, "b", "TestX"))
	assert.Equal(t, "", Excluded(nil, "b", "TestX"))
}

// TestExclusionTableIsValid checks that the exclusion table names listed packages and gives reasons.
func TestExclusionTableIsValid(t *testing.T) {
	for _, e := range Exclusions {
		assert.Contains(t, Packages, e.Package, "%+v", e)
		assert.NotEmpty(t, e.Reason, "%+v", e)
		assert.NotPanics(t, func() { e.Matches(e.Package, "TestX") })
	}
}

// TestPackagesList checks that the list has 50 or more distinct packages covering every area.
func TestPackagesList(t *testing.T) {
	assert.GreaterOrEqual(t, len(Packages), 50)
	seen := map[string]bool{}
	for _, p := range Packages {
		assert.False(t, seen[p], "%s twice", p)
		seen[p] = true
	}
	for _, area := range []string{"archive/", "compress/", "crypto/", "encoding/", "io", "os", "path", "net", "net/http", "text/", "time", "sync"} {
		found := false
		for _, p := range Packages {
			found = found || p == area || strings.HasPrefix(p, area)
		}
		assert.True(t, found, "no package of %s", area)
	}
}

// TestDetectSpawn checks the output patterns that mark a test that starts another program.
func TestDetectSpawn(t *testing.T) {
	assert.Equal(t, ReasonSpawn, DetectSpawn("    x_test.go:1: fork/exec /init: invalid argument\n"))
	assert.Equal(t, ReasonSpawn, DetectSpawn(`    executable_test.go:61: exec(self) failed: exec: "init": executable file not found in $PATH`))
	assert.Equal(t, ReasonGoCommand, DetectSpawn(`    x_test.go:17: skipping test: 'go build' unavailable: exec: "go": executable file not found in $PATH`))
	assert.Equal(t, "", DetectSpawn("    x_test.go:1: got 1, want 2\n"))
}

// TestFirstError checks which line of a test's output becomes its one-line reason.
func TestFirstError(t *testing.T) {
	assert.Equal(t, "x_test.go:3: bad", FirstError("=== RUN   TestA\nsome log\n    x_test.go:3: bad\n--- FAIL: TestA (0.00s)\n"))
	assert.Equal(t, "panic: boom [recovered]", FirstError("=== RUN   TestA\npanic: boom [recovered]\n\tpanic: boom\n"))
	assert.Equal(t, "some log", FirstError("=== RUN   TestA\nsome log\n--- FAIL: TestA (0.00s)\n"))
	assert.Equal(t, "", FirstError("=== RUN   TestA\n--- FAIL: TestA (0.00s)\n"))
	assert.Equal(t, "m.go:77: listen unix: not supported", FirstError("=== RUN   T\n=== RUN   T/tcp6\n    d.go:1: skipping: tcp6 not available\n"+
		"--- SKIP: T/tcp6 (0.00s)\n=== RUN   T/unix\n    m.go:77: listen unix: not supported\n--- FAIL: T/unix (0.00s)\n--- FAIL: T (0.00s)\n"),
		"the message of the first failed subtest, not a skipped one's")
	assert.Equal(t, "s.go:2021: On try #1: listen tcp 127.0.0.1:1: bind: address already in use",
		FirstError("    s.go:2008: Got 127.0.0.1:1\n    s.go:2021: On try #1: listen tcp 127.0.0.1:1: bind: address already in use\n--- FAIL: T (0.1s)\n"),
		"an error before a comparison")
	assert.Equal(t, "s.go:298: Got 0 bytes; want 10240", FirstError("    s.go:1: listening\n    s.go:298: Got 0 bytes; want 10240\n"))
	long := FirstError(strings.Repeat("é", 200))
	assert.LessOrEqual(t, len(long), 160)
	assert.True(t, strings.HasSuffix(long, "..."))
	assert.NotContains(t, long, "\uFFFD", "no rune is cut in half")
}

// TestSelect checks package selection and sharding.
func TestSelect(t *testing.T) {
	list := []string{"a", "b", "c", "d", "e"}
	all, err := Select(list, nil, conformance.Shard{K: 1, N: 1})
	require.NoError(t, err)
	assert.Equal(t, list, all)
	var union []string
	for k := 1; k <= 2; k++ {
		part, err := Select(list, nil, conformance.Shard{K: k, N: 2})
		require.NoError(t, err)
		union = append(union, part...)
	}
	assert.ElementsMatch(t, list, union)
	some, err := Select(list, []string{"d", "b"}, conformance.Shard{K: 2, N: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"d"}, some, "the list's order; the shard of the selection")
	_, err = Select(list, []string{"x"}, conformance.Shard{K: 1, N: 1})
	assert.ErrorContains(t, err, "package x is not in the list")
}

// TestWriteSection checks the Markdown report: header, rows, lists and escaping.
func TestWriteSection(t *testing.T) {
	host := Tally("", load(t, "sample_host.json"))
	guest := Tally("", load(t, "sample_guest.json"))
	rows := []Row{Compare(host, guest, nil), Compare(
		PackageResult{Package: "q", Status: Pass, Tests: []TestResult{{Name: "TestQ", Status: Pass}}},
		PackageResult{Package: "q", Status: Fail, Tests: []TestResult{{Name: "TestQ", Status: Fail, Output: "    q_test.go:1: a|b\n"}}},
		nil)}
	var b strings.Builder
	require.NoError(t, WriteSection(&b, rows, Env{
		Date: time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC), Elapsed: 90 * time.Second, GoVersion: "go1.26", QEMU: "10.0",
		Command: "make stdtest", Host: "go test -json PKG", Guest: "gometal test -json PKG", Partial: "packages q",
	}))
	s := b.String()
	assert.True(t, strings.HasPrefix(s, BeginMarker+"\n"))
	assert.True(t, strings.HasSuffix(s, EndMarker+"\n"))
	assert.Contains(t, s, "**Partial run: packages q.**")
	assert.Contains(t, s, "- date: 2026-12-02 20:00 UTC\n")
	assert.Contains(t, s, "- took: 1m30s\n")
	assert.NotContains(t, s, "captured earlier")
	assert.Contains(t, s, "| example.com/sample | 3 | 2 | 1 | fail | 2 | 2 | 1 | 1 | 0 |\n")
	assert.Contains(t, s, "| q | 1 | 0 | 0 | fail | 0 | 1 | 0 | 0 | 1 |\n")
	assert.Contains(t, s, "### Missing in the guest (1)")
	assert.Contains(t, s, "| q | TestQ | fail | q_test.go:1: a\\|b |\n")
	assert.Contains(t, s, "### Guest failures (3)")
	assert.Contains(t, s, "| example.com/sample | TestFail | fail | sample_test.go:16: got 1, want 2 |\n")
	assert.Contains(t, s, "### Excluded (1)")
	assert.Contains(t, s, "| example.com/sample | TestSpawn | fail | detected | "+ReasonSpawn+" |\n")
	assert.Contains(t, s, "- tests: host 4 passed, 2 failed, 1 skipped; guest 2 passed, 3 failed, 1 skipped; 1 excluded, 1 missing\n")
	assert.Contains(t, s, "- host: `go test -json PKG`\n")
	assert.Contains(t, s, "- guest: `gometal test -json PKG`\n")
}

// TestGroupNotRun checks that runs of tests that never ran for one reason become one row.
func TestGroupNotRun(t *testing.T) {
	ms := []Missing{
		{Name: "A", Guest: Fail, Reason: "x"},
		{Name: "B", Reason: "did not run: panic"}, {Name: "C", Reason: "did not run: panic"}, {Name: "D", Reason: "did not run: panic"},
		{Name: "E", Reason: "other"}, {Name: "F", Reason: "other"},
	}
	assert.Equal(t, []Missing{
		{Name: "A", Guest: Fail, Reason: "x"},
		{Name: "3 tests, B ... D", Reason: "did not run: panic"},
		{Name: "E", Reason: "other"}, {Name: "F", Reason: "other"},
	}, groupNotRun(ms))
}

// TestCell checks the escaping of table cells.
func TestCell(t *testing.T) {
	assert.Equal(t, `a\|b 'c' \x00x`, cell("a|b\n`c` \x00x"))
	assert.Equal(t, `@a\x00×90: e`, cell("@a"+strings.Repeat("\x00", 90)+": e"))
}

// TestSpliceAndSection checks that the section replaces its old self, or is appended, and is found again.
func TestSpliceAndSection(t *testing.T) {
	sec := BeginMarker + "\nnew\n" + EndMarker + "\n"
	assert.Equal(t, "# Doc\n\n"+sec, Splice("# Doc\n", sec))
	assert.Equal(t, sec, Splice("", sec))
	doc := "# Doc\n\n" + BeginMarker + "\nold\n" + EndMarker + "\n\n## After\n"
	got := Splice(doc, sec)
	assert.Equal(t, "# Doc\n\n"+sec+"\n## After\n", got)
	assert.Equal(t, sec, Section(got))
	assert.Equal(t, "", Section("# Doc\n"))
}

// names lists a result's top-level tests in order.
func names(r PackageResult) []string {
	var out []string
	for _, t := range r.Tests {
		out = append(out, t.Name)
	}
	return out
}
