package qemu_test

import (
	"bytes"
	"path/filepath"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/gometal/gometal/tools/symbolize"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStallReport boots a program that waits forever in open(2) of a
// FIFO no one writes to, on 2 CPUs with a 5 s limit: at the limit the
// runner injects an NMI, and the timeout error carries the kernel's stall
// report, which lists the program's threads, the one in open as "blocked
// fifo-open" at a user rip that symbolizes to the system-call stub; QEMU
// is gone within the grace period.
func TestStallReport(t *testing.T) {
	t.Parallel()
	img := filepath.Join(t.TempDir(), "threads.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./qemu/testdata/threads", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	start := time.Now()
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, SMP: 2, Append: "-- hang", Timeout: 5 * time.Second})
	require.ErrorIs(t, err, qemu.ErrTimeout)
	assert.NotErrorIs(t, err, qemu.ErrKernelPanic, "a stall report is not a kernel bug")
	assert.Less(t, time.Since(start), 30*time.Second)
	require.NotNil(t, res)
	assert.False(t, res.Panic)
	assert.Contains(t, string(res.Output), "threads hang: start\n")
	msg := err.Error()
	assert.Contains(t, msg, "stall report")
	assert.Contains(t, msg, "NMI with unknown_nmi_panic")
	assert.Regexp(t, `thread: tid \d+ blocked fifo-open cpu \d rip 0x[0-9a-f]+ `, msg)
	assert.Regexp(t, `stopped: cpu [01] rip 0x[0-9a-f]+ ring [03]`, msg, "the other CPU's position")

	sym, err := symbolize.ReadDebug(img)
	require.NoError(t, err)
	var out bytes.Buffer
	require.NoError(t, symbolize.SymbolizeELF(sym, bytes.NewReader(res.Console), &out))
	assert.Regexp(t, `thread: tid \d+ blocked fifo-open .* internal/runtime/syscall/linux\.Syscall6`, out.String(), "the waiting thread's rip, symbolized")
	assert.Contains(t, out.String(), "other CPUs and the program's threads:")
}
