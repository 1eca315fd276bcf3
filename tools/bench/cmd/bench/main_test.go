package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gometal/gometal/tools/bench"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseInts(t *testing.T) {
	got, err := parseInts("1, 2,4,8")
	require.NoError(t, err)
	assert.Equal(t, []int{1, 2, 4, 8}, got)
	assert.Equal(t, "1,2,4,8", joinInts(got))
	for _, bad := range []string{"", "2,4", "1,x", "1,0", "1,-2"} {
		_, err := parseInts(bad)
		assert.Error(t, err, bad)
	}
}

func TestFindRoot(t *testing.T) {
	root, err := findRoot()
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "bench", "workload"))
	assert.NoError(t, err, "the module root holds bench/workload")
}

func TestSelectSteps(t *testing.T) {
	plan := bench.DefaultPlan(bench.Config{CPUs: []int{1, 2}, HeapMiB: 16, NetSMP: 2})
	got, err := selectSteps(plan, "net, gc")
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "net", got[0].Name)
	assert.Equal(t, 2, got[0].SMP)
	assert.Equal(t, "gc", got[1].Name)
	_, err = selectSteps(plan, "net,nosuch")
	assert.ErrorContains(t, err, `no step "nosuch"`)
}
