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

// Thread life-cycle tests: qemu/testdata/threads, booted with one of its
// checks as its argument.

// bootThreads boots the threads program with append and returns the result.
func bootThreads(t *testing.T, smp int, append string) (*qemu.Result, error) {
	img := filepath.Join(t.TempDir(), "threads.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./qemu/testdata/threads", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, SMP: smp, Append: append, Timeout: 90 * time.Second})
	if res != nil {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("kernel log:\n%s\nconsole:\n%s", res.KernelLog, res.Console)
			}
		})
	}
	return res, err
}

// TestThreadExitRunning: a thread that calls exit(2) is counted off the
// CPU once. The running count the deadlock detector trusts used to drop
// twice per exit (in exitThread and again in reschedule).
func TestThreadExitRunning(t *testing.T) {
	res, err := bootThreads(t, 2, "-- exit")
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Contains(t, string(res.Output), "threads exit: ok\n")
}

// TestShootdownUnanswered boots 2 CPUs with tlbfault=1: CPU 1 takes a TLB
// shootdown IPI and never answers, as a CPU a ring-3 CLI stopped would.
// The munmapping CPU used to spin forever with the kernel lock held; it
// must give up after a second with a kernel panic report naming CPU 1.
// The same program without the fault runs to its end.
func TestShootdownUnanswered(t *testing.T) {
	t.Run("fault", func(t *testing.T) {
		res, err := bootThreads(t, 2, "tlbfault=1 -- munmap")
		require.ErrorIs(t, err, qemu.ErrKernelPanic)
		require.NotNil(t, res)
		assert.Contains(t, string(res.KernelLog), "tlbfault=1: cpu 1 will not answer TLB shootdowns")
		assert.Regexp(t, `reason: TLB shootdown: cpu 1 \(APIC id 1\) did not answer within 1000(\.0+)? ms`, res.PanicReport)
	})
	t.Run("control", func(t *testing.T) {
		res, err := bootThreads(t, 2, "-- munmap")
		require.NoError(t, err)
		assert.Equal(t, 0, res.ExitCode)
		assert.Contains(t, string(res.Output), "threads munmap: ok\n")
	})
}
