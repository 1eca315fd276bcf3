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
