package bench

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWorkloadOnHost runs every workload test on the host at a tiny scale
// and checks that the output parses and names every result the default
// plan expects: the contract between bench/workload and this package.
func TestWorkloadOnHost(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "workload")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, WorkloadPkg)
	build.Dir = root
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	cfg := Config{CPUs: []int{1}, HeapMiB: 2}.withDefaults()
	args := []string{"-scale", "0.01", "-heap", "2"}
	for _, st := range cfg.Plan {
		args = append(args, st.Tests...)
	}
	args = append(args, "hello")
	out, err = exec.CommandContext(t.Context(), bin, args...).Output()
	require.NoError(t, err, "workload %s", strings.Join(args, " "))
	rep, err := ParseReport(out)
	require.NoError(t, err)
	assert.True(t, rep.Main)
	assert.True(t, rep.Done)
	assert.Positive(t, rep.NumCPU())
	assert.Contains(t, string(out), "hello, world")
	assert.True(t, strings.HasPrefix(string(out), "BENCH-MAIN boottime_ns="), "the marker comes first")

	for _, st := range cfg.Plan {
		if st.HTTP {
			continue // the load generator's rows (loadgen_test.go)
		}
		for _, key := range st.Yields {
			if key == st.key(KeyHostToMain) || key == st.key(KeyKernelToMain) {
				continue // the runner's boot rows, under the step's keys
			}
			name := key
			for from, to := range st.Rename {
				if to == key {
					name = from
				}
			}
			res, ok := rep.Result(name)
			if assert.True(t, ok, "no result %s", name) && res.NA == "" {
				assert.NotEmpty(t, res.Unit, name)
			}
		}
	}
	// The file round trips run anywhere with a temporary directory: an
	// n/a there is a failed call or a wrong byte read back.
	files, ok := rep.Result(FilesJob.Test + ".time")
	if assert.True(t, ok) {
		assert.Empty(t, files.NA, "the file round trips failed on the host")
	}

	usage := exec.CommandContext(t.Context(), bin, "nosuchtest")
	err = usage.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 2, exit.ExitCode())
}
