package qemu_test

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/google/pprof/profile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Boot cases for signal delivery: asynchronous preemption (SIGURG), faults
// that become Go panics (SIGSEGV, SIGFPE), the runtime's stack-overflow
// error, and CPU profiling (SIGPROF from CPU-time timers).
func init() {
	bootCases["preempt"] = bootCase{}
	bootCases["faults"] = bootCase{}
	bootCases["stackoverflow"] = bootCase{guestOnly: true, check: func(t *testing.T, res *qemu.Result) {
		assert.Equal(t, 2, res.ExitCode, "the runtime's fatal error exits 2")
		assert.Contains(t, string(res.Output), "runtime: goroutine stack exceeds 1048576-byte limit")
		assert.Contains(t, string(res.Output), "fatal error: stack overflow")
	}}
	bootCases["cpuprofile"] = bootCase{guestOnly: true, check: checkCPUProfile}
}

// checkCPUProfile decodes the profile the guest printed and requires
// samples whose stacks contain the hot function.
func checkCPUProfile(t *testing.T, res *qemu.Result) {
	require.Equal(t, 0, res.ExitCode)
	out := string(res.Output)
	begin, end := strings.Index(out, "BEGIN PROFILE\n"), strings.Index(out, "END PROFILE")
	require.True(t, begin >= 0 && end > begin, "no profile in the output:\n%s", out)
	raw, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(out[begin+len("BEGIN PROFILE\n"):end], "\n", ""))
	require.NoError(t, err)
	p, err := profile.Parse(bytes.NewReader(raw))
	require.NoError(t, err)
	var total, hot int64
	for _, s := range p.Sample {
		total += s.Value[0]
		for _, loc := range s.Location {
			for _, line := range loc.Line {
				if line.Function != nil && line.Function.Name == "main.hot" {
					hot += s.Value[0]
				}
			}
		}
	}
	require.NotZero(t, total, "the profile has no samples: SIGPROF was not delivered")
	assert.Greater(t, hot*4, total, "main.hot should dominate the profile (%d of %d samples)", hot, total)
}
