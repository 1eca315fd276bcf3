package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseTestArgs(t *testing.T) {
	c, err := parseTestArgs([]string{
		"-v", "-run", "TestA|TestB", "-skip=TestC", "-count", "2", "-short", "-timeout", "3m",
		"-bench", ".", "-benchtime=100x", "-cpu", "1,2", "-failfast", "-benchmem=false",
		"-tags", "x,y", "-trimpath", "--gcflags=-N", "-p", "3", "--smp", "2", "-mem=1G",
		"--timeout", "5m", "--qemu", "/bin/q", "--net", "user", "./a", "sort", "--", "-test.v", "arg",
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"-tags", "x,y", "-trimpath", "--gcflags=-N"}, c.buildFlags)
	assert.Equal(t, []string{"./a", "sort"}, c.pkgs)
	assert.Equal(t, []string{
		"-test.paniconexit0", "-test.timeout=3m0s",
		"-test.run=TestA|TestB", "-test.skip=TestC", "-test.count=2", "-test.short=true",
		"-test.bench=.", "-test.benchtime=100x", "-test.cpu=1,2", "-test.failfast=true",
		"-test.benchmem=false", "-test.v=true", "-test.v", "arg",
	}, c.binaryArgs())
	assert.Equal(t, 3, c.parallel)
	assert.Equal(t, bootFlags{smp: 2, mem: "1G", net: "user", timeout: 5 * time.Minute, qemu: "/bin/q"}, c.boot)
	assert.Equal(t, 5*time.Minute, c.qemuTimeout())
	assert.True(t, c.verbose)
	assert.False(t, c.localMode())
}

func TestParseTestArgsJSON(t *testing.T) {
	c, err := parseTestArgs([]string{"-json", "-v", "./x", "-args", "-flag"})
	require.NoError(t, err)
	assert.True(t, c.json)
	assert.Equal(t, []string{"-test.paniconexit0", "-test.timeout=10m0s", "-test.v=test2json", "-flag"}, c.binaryArgs())

	c, err = parseTestArgs([]string{"-c", "-o", "x.img", "-vet=off"})
	require.NoError(t, err)
	assert.True(t, c.compileOnly)
	assert.Equal(t, "x.img", c.out)
	assert.True(t, c.localMode())
	assert.True(t, c.showOutput(), "go test shows the output in local directory mode")
}

func TestQEMUTimeout(t *testing.T) {
	for _, c := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 11 * time.Minute},
		{[]string{"-timeout", "30s"}, 90 * time.Second},
		{[]string{"-timeout=0"}, 10 * time.Minute},
		{[]string{"-timeout=30s", "--timeout=2m"}, 2 * time.Minute},
	} {
		cfg, err := parseTestArgs(c.args)
		require.NoError(t, err)
		assert.Equal(t, c.want, cfg.qemuTimeout(), "%q", c.args)
	}
}

func TestUnsupportedTestFlags(t *testing.T) {
	for _, f := range []string{"-fuzz=X", "-fuzztime=1s", "-exec=x"} {
		_, err := parseTestArgs([]string{f, "./pkg"})
		require.Error(t, err, f)
		assert.Contains(t, err.Error(), "not supported by gometal test", f)
	}
	_, err := parseTestArgs([]string{"-cpuprofile=c.prof", "./a", "./b"})
	assert.EqualError(t, err, "cannot use -cpuprofile flag with multiple packages")
}

// TestProfileFlags: profile flags make the binary write into the guest's
// /tmp, the kernel export those files, and -cover* become build flags.
func TestProfileFlags(t *testing.T) {
	c, err := parseTestArgs([]string{"-coverprofile=c.out", "-covermode", "atomic", "-cpuprofile", "cpu.prof",
		"-memprofilerate=1", "-outputdir", "/o", "./p"})
	require.NoError(t, err)
	assert.Equal(t, []string{"-cover", "-covermode=atomic"}, c.cover)
	assert.Equal(t, []string{"-test.paniconexit0", "-test.timeout=10m0s", "-test.memprofilerate=1",
		"-test.coverprofile=/tmp/gometal-coverprofile.out", "-test.cpuprofile=/tmp/gometal-cpuprofile.out"}, c.binaryArgs())
	assert.Equal(t, []string{"export=/tmp/gometal-coverprofile.out", "export=/tmp/gometal-cpuprofile.out"}, c.prof.kernelOptions())
	assert.Equal(t, "/o/cpu.prof", c.prof.hostPath("cpuprofile", "cpu.prof"))
	assert.Equal(t, "c.out", c.prof.hostPath("coverprofile", "c.out"), "coverage is relative to the current directory")

	c, err = parseTestArgs([]string{"-covermode=count", "./p"})
	require.NoError(t, err)
	assert.Equal(t, []string{"-covermode=count", "-cover"}, c.cover, "-covermode implies -cover")
}

