//go:build benchsmoke

package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSmokeBothSides runs two tiny metrics (Gosched and the futex-heavy
// job at 1 vCPU) end to end on both sides. It
// needs the network (a ~70 MB Debian kernel package), so, as
// TestSmokeNetwork, it is built only with -tags benchsmoke: make
// bench-smoke runs them, and CI (.ci/run) runs that target after make
// test. It builds the workload, fetches Debian's kernel the way `make bench` does
// (into build/bench/debian; it needs apt-get, dpkg-deb and, the first
// time, the network and an up-to-date apt cache: as root, apt-get update),
// boots each side once and writes the results. It never skips: without
// QEMU or the kernel it fails, saying what is missing.
func TestSmokeBothSides(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute) // a guard; it takes 10 to 60 seconds
	defer cancel()
	steps := []Step{{
		Name: "smoke", SMP: 1, Boot: true, Tests: []string{"gosched", "futex"},
		Yields: []string{KeyHostToMain, KeyKernelToMain, "sched.gosched", FutexJob.TimeKey(1)},
		Rename: map[string]string{"futex.time": FutexJob.TimeKey(1)},
	}}
	tb, err := Run(ctx, Config{
		Root: root, Build: t.TempDir(), Repeats: 1, CPUs: []int{1}, Scale: 0.05,
		Timeout: 60 * time.Second, Plan: steps, Log: testLog{t},
	})
	require.NoError(t, err, "the benchmark needs QEMU and Debian's kernel (see FetchDebianKernel)")

	rows := map[string]Row{}
	for _, r := range tb.Rows {
		rows[r.Key] = r
	}
	for _, key := range []string{"sched.gosched", FutexJob.TimeKey(1), KeyHostToMain, KeyKernelToMain, KeySize} {
		r, ok := rows[key]
		require.True(t, ok, "no row %s", key)
		for i, c := range r.Cells {
			assert.True(t, c.OK(), "%s on %s: n/a: %s", key, tb.Sides[i], c.NA)
			assert.Positive(t, c.Stats.Median, "%s on %s", key, tb.Sides[i])
		}
		assert.Positive(t, r.Ratio, key)
	}
	assert.NotContains(t, rows, KeyHTTPRPS, "a plan without the network step has no network rows")
	assert.NotContains(t, rows, FutexJob.SpeedupKey(2), "no futex step at 2 vCPUs, no speedup row")
	assert.NotEmpty(t, tb.Meta.QEMU)
	assert.Equal(t, []string{"gometal", "linux"}, tb.Sides)

	paths, err := WriteResults(t.TempDir(), tb)
	require.NoError(t, err)
	md, err := os.ReadFile(paths[0])
	require.NoError(t, err)
	assert.Contains(t, string(md), "runtime.Gosched round trip")
	t.Logf("\n%s", md)
}

// TestSmokeNetwork runs the network step end to end on both sides with a
// short load: the HTTP server on gometal and, on Linux, netinit loading
// Debian's virtio-net modules (extracted from the package the first time)
// before it starts the same server. Like TestSmokeBothSides it never skips.
func TestSmokeNetwork(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute) // a guard; it takes 20 to 60 seconds
	defer cancel()
	tb, err := Run(ctx, Config{
		Root: root, Build: t.TempDir(), Repeats: 1, CPUs: []int{1}, Timeout: 60 * time.Second,
		Plan: []Step{NetStep(1)}, Log: testLog{t},
		Load: Load{Conns: 2, Warmup: 200 * time.Millisecond, Duration: time.Second, Bulk: 1, BulkBytes: 1 << 20},
	})
	require.NoError(t, err)
	rows := map[string]Row{}
	for _, r := range tb.Rows {
		rows[r.Key] = r
	}
	for _, key := range []string{KeyHTTPRPS, KeyHTTPP50, KeyHTTPP99, KeyHTTPBulk} {
		r, ok := rows[key]
		require.True(t, ok, "no row %s", key)
		for i, c := range r.Cells {
			assert.True(t, c.OK(), "%s on %s: n/a: %s", key, tb.Sides[i], c.NA)
			assert.Positive(t, c.Stats.Median, "%s on %s", key, tb.Sides[i])
		}
	}
	assert.Contains(t, tb.Meta.Net, "2 keep-alive connections")
	assert.NotContains(t, rows, SpeedupKey(2), "no parallel step, no speedup row")
}

// testLog sends Run's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
