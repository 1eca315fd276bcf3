package trapcheck

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The programs in testdata/trapmod each have a function main.trapEntry
// that stands in for a kernel trap entry.

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// testBinary builds the testdata programs once and returns the path of one.
func testBinary(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "trapcheck-test-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/", "./...")
		cmd.Dir = filepath.Join("testdata", "trapmod")
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &exec.ExitError{Stderr: out}
		}
	})
	require.NoError(t, buildErr, "building testdata/trapmod")
	trackSources(t, filepath.Join("testdata", "trapmod"))
	return filepath.Join(binDir, name)
}

// trackSources reads every file under dir, so that go test's result cache
// sees changes to sources that only a child go command compiles.
func trackSources(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		_, err = os.ReadFile(path)
		return err
	})
	require.NoError(t, err)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// synthetic is the configuration for the testdata programs: one root and
// the kernel's stack bound.
func synthetic() Config {
	return Config{
		Roots:      []Root{{Name: "main.trapEntry"}},
		StackLimit: KernelStack - KernelGuard,
	}
}

func checkProgram(t *testing.T, name string, cfg Config) *Report {
	t.Helper()
	r, err := CheckFile(testBinary(t, name), cfg)
	require.NoError(t, err)
	var out bytes.Buffer
	_, err = r.WriteTo(&out)
	require.NoError(t, err)
	t.Logf("%s:\n%s", name, out.String())
	return r
}

// kinds returns the kinds of r's violations.
func kinds(r *Report) []string {
	var out []string
	for _, v := range r.Violations {
		out = append(out, v.Kind)
	}
	return out
}

func TestArithmeticPasses(t *testing.T) {
	r := checkProgram(t, "arith", synthetic())
	assert.True(t, r.OK(), "violations: %v", r.Violations)
	assert.Equal(t, []string{"main.trapEntry"}, r.Roots)
	assert.Subset(t, r.Functions, []string{"main.trapEntry", "main.helper", "double", "main.batched.func1", "main.weigh"},
		"indirect calls of closures resolved")
	assert.Positive(t, r.MaxDepth)
	assert.Less(t, r.MaxDepth, int64(1024))
	require.NotEmpty(t, r.Deepest)
	assert.Equal(t, "main.trapEntry", r.Deepest[0].Func)
}

func TestAllocationFails(t *testing.T) {
	r := checkProgram(t, "alloc", synthetic())
	require.Equal(t, []string{"allocation"}, kinds(r))
	chain := r.Violations[0].Chain
	assert.Equal(t, []string{"main.trapEntry", "main.count", "runtime.makeslice"}, funcs(chain))
	assert.NotZero(t, chain[1].PC, "the call site in count")
	assert.Contains(t, chain[1].Pos, "main.go:", "the call site's source line")
	assert.Contains(t, r.Checks, "main.count", "the index check is counted, not failed")
}

func TestWriteBarrierFails(t *testing.T) {
	r := checkProgram(t, "wb", synthetic())
	require.Equal(t, []string{"write barrier"}, kinds(r))
	assert.Equal(t, "main.trapEntry", r.Violations[0].Chain[0].Func)
	assert.Contains(t, r.Violations[0].Chain[1].Func, "runtime.gcWriteBarrier")
}

func TestPanicFails(t *testing.T) {
	r := checkProgram(t, "panics", synthetic())
	require.Equal(t, []string{"panic"}, kinds(r))
	assert.Equal(t, []string{"main.trapEntry", "runtime.gopanic"}, funcs(r.Violations[0].Chain))
}

func TestRecursionFails(t *testing.T) {
	r := checkProgram(t, "recurse", synthetic())
	require.Equal(t, []string{"recursion"}, kinds(r))
	chain := funcs(r.Violations[0].Chain)
	assert.Equal(t, "main.trapEntry", chain[0])
	assert.Subset(t, chain, []string{"main.even", "main.odd"})
	assert.Equal(t, chain[1], chain[len(chain)-1], "the chain ends where the cycle starts")
}

