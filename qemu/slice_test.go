package qemu_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Kernel-enforced goroutine time slices (kernel/slice.go) depend on runtime
// field offsets the image build writes into the image. These tests corrupt
// them and check that the kernel refuses them and falls back to sysmon,
// with the program still correct.

func init() {
	bootCases["tickerlag"] = bootCase{guestOnly: true, append: "-- -ticks 20", check: func(t *testing.T, res *qemu.Result) {
		assert.Equal(t, 0, res.ExitCode)
		assert.Regexp(t, `BENCH name=ticker_lateness_p50 value=\d+ unit=us`, string(res.Output))
	}}
}

// bootPreemptWith boots examples/preempt after corrupt has changed the
// runtime offsets in the image, and returns the result.
func bootPreemptWith(t *testing.T, corrupt func(o *image.RuntimeOffsets)) *qemu.Result {
	img := filepath.Join(t.TempDir(), "preempt.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/preempt", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	offs, err := image.ReadRuntimeOffsets(img)
	require.NoError(t, err)
	corrupt(&offs)
	require.NoError(t, image.WriteRuntimeOffsets(img, offs))
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Append: "slice=1ms", Timeout: 60 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Contains(t, string(res.Output), "ticker ticked 5 times while 3 goroutines spun\nGC completed while they spun\n")
	return res
}

func TestSliceOffsetsRefusedAtBoot(t *testing.T) {
	res := bootPreemptWith(t, func(o *image.RuntimeOffsets) { o.GStackguard0 = 24 })
	assert.Contains(t, string(res.KernelLog), "refusing runtime offsets (g.stackguard0 is not where compiled code reads it)")
	assert.NotContains(t, string(res.KernelLog), "goroutine time slice 1.000 ms")
	assert.Regexp(t, `cpu 0: .* 0 slice preemptions requested`, string(res.KernelLog))
}

func TestSliceOffsetsRefusedAtRunTime(t *testing.T) {
	// Plausible but wrong: the kernel only notices by observing the runtime.
	res := bootPreemptWith(t, func(o *image.RuntimeOffsets) { o.MCurg, o.MGsignal = o.MGsignal+8, o.MCurg+8 })
	assert.Contains(t, string(res.KernelLog), "goroutine time slice 1.000 ms")
	assert.Contains(t, string(res.KernelLog), "runtime layout check failed")
}

func TestSliceOffsetsGood(t *testing.T) {
	res := bootPreemptWith(t, func(o *image.RuntimeOffsets) {})
	assert.Contains(t, string(res.KernelLog), "goroutine time slice 1.000 ms")
	assert.NotContains(t, string(res.KernelLog), "layout check failed")
	assert.NotRegexp(t, `cpu 0: .* 0 slice preemptions requested`, string(res.KernelLog))
}
