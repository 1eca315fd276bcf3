package qemu_test

import (
	"context"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The TestRunQEMU tests boot tinyPVH images in the real QEMU: they check
// that QEMU accepts the harness's command line, loads a PVH ELF, carries
// COM1 on stdout and honours isa-debug-exit. They need QEMU, not a kernel.

func TestRunQEMUExit(t *testing.T) {
	t.Parallel()
	image := writeTinyPVH(t, "hel\r\n[gometal] tiny guest\nlo\n", endExit, 3)
	res, err := qemu.Run(context.Background(), qemu.Options{Image: image, Mem: "64M", Timeout: 30 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 3, res.ExitCode)
	assert.Equal(t, "hello\n", string(res.Output))
	assert.Equal(t, "[gometal] tiny guest\n", string(res.KernelLog))
}

func TestRunQEMUExitZero(t *testing.T) {
	t.Parallel()
	image := writeTinyPVH(t, "ok\n", endExit, 0)
	res, err := qemu.Run(context.Background(), qemu.Options{Image: image, SMP: 2, Timeout: 30 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Equal(t, "ok\n", string(res.Output))
}

func TestRunQEMUPanic(t *testing.T) {
	t.Parallel()
	image := writeTinyPVH(t, "x\r\n"+report, endExit, 127)
	res, err := qemu.Run(context.Background(), qemu.Options{Image: image, Timeout: 30 * time.Second})
	require.ErrorIs(t, err, qemu.ErrKernelPanic)
	assert.True(t, res.Panic)
	assert.Equal(t, reportText, res.PanicReport)
	assert.Equal(t, "x", string(res.Output))
}

func TestRunQEMUTripleFault(t *testing.T) {
	t.Parallel()
	image := writeTinyPVH(t, "about to fault\n", endFault, 0)
	res, err := qemu.Run(context.Background(), qemu.Options{Image: image, Timeout: 30 * time.Second})
	require.ErrorIs(t, err, qemu.ErrNoStatus)
	assert.Contains(t, err.Error(), "about to fault")
	assert.Equal(t, -1, res.ExitCode)
}

func TestRunQEMUTimeout(t *testing.T) {
	t.Parallel()
	image := writeTinyPVH(t, "spinning\n", endHang, 0)
	start := time.Now()
	res, err := qemu.Run(context.Background(), qemu.Options{Image: image, Timeout: 2 * time.Second})
	require.ErrorIs(t, err, qemu.ErrTimeout)
	assert.Contains(t, err.Error(), "2s")
	assert.Contains(t, err.Error(), "spinning")
	assert.Equal(t, "spinning\n", string(res.Output))
	assert.Less(t, time.Since(start), 10*time.Second)
}