func TestDeepStackFails(t *testing.T) {
	r := checkProgram(t, "deep", synthetic())
	require.Equal(t, []string{"stack depth"}, kinds(r))
	assert.Greater(t, r.MaxDepth, int64(70<<10))
	assert.Equal(t, []string{"main.trapEntry", "main.middle", "main.fill"}, funcs(r.Deepest))

	cfg := synthetic()
	cfg.StackLimit = 0
	assert.True(t, checkProgram(t, "deep", cfg).OK(), "no limit, no violation")
}

func TestIndirectCall(t *testing.T) {
	r := checkProgram(t, "indirect", synthetic())
	require.Equal(t, []string{"indirect call"}, kinds(r))
	assert.Contains(t, r.Violations[0].Detail, "main.trapEntry")

	cfg := synthetic()
	cfg.Indirect = []IndirectRule{{Caller: "main.trapEntry", Targets: []string{"main.init.func*"}, Reason: "the hook"}}
	r = checkProgram(t, "indirect", cfg)
	assert.True(t, r.OK(), "violations: %v", r.Violations)
	assert.GreaterOrEqual(t, r.Reachable, 2, "the hook is checked too")
}

// TestTableDispatch checks a call through a table of function values:
// without a rule it is an unresolved indirect call; with a Table rule
// every handler in the table is checked, and the one that allocates is
// reported with the chain through the table.
func TestTableDispatch(t *testing.T) {
	r := checkProgram(t, "table", synthetic())
	require.Equal(t, []string{"indirect call"}, kinds(r))

	cfg := synthetic()
	cfg.Indirect = []IndirectRule{{Caller: "main.trapEntry", Table: "main.table", Reason: "the handlers"}}
	r = checkProgram(t, "table", cfg)
	require.Equal(t, []string{"allocation"}, kinds(r))
	assert.Equal(t, []string{"main.trapEntry", "main.grow"}, funcs(r.Violations[0].Chain)[:2])
	assert.Subset(t, r.Functions, []string{"main.add", "main.double", "main.grow"}, "every handler is checked")

	cfg.Indirect[0].Table = "main.nosuch"
	r = checkProgram(t, "table", cfg)
	require.Equal(t, []string{"indirect call"}, kinds(r))
	assert.Contains(t, r.Violations[0].Detail, "main.nosuch")
}

func TestMissingRoot(t *testing.T) {
	_, err := CheckFile(testBinary(t, "arith"), Config{Roots: []Root{{Name: "main.nosuch"}}})
	assert.ErrorContains(t, err, "main.nosuch")
	cfg := Config{Roots: []Root{{Name: "main.nosuch", Optional: true}, {Name: "main.trapEntry"}}}
	r, err := CheckFile(testBinary(t, "arith"), cfg)
	require.NoError(t, err)
	assert.True(t, r.OK())

	_, err = CheckFile(filepath.Join("testdata", "trapmod", "go.mod"), synthetic())
	assert.Error(t, err, "not an ELF")
}

func TestClassify(t *testing.T) {
	for name, want := range map[string]Kind{
		"runtime.mallocgc":             Alloc,
		"runtime.newobject":            Alloc,
		"runtime.convTstring":          Alloc,
		"runtime.slicebytetostring":    Alloc,
		"runtime.slicebytetostringtmp": Follow,
		"runtime.gcWriteBarrier2":      WriteBarrier,
		"runtime.typedmemmove":         WriteBarrier,
		"runtime.gopanic":              Panic,
		"runtime.throw":                Panic,
		"runtime.panicBounds":          CheckFailure,
		"runtime.goPanicIndex":         CheckFailure,
		"runtime.panicdivide":          CheckFailure,
		"runtime.morestack_noctxt":     StackGrowth,
		"runtime.morestack.abi0":       StackGrowth,
		"runtime.memmove":              Follow,
		"main.trapEntry":               Follow,
	} {
		assert.Equal(t, want, Classify(name), name)
	}
}

// funcs returns the function names of a chain.
func funcs(chain []Link) []string {
	out := make([]string, len(chain))
	for i, l := range chain {
		out[i] = l.Func
	}
	return out
}