// TestWriteCover merges coverage profiles as go test does: one mode line.
func TestWriteCover(t *testing.T) {
	out := filepath.Join(t.TempDir(), "c.out")
	p := profiles{want: map[string]string{"coverprofile": out}, cover: map[string][]byte{
		"b": []byte("mode: set\nb.go:1.1,2.2 1 1\n"),
		"a": []byte("mode: set\na.go:1.1,2.2 1 0\na.go:3.1,4.2 1 1\n"),
	}}
	require.NoError(t, p.writeCover([]string{"a", "b", "c"}))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, "mode: set\na.go:1.1,2.2 1 0\na.go:3.1,4.2 1 1\nb.go:1.1,2.2 1 1\n", string(b))
}

func TestCoverageNote(t *testing.T) {
	assert.Equal(t, "\tcoverage: 42.9% of statements", coverageNote([]byte("PASS\ncoverage: 42.9% of statements\n")))
	assert.Equal(t, "", coverageNote([]byte("PASS\n")))
	assert.Equal(t, "ok  \tp\t1.000s\tcoverage: 5.0% of statements\n", summary("p", true, time.Second, []byte("coverage: 5.0% of statements\nPASS\n")))
}

func TestSummary(t *testing.T) {
	const pkg = "example.com/p"
	assert.Equal(t, "ok  \texample.com/p\t1.234s\n", summary(pkg, true, 1234*time.Millisecond, []byte("PASS\n")))
	assert.Equal(t, "FAIL\texample.com/p\t0.500s\n", summary(pkg, false, 500*time.Millisecond, []byte("FAIL\n")))
	assert.Equal(t, "\nFAIL\texample.com/p\t0.000s\n", summary(pkg, false, 0, []byte("partial")))
	assert.Equal(t, "ok  \texample.com/p\t0.000s [no tests to run]\n",
		summary(pkg, true, 0, []byte("testing: warning: no tests to run\nPASS\n")))
	assert.Equal(t, "?   \texample.com/p\t[no test files]\n", noTestFiles(pkg))
	assert.Equal(t, "FAIL\texample.com/p [build failed]\n", buildFailed(pkg))
	assert.Equal(t, "FAIL\texample.com/p [setup failed]\n", setupFailed(pkg))
}

func TestOrdered(t *testing.T) {
	var out, errOut bytes.Buffer
	o := newOrdered(stdio{out: &out, errOut: &errOut}, 3)
	fmt.Fprint(o.secs[2].stdout(), "c\n")
	fmt.Fprint(o.secs[1].stderr(), "b-err\n")
	fmt.Fprint(o.secs[0].stdout(), "a\n")
	assert.Equal(t, "a\n", out.String(), "the first section writes through")
	o.secs[2].finish()
	assert.Equal(t, "a\n", out.String(), "a later section waits")
	o.secs[0].finish()
	assert.Equal(t, "b-err\n", errOut.String())
	fmt.Fprint(o.secs[1].stdout(), "b\n")
	assert.Equal(t, "a\nb\n", out.String())
	o.secs[1].finish()
	assert.Equal(t, "a\nb\nc\n", out.String())
}

func TestProgStream(t *testing.T) {
	var w bytes.Buffer
	s := &progStream{w: &w}
	fmt.Fprint(s, "[gometal] booting\r\n=== RUN")
	assert.Empty(t, w.String(), "a partial line waits")
	fmt.Fprint(s, "   TestA\n[gometal] cpu 1 up\r\n--- PASS")
	assert.Equal(t, "=== RUN   TestA\n", w.String())
	s.Close()
	assert.Equal(t, "=== RUN   TestA\n--- PASS", w.String())
}

func TestConsoleTail(t *testing.T) {
	assert.Equal(t, "b\nc\n", consoleTail([]byte("a\r\nb\r\nc\r\n"), 2))
	assert.Equal(t, "(console empty)\n", consoleTail(nil, 2))
}

// decodeEvents decodes JSON lines into maps.
func decodeEvents(t *testing.T, b []byte) []map[string]any {
	t.Helper()
	var events []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		events = append(events, e)
	}
	return events
}

