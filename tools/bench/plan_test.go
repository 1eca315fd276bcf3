package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
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
	for key := range Bounds() {
		assert.True(t, yields[key], "no step yields the bounded %s", key)
	}

	// Every measured row of the catalog but the derived ones comes from a step.
	assert.Equal(t, NetStep(1), names["net"], "the network rows at 1 vCPU by default")
	assert.True(t, names["net"].HTTP)
	for _, m := range Catalog(cfg) {
		switch m.Key {
		case KeySize, KeyMinMem, SpeedupKey(2), SpeedupKey(4):
			continue
		}
		assert.True(t, yields[m.Key], "no step yields %s", m.Key)
	}
}
