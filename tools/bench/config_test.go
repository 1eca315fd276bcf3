package bench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultCPUs(t *testing.T) {
	cpus := DefaultCPUs()
	require.NotEmpty(t, cpus)
	assert.Equal(t, 1, cpus[0])
	for i := 1; i < len(cpus); i++ {
		assert.Equal(t, 2*cpus[i-1], cpus[i])
	}
	assert.LessOrEqual(t, cpus[len(cpus)-1], 8)
}

func TestWithDefaults(t *testing.T) {
	c := Config{Root: "/r"}.withDefaults()
	assert.Equal(t, "/r/build/bench/work", c.Build)
	assert.Equal(t, "/r/build/bench/debian", c.Cache)
	assert.Equal(t, 3, c.Repeats)
	assert.Equal(t, 1.0, c.Scale)
	assert.Equal(t, 16, c.HeapMiB)
	assert.Equal(t, "256M", c.Mem)
	assert.Equal(t, 120*time.Second, c.Timeout)
	assert.NotEmpty(t, c.Plan)
	assert.NotNil(t, c.Log)
}
