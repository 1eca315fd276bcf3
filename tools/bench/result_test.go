package bench

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseReport(t *testing.T) {
	out := "[    0.5] some kernel line\r\n" +
		"BENCH-MAIN boottime_ns=812345678\r\n" +
		"BENCH-INFO numcpu=2 gomaxprocs=2 go=go1.26.8\n" +
		"hello, world\n" +
		"BENCH name=sched.spawn value=940.849 unit=ns/op\n" +
		"BENCH name=sched.wake.p50 na=\"SMP not available: guest saw 1 CPUs\"\n" +
		"BENCHMARKS are not protocol lines\n" +
		"BENCH name=gc.count value=7 unit=count\n" +
		"BENCH-DONE\n"
	r, err := ParseReport([]byte(out))
	require.NoError(t, err)
	assert.True(t, r.Main)
	assert.True(t, r.Done)
	assert.Equal(t, int64(812345678), r.BootTimeNS)
	assert.Equal(t, 2, r.NumCPU())
	assert.Equal(t, "go1.26.8", r.Info["go"])
	assert.Equal(t, []Result{
		{Name: "sched.spawn", Value: 940.849, Unit: "ns/op"},
		{Name: "sched.wake.p50", NA: "SMP not available: guest saw 1 CPUs"},
		{Name: "gc.count", Value: 7, Unit: "count"},
	}, r.Results)
	res, ok := r.Result("gc.count")
	assert.True(t, ok)
	assert.Equal(t, 7.0, res.Value)
	_, ok = r.Result("nope")
	assert.False(t, ok)
}

func TestParseReportEmpty(t *testing.T) {
	r, err := ParseReport([]byte("no protocol here\nBENCH-MAIN\n"))
	require.NoError(t, err)
	assert.True(t, r.Main)
	assert.Equal(t, int64(-1), r.BootTimeNS, "no boottime field")
	assert.False(t, r.Done)
	assert.Zero(t, r.NumCPU())
	assert.Empty(t, r.Results)
}

func TestParseReportErrors(t *testing.T) {
	bad := []string{
		"BENCH value=1 unit=ns",              // no name
		"BENCH name=x unit=ns",               // neither value nor na
		"BENCH name=x value=fast unit=ns",    // not a number
		"BENCH name=x value=1 value=2",       // duplicate
		"BENCH name=x na=\"unterminated",     // bad quote
		"BENCH name=x na=\"a\"b",             // text after quote
		"BENCH name=x junk",                  // not key=value
		"BENCH-MAIN boottime_ns=soon",        // bad integer
		"BENCH-WHAT x=1",                     // unknown kind
		"BENCH name=x =1",                    // empty key
		"BENCH name=x value=1 unit=ns extra", // trailing word
	}
	for _, line := range bad {
		_, err := ParseReport([]byte(line + "\n"))
		assert.Error(t, err, line)
	}
}

func TestParseFields(t *testing.T) {
	f, err := parseFields(`a=1  b="two words" c= d="q\"uote"`)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"a": "1", "b": "two words", "c": "", "d": `q"uote`}, f)

	res, err := parseResult(map[string]string{"name": "x", "na": ""})
	require.NoError(t, err)
	assert.Equal(t, "not available", res.NA, "an empty reason still marks n/a")
}
