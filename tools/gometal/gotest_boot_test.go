package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests build real test images (the kernel included); the ones named
// TestGotestBoot boot them in QEMU under TCG. -short skips them all.

const gotestData = "github.com/gometal/gometal/tools/gometal/testdata/gotest/"

// needImages skips a test that builds real images under -short.
func needImages(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds real test images")
	}
}

// TestGotestFakeQEMU runs the whole command (package list, image builds,
// output) against a stand-in QEMU whose guest prints PASS and exits 0.
func TestGotestFakeQEMU(t *testing.T) {
	needImages(t)
	module := filepath.Join(t.TempDir(), "module")
	bin, argsFile := fakeQEMU(t, keepModule(module)+"\nprintf '[gometal] booting\\r\\nPASS\\n'\nexit 1")
	code, out, errOut := call(t, "", "test", "--qemu", bin, "-run", "TestSum",
		"./testdata/gotest/pass", "./testdata/gotest/notests", "./testdata/gotest/nosuchpkg")
	assert.Equal(t, exitFailure, code, errOut)
	assert.Regexp(t, `^FAIL\t\S+/nosuchpkg \[setup failed\]\n`+
		`ok  \t`+gotestData+`pass\t\d+\.\d{3}s\n`+
		`\?   \t`+gotestData+`notests\t\[no test files\]\n`+
		`FAIL\n$`, out)
	assert.Contains(t, errOut, "# ./testdata/gotest/nosuchpkg\n")
	args, err := os.ReadFile(argsFile)
	require.NoError(t, err)
	lines := strings.Split(string(args), "\n")
	root, err := filepath.Abs("testdata/gotest/pass")
	require.NoError(t, err)
	assert.Contains(t, lines, "unknown_nmi_panic cwd="+root, "the test runs in its package's directory")
	assert.Contains(t, lines, "-initrd", "the test image comes along as /init")
	mod, err := os.ReadFile(module)
	require.NoError(t, err)
	blk, err := qemu.EncodeArgBlock([]string{"-test.paniconexit0", "-test.timeout=10m0s", "-test.run=TestSum"}, nil)
	require.NoError(t, err)
	assert.True(t, bytes.HasSuffix(mod, blk), "the test flags follow the archive in the module")
	assert.True(t, bytes.HasPrefix(mod, []byte("070701")), "the module starts with the cpio archive")
}

// TestGotestGDB checks gometal test --gdb: the guest starts paused with
// the gdb stub on the port, and the attach command is printed.
func TestGotestGDB(t *testing.T) {
	needImages(t)
	bin, argsFile := fakeQEMU(t, "printf '[gometal] booting\\r\\nPASS\\n'\nexit 1")
	code, out, errOut := call(t, "", "test", "--qemu", bin, "--gdb=4321", "./testdata/gotest/pass")
	require.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, `^ok  \t`+gotestData+`pass\t`, out)
	assert.Contains(t, errOut, "-ex 'target remote :4321'")
	assert.Contains(t, errOut, gotestData+"pass: the machine is paused")
	lines := strings.Split(string(mustRead(t, argsFile)), "\n")
	assert.Contains(t, lines, "-S")
	assert.Contains(t, lines, "tcp:127.0.0.1:4321")

	code, _, errOut = call(t, "", "test", "--qemu", bin, "--gdb=0", "./testdata/gotest/pass")
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, errOut, "a port from 1 to 65535")
}

// TestGotestFakeQEMUTimeout checks the report of a guest that never ends.
func TestGotestFakeQEMUTimeout(t *testing.T) {
	needImages(t)
	bin, _ := fakeQEMU(t, "echo '=== RUN   TestSum'\necho stuck here\nexec sleep 30")
	code, out, _ := call(t, "", "test", "--qemu", bin, "--timeout", "1s", "./testdata/gotest/pass")
	assert.Equal(t, exitFailure, code)
	assert.Regexp(t, `(?s)^=== RUN   TestSum\nstuck here\ngometal: qemu: timeout.*\n`+
		`gometal: last 20 console lines:\n=== RUN   TestSum\nstuck here\n`+
		`FAIL\t`+gotestData+`pass\t\d+\.\d{3}s\nFAIL\n$`, out)
}

// TestGotestStallReport runs a test that waits forever with a short time
// limit: the FAIL output has the console before the kernel's stall
// report, and the report symbolized, with the test's thread blocked in
// the FIFO open (docs/debugging.md, "When a run hangs").
func TestGotestStallReport(t *testing.T) {
	needImages(t)
	code, out, errOut := call(t, "", "test", "--timeout", "20s", "./testdata/gotesthang")
	assert.Equal(t, exitFailure, code, errOut)
	assert.Contains(t, out, "gometal: qemu: timeout: guest gave no exit status within 20s")
	assert.Contains(t, out, "gometal: the kernel's stall report")
	assert.Contains(t, out, "kernel panic: NMI with unknown_nmi_panic")
	assert.Regexp(t, `thread: tid \d+ blocked fifo-open .* internal/runtime/syscall/linux\.Syscall6`, out)
	assert.Regexp(t, `FAIL\t\S+gotesthang\t\d+\.\d{3}s\nFAIL\n$`, out)
}

