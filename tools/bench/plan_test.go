package bench

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDefaultPlan(t *testing.T) {
	cfg := Config{CPUs: []int{1, 2, 4}, HeapMiB: 1024}
	plan := DefaultPlan(cfg.withDefaults())
	names := map[string]Step{}
	yields := map[string]bool{}
	for _, st := range plan {
		names[st.Name] = st
		for _, y := range st.Yields {
			assert.False(t, yields[y], "two steps yield %s", y)
			yields[y] = true
		}
		assert.True(t, st.HTTP || len(st.Tests) > 0, st.Name)
	}
	assert.Equal(t, "3200M", names["gc"].Mem, "1 GiB of live heap needs 3 GiB and some")
	assert.Equal(t, []string{"-heap", "1024"}, names["gc"].Flags)
	assert.Equal(t, 4, names["parallel@4"].SMP)
	assert.Equal(t, ParallelTimeKey(4), names["parallel@4"].key("parallel.time"))
	assert.Equal(t, "sched.spawn", names["sched"].key("sched.spawn"))
	assert.Equal(t, []string{"GOMAXPROCS=1"}, names["ticker"].Env)
	assert.Equal(t, "256M", gcMem(16))
	assert.Equal(t, []string{"-tick", "1ms", "-hogs", "3"}, names["ticker"].Flags, "issue 4: a 1 ms ticker")
	assert.Equal(t, KeyTickerOffMax, names["ticker-sliceoff"].key("time.ticker.max"))
	t5 := names["ticker5-1ms@4"]
	assert.Equal(t, 4, t5.SMP)
	assert.Equal(t, []string{"GOMAXPROCS=1", "slice=1ms"}, t5.Env)
	assert.Equal(t, []string{"-tick", "5ms", "-hogs", "3"}, t5.Flags)
	assert.Equal(t, Ticker5Key("1ms", 4, "p50"), t5.key("time.ticker.p50"))
	assert.Equal(t, []string{"GOMAXPROCS=1", "slice=off"}, names["ticker5-off@1"].Env)
	for _, m := range BootMachines {
		st := names["boot@"+m]
		assert.Equal(t, m, st.Machine)
		assert.True(t, st.Boot)
		assert.Equal(t, 1, st.SMP)
		assert.Equal(t, []string{"hello"}, st.Tests)
		assert.Equal(t, BootKey(KeyHostToMain, m), st.key(KeyHostToMain))
		assert.Equal(t, BootKey(KeyKernelToMain, m), st.key(KeyKernelToMain))
	}
	assert.Empty(t, names["sched"].Machine, "the other steps keep the default machine, q35")
	assert.Equal(t, KeyHostToMain, names["sched"].key(KeyHostToMain), "the sched step's boot rows keep their keys")
	for key := range Bounds() {
		assert.True(t, yields[key], "no step yields the bounded %s", key)
	}

	// Every measured row of the catalog but the derived ones comes from a step.
	assert.Equal(t, NetStep(1), names["net"], "the network rows at 1 vCPU by default")
	assert.True(t, names["net"].HTTP)
	for _, m := range Catalog(cfg) {
		switch m.Key {
		case KeySize, KeyMinMem, SpeedupKey(2), SpeedupKey(4), FutexJob.SpeedupKey(2), FutexJob.SpeedupKey(4),
			FilesJob.SpeedupKey(2), FilesJob.SpeedupKey(4):
			continue
		}
		assert.True(t, yields[m.Key], "no step yields %s", m.Key)
	}
}

func TestBootMachineSteps(t *testing.T) {
	steps := BootMachineSteps()
	require.Len(t, steps, 2)
	assert.Equal(t, "boot@q35", steps[0].Name)
	assert.Equal(t, "boot@microvm", steps[1].Name)
	assert.Equal(t, []string{"boot.microvm.host_to_main", "boot.microvm.kernel_to_main"}, steps[1].Yields)
	assert.Equal(t, "boot.q35.kernel_to_main", BootKey(KeyKernelToMain, "q35"))
	assert.Equal(t, BootStepTimeout, steps[1].timeout(2*time.Minute), "a hanging boot costs 45 s, not the run's limit")
	assert.Equal(t, 30*time.Second, steps[1].timeout(30*time.Second), "a shorter -timeout wins")
	assert.Equal(t, 2*time.Minute, Step{}.timeout(2*time.Minute), "steps without a limit take the run's")

	// The catalog has both machines' rows right after the sched step's
	// boot rows, microvm next to q35.
	var keys []string
	for _, m := range Catalog(Config{})[:6] {
		keys = append(keys, m.Key)
	}
	assert.Equal(t, []string{KeyHostToMain, KeyKernelToMain,
		"boot.q35.host_to_main", "boot.q35.kernel_to_main",
		"boot.microvm.host_to_main", "boot.microvm.kernel_to_main"}, keys)
}

// TestScalingSteps: each scaling job (the futex-heavy job, file round
// trips) boots at 1, 2 and 4 vCPUs whatever -cpus says, each boot's
// TEST.time under its vCPU count's key, and the catalog has its time at
// 1 vCPU and its speedups at 2 and 4.
func TestScalingSteps(t *testing.T) {
	plan := DefaultPlan(Config{CPUs: []int{1, 2}}.withDefaults())
	steps := map[string]Step{}
	for _, st := range plan {
		steps[st.Name] = st
	}
	cat := map[string]Metric{}
	for _, m := range Catalog(Config{CPUs: []int{1}}) {
		cat[m.Key] = m
	}
	assert.Equal(t, "futex.time@4", FutexJob.TimeKey(4))
	assert.Equal(t, "futex.speedup@2", FutexJob.SpeedupKey(2))
	assert.Equal(t, "files.time@1", FilesJob.TimeKey(1))
	for _, j := range []ScalingJob{FutexJob, FilesJob} {
		for _, n := range []int{1, 2, 4} {
			st, ok := steps[fmt.Sprintf("%s@%d", j.Test, n)]
			require.True(t, ok, "no %s@%d step", j.Test, n)
			assert.Equal(t, n, st.SMP)
			assert.Equal(t, []string{j.Test}, st.Tests)
			assert.Equal(t, []string{j.TimeKey(n)}, st.Yields)
			assert.Equal(t, j.TimeKey(n), st.key(j.Test+".time"))
		}
		assert.Equal(t, Lower, cat[j.TimeKey(1)].Better)
		assert.Equal(t, "ms", cat[j.TimeKey(1)].Unit)
		for _, n := range []int{2, 4} {
			m, ok := cat[j.SpeedupKey(n)]
			require.True(t, ok, "no %s speedup row at %d vCPUs", j.Test, n)
			assert.Equal(t, Higher, m.Better, "a speedup is better higher")
			assert.Equal(t, "x", m.Unit)
			assert.Contains(t, m.Title, fmt.Sprintf("%s speedup at %d vCPUs", j.Name, n))
		}
		assert.NotContains(t, cat, j.TimeKey(2), "the times at 2 and 4 vCPUs are only the speedups' inputs")
	}
}
