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
// from $GOROOT/test that pass on gometal; TestSubset keeps them passing.
// The whole set is `make conformance` (docs/conformance.md).
var subset = []string{
	"chan/fifo.go", "chan/goroutines.go", "chan/nonblock.go", "chan/powser1.go",
	"chan/select3.go", "chan/sendstmt.go", "chan/sieve1.go", "chan/sieve2.go",
	"chan/zerosize.go", "ken/chan.go", "ken/chan1.go", "ken/cplx0.go",
	"ken/divmod.go", "ken/embed.go", "ken/range.go", "ken/string.go",
}

// TestSubset builds and boots the subset in QEMU on one CPU and on four,
// with aggressive kernel time slices (slice=1ms): preempting goroutines
// every millisecond must not change any program's output.
func TestSubset(t *testing.T) {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	require.NoError(t, err)
	tests, err := Discover(filepath.Join(strings.TrimSpace(string(goroot)), "test"), Dirs)
	require.NoError(t, err)
	names := make([]string, len(subset))
	for i, n := range subset {
		names[i] = regexp.QuoteMeta(n)
	}
	tests = Select(tests, regexp.MustCompile("^("+strings.Join(names, "|")+")$"), Shard{1, 1})
	require.Len(t, tests, len(subset), "every program of the subset is in $GOROOT/test")
	trackKernel(t)

	for _, smp := range []int{1, 4} {
		var progress bytes.Buffer
		start := time.Now()
		results, err := Run(context.Background(), tests, Options{Jobs: 2, Timeout: 60 * time.Second, Progress: &progress, SMP: smp, Append: "slice=1ms"})
		require.NoError(t, err)
		t.Logf("-smp %d:\n%s%s in %v", smp, progress.String(), Summarize(results), time.Since(start).Round(time.Millisecond))
		for _, r := range results {
			assert.Equal(t, Pass, r.Status, "-smp %d: %s: %s", smp, r.Test.Name, r.Reason)
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