func TestPackageEvents(t *testing.T) {
	var b bytes.Buffer
	writeEvents(&b, packageEvents("p", noTestFiles("p"), "skip", "")...)
	events := decodeEvents(t, b.Bytes())
	require.Len(t, events, 3)
	assert.Equal(t, "start", events[0]["Action"])
	assert.Equal(t, "?   \tp\t[no test files]\n", events[1]["Output"])
	assert.Equal(t, "skip", events[2]["Action"])
	assert.Equal(t, 0.0, events[2]["Elapsed"])
	assert.Contains(t, b.String(), `{"Time":"`, "Time comes first, as in test2json")

	b.Reset()
	writeEvents(&b, buildEvents("p [p.test]", "# p\nx.go:1: bad\n")...)
	assert.Equal(t, `{"ImportPath":"p [p.test]","Action":"build-output","Output":"# p\n"}`+"\n"+
		`{"ImportPath":"p [p.test]","Action":"build-output","Output":"x.go:1: bad\n"}`+"\n"+
		`{"ImportPath":"p [p.test]","Action":"build-fail"}`+"\n", b.String())
}

func TestTest2JSON(t *testing.T) {
	var b bytes.Buffer
	conv, err := startTest2JSON(context.Background(), "example.com/p", &b)
	require.NoError(t, err)
	fmt.Fprint(conv, "=== RUN   TestA\n--- PASS: TestA (0.00s)\nPASS\n")
	fmt.Fprint(conv, summary("example.com/p", true, time.Second, []byte("PASS\n")))
	require.NoError(t, conv.Close())
	events := decodeEvents(t, b.Bytes())
	var actions []string
	for _, e := range events {
		actions = append(actions, e["Action"].(string))
		assert.Equal(t, "example.com/p", e["Package"])
		assert.NotEmpty(t, e["Time"], "-t: events carry times")
	}
	assert.Equal(t, []string{"start", "run", "output", "output", "pass", "output", "output", "pass"}, actions)
	assert.Equal(t, "ok  \texample.com/p\t1.000s\n", events[6]["Output"])
}

func TestBuildMessage(t *testing.T) {
	err := fmt.Errorf("build p: go test -c p: exit status 1\n# p [p.test]\np.go:1: bad")
	assert.Equal(t, "# p [p.test]\np.go:1: bad\n", buildMessage(err))
	assert.Equal(t, "build p: no go.mod\n", buildMessage(fmt.Errorf("build p: no go.mod")))
}

// TestGotestJSONNotRun compares -json for packages that do not run (no
// test files, a setup failure) with the host's go test -json.
func TestGotestJSONNotRun(t *testing.T) {
	pkgs := []string{"./testdata/gotest/notests", "./testdata/gotest/nosuchpkg"}
	code, out, errOut := call(t, "", append([]string{"test", "-json"}, pkgs...)...)
	assert.Equal(t, exitFailure, code, errOut)
	host, err := exec.Command("go", append([]string{"test", "-json"}, pkgs...)...).Output()
	require.Error(t, err)
	assert.Equal(t, comparableEvents(t, host), comparableEvents(t, []byte(out)))
}

// TestNearbyFiles: the testdata directories up to the module's root and
// the parent's files come along; nothing above a module's root does.
func TestNearbyFiles(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"m/testdata", "m/a/testdata", "m/a/b/c", "testdata"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	for _, f := range []string{"m/go.mod", "m/a/b/parent.go", "m/a/b/other.txt"} {
		require.NoError(t, os.WriteFile(filepath.Join(root, f), nil, 0o644))
	}
	spec := func(p string) string { p = filepath.Join(root, p); return p + ":" + p }
	assert.ElementsMatch(t, []string{spec("m/a/testdata"), spec("m/testdata"), spec("m/a/b/parent.go"), spec("m/a/b/other.txt")},
		nearbyFiles(filepath.Join(root, "m/a/b/c")))
	assert.Empty(t, nearbyFiles(filepath.Join(root, "m")), "a module's root")
}

// TestTestSMPDefault: without --smp a test guest gets the host's CPUs,
// at least 2 (go test's GOMAXPROCS is the host's CPU count); --smp
// overrides it, and a count the kernel cannot bring up is a usage error.
func TestTestSMPDefault(t *testing.T) {
	c, err := parseTestArgs([]string{"./x"})
	require.NoError(t, err)
	assert.Equal(t, min(max(runtime.NumCPU(), 2), 64), c.boot.smp)
	assert.GreaterOrEqual(t, c.boot.smp, 2)

	c, err = parseTestArgs([]string{"--smp", "1", "./x"})
	require.NoError(t, err)
	assert.Equal(t, 1, c.boot.smp)

	for _, bad := range []string{"0", "-1", "65"} {
		_, err := parseTestArgs([]string{"--smp", bad, "./x"})
		assert.EqualError(t, err, "--smp "+bad+": want 1 to 64", bad)
	}
}