// TestGotestBootPassFail boots a passing and a failing package.
func TestGotestBootPassFail(t *testing.T) {
	needImages(t)
	code, out, errOut := call(t, "", "test", "./testdata/gotest/...")
	assert.Equal(t, exitFailure, code, errOut)
	assert.Regexp(t, `^--- FAIL: TestBad \(\d+\.\d+s\)\n`+
		`    fail_test.go:10: bad result\n`+
		`FAIL\n`+
		`FAIL\t`+gotestData+`fail\t\d+\.\d{3}s\n`+
		`\?   \t`+gotestData+`notests\t\[no test files\]\n`+
		`ok  \t`+gotestData+`pass\t\d+\.\d{3}s\n`+
		`FAIL\n$`, out)
	assert.NotContains(t, out, "[gometal]", "no kernel log in the output")
}

// TestGotestBootStd tests a standard package the kernel itself imports
// (formerly an import cycle), two of its tests, from a directory outside
// any module (-C).
func TestGotestBootStd(t *testing.T) {
	needImages(t)
	code, out, errOut := call(t, "", "test", "-C", t.TempDir(), "-v", "-run", "^(TestSortIntSlice|TestSearch)$", "sort")
	assert.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, `^=== RUN   TestSearch\n--- PASS: TestSearch \(\d+\.\d+s\)\n`+
		`=== RUN   TestSortIntSlice\n--- PASS: TestSortIntSlice \(\d+\.\d+s\)\n`+
		`PASS\nok  \tsort\t\d+\.\d{3}s\n$`, out)
}

// TestGotestBootModuleCache tests a package in the module cache, where
// the go command refuses overlays.
func TestGotestBootModuleCache(t *testing.T) {
	needImages(t)
	code, out, errOut := call(t, "", "test", "-run", "^TestDeleteMin$", "github.com/google/btree")
	assert.Equal(t, exitOK, code, errOut)
	assert.Regexp(t, `^ok  \tgithub.com/google/btree\t\d+\.\d{3}s\n$`, out)
}

// TestGotestBootJSON compares gometal test -json with the host's go test
// -json for the same package, times aside.
func TestGotestBootJSON(t *testing.T) {
	needImages(t)
	code, out, errOut := call(t, "", "test", "-json", "./testdata/gotest/fail")
	assert.Equal(t, exitFailure, code, errOut)
	host, err := exec.Command("go", "test", "-count=1", "-json", "./testdata/gotest/fail").Output()
	require.Error(t, err, "the package fails on the host too")
	assert.Equal(t, comparableEvents(t, host), comparableEvents(t, []byte(out)))
}

// timing matches the durations in test output.
var timing = regexp.MustCompile(`\d+\.\d+s`)

// comparableEvents reduces go test -json output to what does not depend
// on timing: each event's ImportPath, Action, Package, Test, Output (its
// durations masked) and FailedBuild.
func comparableEvents(t *testing.T, b []byte) []string {
	t.Helper()
	var events []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e struct{ ImportPath, Action, Package, Test, Output, FailedBuild string }
		require.NoError(t, json.Unmarshal([]byte(line), &e), line)
		events = append(events, strings.Join([]string{e.ImportPath, e.Action, e.Package, e.Test,
			timing.ReplaceAllString(e.Output, "T"), e.FailedBuild}, " | "))
	}
	return events
}

// TestGotestBootCompileOnly builds a test image with -c -o and boots it
// with gometal run.
func TestGotestBootCompileOnly(t *testing.T) {
	needImages(t)
	img := filepath.Join(t.TempDir(), "pass.img")
	code, out, errOut := call(t, "", "test", "-c", "-o", img, "./testdata/gotest/pass")
	require.Equal(t, exitOK, code, errOut)
	assert.Empty(t, out)
	b, err := os.ReadFile(img)
	require.NoError(t, err)
	info, err := image.Inspect(b)
	require.NoError(t, err)
	assert.True(t, info.Bootable())

	code, out, errOut = call(t, "", "run", img, "--", "-test.run=TestSum", "-test.v")
	assert.Equal(t, exitOK, code, errOut)
	assert.Contains(t, out, "--- PASS: TestSum")
}

// TestGotestBootFilesAndProfiles tests a package that reads its testdata,
// uses t.TempDir and has an example, with coverage and a CPU profile that
// come back from the guest.
func TestGotestBootFilesAndProfiles(t *testing.T) {
	needImages(t)
	dir := t.TempDir()
	cover, cpu := filepath.Join(dir, "c.out"), "cpu.prof"
	code, out, errOut := call(t, "", "test", "-v", "-coverprofile="+cover, "-cpuprofile="+cpu, "-outputdir", dir, "./testdata/gotestfiles")
	assert.Equal(t, exitOK, code, errOut)
	for _, name := range []string{"TestTestdata", "TestTempDir", "ExampleShout"} {
		assert.Regexp(t, `--- PASS: `+name+` \(\d+\.\d+s\)\n`, out)
	}
	assert.Regexp(t, `ok  \tgithub.com/gometal/gometal/tools/gometal/testdata/gotestfiles\t\d+\.\d{3}s\tcoverage: 100\.0% of statements\n$`, out)
	b, err := os.ReadFile(cover)
	require.NoError(t, err)
	assert.Regexp(t, `^mode: set\ngithub.com/gometal/gometal/tools/gometal/testdata/gotestfiles/files.go:\d+\.\d+,\d+\.\d+ 1 1\n$`, string(b))
	prof, err := os.ReadFile(filepath.Join(dir, cpu))
	require.NoError(t, err)
	require.Greater(t, len(prof), 2)
	assert.Equal(t, []byte{0x1f, 0x8b}, prof[:2], "a pprof profile is gzip-compressed")
	_, err = os.Stat(filepath.Join(dir, "gotestfiles.test"))
	assert.NoError(t, err, "the test binary lands beside the profile, as with go test")
}
