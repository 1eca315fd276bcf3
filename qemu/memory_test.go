package qemu_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memoryFlags are the go flags of TestMemoryMinimum's image.
var memoryFlags = []string{"-trimpath"}

// TestMemoryMinimum boots examples/hello with the least memory the rule
// (abi.MinMemory, which gometal run and info apply) allows, where it must
// run, and with 1 MiB less, where the kernel must refuse to start the
// program with its one "not enough memory" line and status 2 rather than
// let the Go runtime die of "out of memory" with a stack trace.
//
// The image is built with -trimpath (memoryFlags), so that where it ends,
// and with it the minimum, does not depend on the checkout's path: a
// default build records every source file's absolute path, and a CI
// checkout's longer path once moved hello's end past a page and its
// estimate to 17 MiB.
func TestMemoryMinimum(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	b := s.image(t, "hello", "", "hello-trimpath", nil, memoryFlags)
	require.NoError(t, b.err, "image build")
	elf, err := os.ReadFile(b.path)
	require.NoError(t, err)
	info, err := image.Inspect(elf)
	require.NoError(t, err)
	var end uint64
	for _, l := range info.Loads {
		end = max(end, l.Paddr+l.Memsz)
	}
	minMiB := abi.MinMemory(end, 0, 1) >> 20
	t.Logf("hello's image ends at %#x: minimum %d MiB", end, minMiB)
	// Issue 16's floor: the Go runtime's untouched reservations (its 32
	// MiB heap arena index above all) must not count.
	assert.LessOrEqual(t, minMiB, uint64(16), "hello must boot with -m 16M")

	t.Run("below", func(t *testing.T) {
		// The estimate rounds up to whole MiB from measured constants, so
		// it may be up to 1 MiB above the kernel's exact floor: if
		// minMiB-1 still boots, minMiB-2 must be refused. Further off is
		// a failure.
		below := minMiB - 1
		res, err := qemu.Run(t.Context(), qemu.Options{Image: b.path, Mem: fmt.Sprintf("%dM", below), Timeout: bootTimeout, NoStallReport: true})
		require.NoError(t, err)
		if res.ExitCode == 0 {
			t.Logf("hello boots with %d MiB, 1 MiB below the estimate: checking %d MiB", below, below-1)
			below--
		}
		s.boot(t, "hello", bootCase{guestOnly: true, tag: "below", goFlags: memoryFlags, mem: fmt.Sprintf("%dM", below), check: func(t *testing.T, res *qemu.Result) {
			assert.Equal(t, 2, res.ExitCode)
			assert.Regexp(t, fmt.Sprintf(`\[gometal\] not enough memory: \d+ KiB left for the program, the Go runtime needs %d KiB on 1 CPU; boot with at least \d+ MiB`, abi.ProgramMemory(1)>>10), string(res.KernelLog))
			assert.Contains(t, string(res.KernelLog), fmt.Sprintf("boot with at least %d MiB (-m %dM)", minMiB, minMiB))
			assert.Empty(t, string(res.Output), "the program must not have started")
		}})
	})
	t.Run("minimum", func(t *testing.T) {
		s.boot(t, "hello", bootCase{guestOnly: true, tag: "min", goFlags: memoryFlags, mem: fmt.Sprintf("%dM", minMiB), check: func(t *testing.T, res *qemu.Result) {
			assert.Equal(t, 0, res.ExitCode)
			assert.Contains(t, string(res.Output), "hello, world\n")
			assert.NotContains(t, string(res.KernelLog), "not enough memory")
			assertFootprintLine(t, res, minMiB)
		}})
	})
	// gometal run boots with the virtio console, whose queues come out
	// of the same memory (abi.KernelMemory counts them): hello must
	// still boot at the minimum, and a refusal's line, which goes out
	// through the console's log port, must reach the host before the
	// machine stops.
	t.Run("minimum-console", func(t *testing.T) {
		res, err := qemu.Run(t.Context(), qemu.Options{Image: b.path, Mem: fmt.Sprintf("%dM", minMiB), VirtioConsole: true, Timeout: bootTimeout, NoStallReport: true})
		require.NoError(t, err)
		assert.Equal(t, 0, res.ExitCode, "kernel log:\n%s", res.KernelLog)
		assert.Contains(t, string(res.Output), "hello, world\n")
		assert.NotContains(t, string(res.KernelLog), "not enough memory")
		assertFootprintLine(t, res, minMiB)
	})
	t.Run("below-console", func(t *testing.T) {
		// The same tolerance as below: the console's queues count in the
		// estimate too, which may be up to 1 MiB above the exact floor.
		below := minMiB - 1
		res, err := qemu.Run(t.Context(), qemu.Options{Image: b.path, Mem: fmt.Sprintf("%dM", below), VirtioConsole: true, Timeout: bootTimeout, NoStallReport: true})
		require.NoError(t, err)
		if res.ExitCode == 0 {
			t.Logf("hello boots with the console and %d MiB, 1 MiB below the estimate: checking %d MiB", below, below-1)
			res, err = qemu.Run(t.Context(), qemu.Options{Image: b.path, Mem: fmt.Sprintf("%dM", below-1), VirtioConsole: true, Timeout: bootTimeout, NoStallReport: true})
			require.NoError(t, err)
		}
		assert.Equal(t, 2, res.ExitCode)
		assert.Contains(t, string(res.KernelLog), fmt.Sprintf("boot with at least %d MiB (-m %dM)", minMiB, minMiB))
		assert.Empty(t, string(res.Output), "the program must not have started")
	})
	t.Run("minimum-4cpus", func(t *testing.T) {
		min4 := abi.MinMemory(end, 0, 4) >> 20
		s.boot(t, "hello", bootCase{guestOnly: true, tag: "min4", goFlags: memoryFlags, smp: 4, mem: fmt.Sprintf("%dM", min4), check: func(t *testing.T, res *qemu.Result) {
			assert.Equal(t, 0, res.ExitCode)
			assert.Contains(t, string(res.Output), "hello, world\n")
			assert.NotContains(t, string(res.KernelLog), "not enough memory")
		}})
	})
}

