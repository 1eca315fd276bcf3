package qemu_test

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Kernel-enforced goroutine time slices (kernel/timeslice) depend on runtime
// field offsets the image build writes into the image. These tests corrupt
// them, or build without DWARF, and check that the kernel refuses them
// before it writes anything and falls back to sysmon, with the program
// still correct; and they check the slice= option and what a good layout
// gives (docs/slices.md).

func init() {
	bootCases["tickerlag"] = bootCase{guestOnly: true, append: "-- -ticks 20", check: func(t *testing.T, res *qemu.Result) {
		assert.Equal(t, 0, res.ExitCode)
		assert.Regexp(t, `BENCH name=ticker_lateness_p50 value=\d+ unit=us`, string(res.Output))
	}}
}

// bootPreemptWith boots examples/preempt with the kernel command line
// cmdline after corrupt (if not nil) has changed the runtime offsets in
// the image, and checks that the program ran correctly.
func bootPreemptWith(t *testing.T, cmdline string, corrupt func(o *image.RuntimeOffsets)) *qemu.Result {
	img, _ := buildPreempt(t)
	if corrupt != nil {
		offs, err := image.ReadRuntimeOffsets(img)
		require.NoError(t, err)
		corrupt(&offs)
		require.NoError(t, image.WriteRuntimeOffsets(img, offs))
	}
	return runPreempt(t, img, cmdline)
}

// buildPreempt builds examples/preempt with go build flags and returns the
// image and what the build wrote on standard error.
func buildPreempt(t *testing.T, buildFlags ...string) (img, stderr string) {
	img = filepath.Join(t.TempDir(), "preempt.img")
	var errOut bytes.Buffer
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/preempt", Out: img, Dir: mustRoot(t), GoFlags: buildFlags, Stderr: &errOut})
	require.NoError(t, err)
	return img, errOut.String()
}

// runPreempt boots an image of examples/preempt and checks its output.
func runPreempt(t *testing.T, img, cmdline string) *qemu.Result {
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Append: cmdline, Timeout: 60 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Contains(t, string(res.Output), "ticker ticked 5 times while 3 goroutines spun\nGC completed while they spun\n")
	return res
}

// slicesCounted returns CPU 0's slice preemptions requested and taken from
// the kernel's exit statistics.
func slicesCounted(t *testing.T, res *qemu.Result) (requested, taken int) {
	m := regexp.MustCompile(`cpu 0: .* (\d+) slice preemptions requested, (\d+) taken`).FindSubmatch(res.KernelLog)
	require.NotNil(t, m, "no slice statistics for cpu 0 in the kernel log:\n%s", res.KernelLog)
	requested, _ = strconv.Atoi(string(m[1]))
	taken, _ = strconv.Atoi(string(m[2]))
	return requested, taken
}

// refusedQuietly checks that the kernel never wrote into the runtime.
func refusedQuietly(t *testing.T, res *qemu.Result) {
	requested, taken := slicesCounted(t, res)
	assert.Zero(t, requested, "preemptions requested")
	assert.Zero(t, taken, "preemptions taken")
	assert.NotContains(t, string(res.KernelLog), "runtime layout confirmed")
}

func TestSliceOffsetsRefusedAtBoot(t *testing.T) {
	res := bootPreemptWith(t, "slice=1ms", func(o *image.RuntimeOffsets) { o.GStackguard0 = 24 })
	assert.Contains(t, string(res.KernelLog), "refusing runtime offsets (g.stackguard0 is not where compiled code reads it)")
	assert.NotContains(t, string(res.KernelLog), "goroutine time slice 1.000 ms")
	refusedQuietly(t, res)
}

func TestSliceOffsetsOverlapRefusedAtBoot(t *testing.T) {
	res := bootPreemptWith(t, "slice=1ms", func(o *image.RuntimeOffsets) { o.GPreempt = o.GStatus + 1 })
	assert.Contains(t, string(res.KernelLog), "refusing runtime offsets (g.atomicstatus overlaps g.preempt)")
	refusedQuietly(t, res)
}

func TestSliceOffsetsRefusedAtRunTime(t *testing.T) {
	// Plausible but wrong: the kernel only notices by reading the runtime.
	res := bootPreemptWith(t, "slice=1ms", func(o *image.RuntimeOffsets) { o.MCurg, o.MGsignal = o.MGsignal+8, o.MCurg+8 })
	assert.Contains(t, string(res.KernelLog), "goroutine time slice 1.000 ms")
	assert.Contains(t, string(res.KernelLog), "runtime layout check failed")
	refusedQuietly(t, res)
}

// TestSlicePreemptFlagShifted moves g.preempt onto its neighbour
// g.preemptStop, another bool that reads 0 or 1: the boot checks cannot
// tell, and a write there would park the goroutine for good. The kernel
// must notice that the runtime's own preemption requests leave that byte
// clear, and refuse before it ever writes.
func TestSlicePreemptFlagShifted(t *testing.T) {
	res := bootPreemptWith(t, "slice=1ms", func(o *image.RuntimeOffsets) { o.GPreempt++ })
	assert.Contains(t, string(res.KernelLog), "goroutine time slice 1.000 ms")
	assert.Contains(t, string(res.KernelLog), "runtime layout check failed (g.preempt ")
	refusedQuietly(t, res)
}

func TestSliceOffsetsGood(t *testing.T) {
	res := bootPreemptWith(t, "slice=1ms", nil)
	assert.Contains(t, string(res.KernelLog), "goroutine time slice 1.000 ms")
	assert.Contains(t, string(res.KernelLog), "runtime layout confirmed")
	assert.NotContains(t, string(res.KernelLog), "layout check failed")
	requested, taken := slicesCounted(t, res)
	assert.Positive(t, requested, "preemptions requested")
	assert.Positive(t, taken, "preemptions taken: spinning goroutines must give up the P")
	assert.LessOrEqual(t, taken, requested)
}

func TestSliceOff(t *testing.T) {
	res := bootPreemptWith(t, "slice=off", nil)
	assert.Contains(t, string(res.KernelLog), "goroutine time slices off: preemption is left to the runtime's sysmon")
	refusedQuietly(t, res)
}

// TestSliceBadOption: a value slice= cannot parse is reported, like an
// unknown option, and the default slice is used.
func TestSliceBadOption(t *testing.T) {
	res := bootPreemptWith(t, "slice=banana", nil)
	assert.Contains(t, string(res.KernelLog), `warning: bad slice=banana (want e.g. slice=2ms, at least 100us, or slice=off): using the default`)
	assert.Contains(t, string(res.KernelLog), "goroutine time slice 2.000 ms")
}

// TestSliceWithoutDWARF builds the image without DWARF: the build must
// succeed with a warning, and the kernel must leave preemption to sysmon.
func TestSliceWithoutDWARF(t *testing.T) {
	img, stderr := buildPreempt(t, "-ldflags=-w")
	assert.Contains(t, stderr, "gometal: warning: runtime layout unknown: the image has no DWARF")
	res := runPreempt(t, img, "slice=1ms")
	assert.Contains(t, string(res.KernelLog), "refusing runtime offsets (the image build did not fill them)")
	refusedQuietly(t, res)
}
