package conformance

import (
	"errors"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDriverDirs(t *testing.T) {
	dirs, err := DriverDirs(filepath.Join("testdata", "goroot"))
	require.NoError(t, err)
	assert.Equal(t, []string{".", "chan", "fixedbugs"}, dirs)

	_, err = DriverDirs(t.TempDir())
	assert.ErrorContains(t, err, "test driver's directories")
}

func TestDriverDirsOfTheGoTree(t *testing.T) {
	dirs, err := DriverDirs(runtime.GOROOT())
	require.NoError(t, err)
	assert.Contains(t, dirs, "fixedbugs")
	assert.Contains(t, dirs, "typeparam")
	assert.Contains(t, dirs, ".")
}

func TestDiscover(t *testing.T) {
	root := filepath.Join("testdata", "goroot")
	dirs, err := DriverDirs(root)
	require.NoError(t, err)
	tests, err := Discover(filepath.Join(root, "test"), dirs)
	require.NoError(t, err)
	got := map[string]string{}
	var names []string
	for _, tt := range tests {
		names = append(names, tt.Name)
		got[tt.Name] = tt.Recipe.Action + " | " + tt.Skip + " | " + tt.Excluded
	}
	assert.Equal(t, []string{
		"args.go", "chan/exec.go", "chan/windows.go", "fixedbugs/cgo.go", "fixedbugs/indir.go",
		"fixedbugs/multi.go", "gen.go", "gocmd.go", "hello.go", "race.go",
	}, names, "sorted; compile-only and skip recipes and directories the driver does not walk are not listed")
	assert.Equal(t, map[string]string{
		"args.go":            "run |  | ",
		"chan/exec.go":       "run | starts other programs (os/exec) | ",
		"chan/windows.go":    "run |  | //go:build windows",
		"fixedbugs/cgo.go":   "run | needs cgo (//go:build cgo) | ",
		"fixedbugs/indir.go": "runindir |  | ",
		"fixedbugs/multi.go": "rundir |  | ",
		"gen.go":             "runoutput |  | ",
		"gocmd.go":           "run | runs the go command (os/exec) | ",
		"hello.go":           "run |  | ",
		"race.go":            "run | needs cgo (-race: the race detector's runtime is C) | ",
	}, got)
	byName := map[string]Test{}
	for _, tt := range tests {
		byName[tt.Name] = tt
	}
	assert.Equal(t, "hello\n", string(byName["hello.go"].Want))
	assert.Equal(t, "test/a.F b.G\n", string(byName["fixedbugs/multi.go"].Want))
	assert.Equal(t, []string{"arg1", "two words"}, programArgs(byName["args.go"]))
	assert.Equal(t, []string{"extra.go"}, extraFiles(byName["args.go"]))
}

func TestParseRecipe(t *testing.T) {
	for src, want := range map[string]Recipe{
		"// run\n\npackage main\n":                          {Action: "run"},
		"//go:build linux\n\n// run -gcflags=-l\n":          {Action: "run", Flags: []string{"-gcflags=-l"}},
		"// +build amd64\n// errorcheck\n":                  {Action: "errorcheck"},
		"// run arg1 arg2\n":                                {Action: "run", Args: []string{"arg1", "arg2"}},
		"// run -gcflags='all=-N -l'\n":                     {Action: "run", Flags: []string{"-gcflags=all=-N -l"}},
		"// run -gcflags=\"-d=checkptr\" x.go\n":            {Action: "run", Flags: []string{"-gcflags=-d=checkptr"}, Args: []string{"x.go"}},
		"// errorcheckandrundir -0 -m -l=4\n":               {Action: "errorcheckandrundir", Flags: []string{"-m", "-l=4"}},
		"// errorcheckandrundir -1\n":                       {Action: "errorcheckandrundir", WantError: true},
		"// rundir -s -ldflags -strictdups=2 -w=0\n":        {Action: "rundir", SingleFilePkgs: true, Flags: []string{"-ldflags", "-strictdups=2", "-w=0"}},
		"// buildrun -t 10  -gcflags=-d=ssa/check/on\n":     {Action: "buildrun", Flags: []string{"-gcflags=-d=ssa/check/on"}},
		"// runindir -gomodversion \"1.23\"\n":              {Action: "runindir", GoModVersion: "1.23"},
		"// run -goexperiment fieldtrack -goexperiment x\n": {Action: "run", Env: []string{"GOEXPERIMENT=fieldtrack,x"}},
		"// run -godebug a=1\n":                             {Action: "run", Env: []string{"GODEBUG=a=1"}},
	} {
		got, err := ParseRecipe([]byte(src))
		require.NoError(t, err, src)
		assert.Equal(t, want, got, "%q", src)
	}
	for _, bad := range []string{"", "\n\n", "// run -t\n", "// run 'open\n", "// run x\\"} {
		_, err := ParseRecipe([]byte(bad))
		assert.Error(t, err, "%q", bad)
	}
}

func TestSplitQuoted(t *testing.T) {
	for in, want := range map[string][]string{
		"a b  c":         {"a", "b", "c"},
		`a "b c" 'd e'`:  {"a", "b c", "d e"},
		`-x="1 2"`:       {"-x=1 2"},
		`a\ b`:           {"a b"},
		`""`:             {""},
		"  ":             nil,
		`'it"s'`:         {`it"s`},
		"tab\tseparated": {"tab", "separated"},
	} {
		got, err := splitQuoted(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, "%q", in)
	}
}

func TestSplitLDFlags(t *testing.T) {
	gc, ld := SplitLDFlags([]string{"-l=4", "-ldflags", "-strictdups=2", "-w=0"})
	assert.Equal(t, []string{"-l=4"}, gc)
	assert.Equal(t, []string{"-strictdups=2", "-w=0"}, ld)
	gc, ld = SplitLDFlags([]string{"-m"})
	assert.Equal(t, []string{"-m"}, gc)
	assert.Nil(t, ld)
}

func TestSelect(t *testing.T) {
	var tests []Test
	for _, n := range []string{"a.go", "b.go", "chan/c.go", "chan/d.go", "ken/e.go"} {
		tests = append(tests, Test{Name: n})
	}
	names := func(ts []Test) (out []string) {
		for _, t := range ts {
			out = append(out, t.Name)
		}
		return out
	}
	all, err := ParseShard("")
	require.NoError(t, err)
	assert.Len(t, Select(tests, nil, all), 5)
	assert.Equal(t, []string{"chan/c.go", "chan/d.go"}, names(Select(tests, regexp.MustCompile("^chan/"), all)))
	var union []string
	for _, s := range []string{"1/2", "2/2"} {
		sh, err := ParseShard(s)
		require.NoError(t, err)
		union = append(union, names(Select(tests, nil, sh))...)
	}
	assert.ElementsMatch(t, names(tests), union, "the shards cover the set once")
	for _, bad := range []string{"0/2", "3/2", "x", "1/0", "1"} {
		_, err := ParseShard(bad)
		assert.Error(t, err, bad)
	}
}

func TestJudge(t *testing.T) {
	want := Test{Want: []byte("ok\n")}
	const tmo = 30 * time.Second
	cases := []struct {
		res    *qemu.Result
		err    error
		status Status
		reason string
	}{
		{&qemu.Result{Output: []byte("ok\n")}, nil, Pass, ""},
		{&qemu.Result{Output: []byte("ok\nextra\n")}, nil, Fail, `output differs at line 2: got "extra", want ""`},
		{&qemu.Result{ExitCode: 2, Output: []byte("panic: boom\n\ngoroutine 1 [running]:\n")}, nil, Fail, "exit status 2: panic: boom"},
		{&qemu.Result{ExitCode: 139, KernelLog: []byte("[gometal] program fault: SIGSEGV: segmentation violation at rip 0x0000000000401234 addr 0x0\n")},
			nil, Fail, "exit status 139: program fault: SIGSEGV: segmentation violation at rip 0x… addr 0x0"},
		{&qemu.Result{ExitCode: -1, Output: []byte("waiting\n"), KernelLog: []byte("[gometal] unimplemented system call 59: returning ENOSYS\n")},
			errors.Join(qemu.ErrTimeout), Fail, "timeout after 30s, last output: waiting [ENOSYS: execve (59)]"},
		{&qemu.Result{ExitCode: -1, PanicReport: "reason: page fault in kernel\ncpu: 0\n"}, qemu.ErrKernelPanic, Fail, "kernel panic: page fault in kernel"},
		{nil, errors.New("qemu: image: missing"), Fail, "qemu: qemu: image: missing"},
	}
	for _, c := range cases {
		status, reason := judge(want, c.res, c.err, tmo)
		assert.Equal(t, c.status, status, c.reason)
		assert.Equal(t, c.reason, reason)
	}
}

func TestWriteMarkdown(t *testing.T) {
	rs := []Result{
		{Test: Test{Name: "a.go"}, Status: Pass, Reason: "booted with 512M"},
		{Test: Test{Name: "b.go"}, Status: Fail, Reason: "exit status 2: panic: x | y"},
		{Test: Test{Name: "c.go"}, Status: Skip, Reason: "needs os/exec"},
		{Test: Test{Name: "d.go"}, Status: Pass},
		{Test: Test{Name: "e.go", Excluded: "//go:build windows"}, Status: Excluded, Reason: "not for linux/amd64: //go:build windows"},
	}
	assert.Equal(t, "2 passed, 1 failed, 1 skipped, 1 not for linux/amd64 (pass rate 66.7% of 3 run)", Summarize(rs).String())
	// On four CPUs d.go fails too: it must leave the list of passes.
	rs4 := append([]Result(nil), rs...)
	rs4[3] = Result{Test: Test{Name: "d.go"}, Status: Fail, Reason: "timed out"}
	runs := []ConfigResults{
		{Config: Config{SMP: 1}, Results: rs, Elapsed: 90 * time.Second},
		{Config: Config{SMP: 4, Append: "slice=1ms"}, Results: rs4, Elapsed: 100 * time.Second},
	}
	var b strings.Builder
	require.NoError(t, WriteMarkdown(&b, runs, Env{Date: time.Date(2025, 1, 2, 3, 4, 0, 0, time.UTC), GoVersion: "go1.26.8", QEMU: "7.2.22", Mem: "256M", Timeout: 30 * time.Second, Took: 200 * time.Second, Jobs: 2}))
	md := b.String()
	for _, want := range []string{
		"- date: 2025-01-02 03:04 UTC", "- Go: go1.26.8", "- QEMU: 7.2.22 (TCG), q35, 256M, 30s per boot",
		"- took: 3m20s (wall clock, 2 programs at once)",
		"## Not for linux/amd64 (1)", "| e.go | //go:build windows |",
		"| 1 CPU | 2 | 1 | 1 | 66.7% (2 of 3 run) | 1m30s |",
		"| 4 CPUs, slice=1ms | 1 | 2 | 1 | 33.3% (1 of 3 run) | 1m40s |",
		"## Failures (3)",
		`| b.go | 1 CPU | exit status 2: panic: x \| y |`, "| d.go | 4 CPUs, slice=1ms | timed out |",
		"## Skipped (1)", "| c.go | needs os/exec |",
		"## Passed in every configuration (1)\n\na.go (booted with 512M)\n",
	} {
		assert.Contains(t, md, want)
	}
}

func TestParseConfig(t *testing.T) {
	for in, want := range map[string]Config{"1": {SMP: 1}, "4:slice=1ms": {SMP: 4, Append: "slice=1ms"}, " 2 : slice=off nonet ": {SMP: 2, Append: "slice=off nonet"}} {
		got, err := ParseConfig(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "0", "x:slice=1ms", "256", "-1"} {
		_, err := ParseConfig(bad)
		assert.ErrorContains(t, err, "want CPUS[:KERNEL OPTIONS]", bad)
	}
	assert.Equal(t, "1 CPU", Config{SMP: 1}.String())
	assert.Equal(t, "4 CPUs, slice=1ms", Config{SMP: 4, Append: "slice=1ms"}.String())
}

func TestMemFor(t *testing.T) {
	for in, want := range map[string]uint64{"256M": 256 << 20, "2G": 2 << 30, "512": 512 << 20, "65536K": 64 << 20} {
		got, err := parseMem(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	_, err := parseMem("lots")
	assert.Error(t, err)

	// A small image keeps the default; the hello image is a few MiB.
	img := filepath.Join(t.TempDir(), "hello.img")
	_, err = image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/hello", Out: img, Dir: "../.."})
	require.NoError(t, err)
	mem, why := memFor(img, "256M")
	assert.Equal(t, "256M", mem)
	assert.Empty(t, why)
	// With less memory than static data plus headroom, it is raised.
	mem, why = memFor(img, "64M")
	assert.Equal(t, "256M", mem, "a few MiB of static data + 192 MiB, rounded up to 64 MiB")
	assert.Contains(t, why, "MiB of static data")
	mem, _ = memFor(filepath.Join(t.TempDir(), "missing"), "64M")
	assert.Equal(t, "64M", mem, "an unreadable image keeps the given size")
}

func TestMissingShards(t *testing.T) {
	assert.Equal(t, "", MissingShards([]string{"-shard 1/3", "-shard 3/3", "-shard 2/3"}))
	assert.Equal(t, "2/3", MissingShards([]string{"-shard 1/3", "-shard 3/3"}))
	assert.Equal(t, "1/4, 4/4", MissingShards([]string{"-run x -shard 2/4", "-shard 3/4"}))
	assert.Equal(t, "", MissingShards([]string{"-run x"}), "not shards")
	assert.Equal(t, "2/2", MissingShards([]string{"-shard 1/2", "-run x"}), "reruns are ignored")
	assert.Equal(t, "", MissingShards([]string{"-shard 1/2", "-shard 1/3"}), "shards of different counts")
}