// assertFootprintLine checks the boot log's memory line: the RAM, the
// kernel's footprint and its parts, and what is left for the program,
// which must cover the Go runtime's need and add up with the rest.
func assertFootprintLine(t *testing.T, res *qemu.Result, memMiB uint64) {
	t.Helper()
	m := regexp.MustCompile(`\[gometal\] memory: (\d+) KiB RAM; kernel footprint (\d+) KiB: image (\d+) KiB \((\d+) KiB of it static data\), (\d+) KiB allocated, (\d+) KiB page-table reserve, (\d+) KiB below 1 MiB; (\d+) KiB for the program\n`).FindStringSubmatch(string(res.KernelLog))
	require.NotNil(t, m, "memory line in the boot log")
	var v [9]uint64
	for i := 1; i < len(m); i++ {
		n, err := strconv.ParseUint(m[i], 10, 64)
		require.NoError(t, err)
		v[i] = n
	}
	ram, footprint, img, static, alloc, reserve, low, program := v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]
	assert.LessOrEqual(t, ram, memMiB<<10)
	assert.Greater(t, ram, (memMiB-1)<<10)
	assert.Equal(t, footprint, img+alloc+reserve+low, "the footprint is the sum of its parts")
	assert.Less(t, static, img)
	assert.GreaterOrEqual(t, program, abi.ProgramMemory(1)>>10)
	assert.InDelta(t, float64(ram), float64(footprint+program), 4, "RAM = footprint + program (KiB rounding)")
}

// TestMemoryOvercommit checks both sides of the heuristic overcommit
// (kernel/memcalls/memcalls.go) at hello's minimum memory: hello boots and exits
// cleanly (TestMemoryMinimum), while examples/oom, which touches memory
// until the machine runs out, gets the Go runtime's own "out of memory"
// error and status 2, not a kernel fault, a hang or the kernel's "out of
// physical memory" stop.
func TestMemoryOvercommit(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	for _, mem := range []string{"16M", "48M"} {
		t.Run(mem, func(t *testing.T) {
			s.boot(t, "oom", bootCase{guestOnly: true, tag: mem, mem: mem, check: func(t *testing.T, res *qemu.Result) {
				assert.Equal(t, 2, res.ExitCode, "the runtime's fatal error exits 2")
				assert.Contains(t, string(res.Output), "fatal error: runtime: out of memory\n")
				assert.NotContains(t, string(res.KernelLog), "out of physical memory")
				assert.NotContains(t, string(res.KernelLog), "kernel panic")
				if mem == "48M" {
					assert.Contains(t, string(res.Output), "16 MiB\n", "the program got memory before it ran out")
				}
			}})
		})
	}
}

// TestOutOfMemoryInCopy boots qemu/testdata/oomcopy, which makes the
// kernel run out of frames while read(2) copies into memory the program
// never touched: the kernel must stop the program with its "out of
// physical memory" line naming an address in that memory and status 137
// (as Linux's OOM killer's SIGKILL), and the read must never return to
// the program (with EFAULT or anything else).
func TestOutOfMemoryInCopy(t *testing.T) {
	img := filepath.Join(t.TempDir(), "oomcopy.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./qemu/testdata/oomcopy", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Mem: "48M", Timeout: bootTimeout, NoStallReport: true})
	require.NoError(t, err)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kernel log:\n%s\noutput:\n%s", res.KernelLog, res.Output)
		}
	})
	assert.Equal(t, 137, res.ExitCode)
	region := regexp.MustCompile(`region 0x([0-9a-f]+)-0x([0-9a-f]+)\n`).FindStringSubmatch(string(res.Output))
	require.NotNil(t, region, "the program printed its region")
	fault := regexp.MustCompile(`\[gometal\] out of physical memory while faulting in 0x([0-9a-f]+): stopping the program\n`).FindStringSubmatch(string(res.KernelLog))
	require.NotNil(t, fault, "the kernel's out-of-memory line")
	lo, _ := strconv.ParseUint(region[1], 16, 64)
	hi, _ := strconv.ParseUint(region[2], 16, 64)
	at, _ := strconv.ParseUint(fault[1], 16, 64)
	assert.True(t, at >= lo && at < hi, "the fault at %#x is in the region the read copies into (%#x-%#x)", at, lo, hi)
	assert.NotContains(t, string(res.Output), "read at", "the read must not return")
	assert.NotContains(t, string(res.KernelLog), "kernel panic")
}
