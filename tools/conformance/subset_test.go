package conformance

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// subset is a fixed set of fast channel, goroutine and language programs
// from $GOROOT/test that pass on gometal, and one of each way the runner
// builds a program (arguments, rundir with linker flags, runindir in a
// go 1.14 module with a GOEXPERIMENT, buildrundir with assembly,
// errorcheckandrundir, runoutput, a program importing internal/runtime/sys
// built with the compiler directly); TestSubset keeps them passing.
// The whole set is `make conformance` (docs/conformance.md).
var subset = []string{
	"chan/fifo.go", "chan/goroutines.go", "chan/nonblock.go", "chan/powser1.go",
	"chan/select3.go", "chan/sendstmt.go", "chan/sieve1.go", "chan/sieve2.go",
	"chan/zerosize.go", "ken/chan.go", "ken/chan1.go", "ken/cplx0.go",
	"ken/divmod.go", "ken/embed.go", "ken/range.go", "ken/string.go",
	"args.go", "fixedbugs/issue30908.go", "fixedbugs/issue20014.go", "asmhdr.go",
	"fixedbugs/bug248.go", "rotate0.go", "intrinsic.go",
}

// TestSubset builds and boots the subset in QEMU on one CPU and on four,
// with aggressive kernel time slices (slice=1ms): preempting goroutines
// every millisecond must not change any program's output.
func TestSubset(t *testing.T) {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	require.NoError(t, err)
	dirs, err := DriverDirs(strings.TrimSpace(string(goroot)))
	require.NoError(t, err)
	testDir := filepath.Join(strings.TrimSpace(string(goroot)), "test")
	tests, err := Discover(testDir, dirs)
	require.NoError(t, err)
	names := make([]string, len(subset))
	for i, n := range subset {
		names[i] = regexp.QuoteMeta(n)
	}
	tests = Select(tests, regexp.MustCompile("^("+strings.Join(names, "|")+")$"), Shard{1, 1})
	require.Len(t, tests, len(subset), "every program of the subset is in $GOROOT/test")
	trackKernel(t)

	var progress bytes.Buffer
	start := time.Now()
	configs := []Config{{SMP: 1, Append: "slice=1ms"}, {SMP: 4, Append: "slice=1ms"}}
	runs, err := Run(context.Background(), tests, Options{Jobs: 2, Timeout: 60 * time.Second, Progress: &progress, Configs: configs, TestDir: testDir})
	require.NoError(t, err)
	t.Logf("%s in %v", progress.String(), time.Since(start).Round(time.Millisecond))
	require.Len(t, runs, len(configs))
	for _, run := range runs {
		t.Logf("%s: %s", run.Config, Summarize(run.Results))
		for _, r := range run.Results {
			assert.Equal(t, Pass, r.Status, "%s: %s: %s", run.Config, r.Test.Name, r.Reason)
		}
	}
}

// trackKernel reads the kernel's sources, so that go test's result cache
// sees kernel changes (only the child go commands compile them).
func trackKernel(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	for _, dir := range []string{"kernel", "boot", "sched", "drivers"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			_, err = os.ReadFile(path)
			return err
		})
		require.NoError(t, err)
	}
}
