package bench

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSideOptions(t *testing.T) {
	dir := t.TempDir()
	img, vmlinuz, initrd := filepath.Join(dir, "img"), filepath.Join(dir, "vmlinuz"), filepath.Join(dir, "initrd")
	require.NoError(t, os.WriteFile(img, make([]byte, 100), 0o644))
	require.NoError(t, os.WriteFile(vmlinuz, make([]byte, 30), 0o644))
	require.NoError(t, os.WriteFile(initrd, make([]byte, 12), 0o644))

	gm, err := GometalSide(img)
	require.NoError(t, err)
	lx, err := LinuxSide(vmlinuz, initrd)
	require.NoError(t, err)
	assert.Equal(t, int64(100), gm.Size)
	assert.Equal(t, int64(42), lx.Size)
	_, err = LinuxSide(vmlinuz, filepath.Join(dir, "missing"))
	assert.Error(t, err)
	_, err = GometalSide(filepath.Join(dir, "missing"))
	assert.Error(t, err)

	b := Boot{SMP: 2, Mem: "512M", Env: []string{"GOMAXPROCS=1"}, Args: []string{"-scale", "1", "ticker"}, Timeout: time.Minute}
	og, ol := gm.Options(b), lx.Options(b)
	assert.Equal(t, "GOMAXPROCS=1 -- -scale 1 ticker", og.Append)
	assert.Equal(t, LinuxArgs+" GOMAXPROCS=1 -- -scale 1 ticker", ol.Append)
	assert.Equal(t, []string{"-initrd", initrd}, ol.Extra)
	assert.Empty(t, og.Extra)

	// Same machine: the QEMU command lines differ only in -kernel, -initrd
	// and the kernel's own parameters.
	ol.Image, ol.Extra, ol.Append = og.Image, nil, og.Append
	assert.Equal(t, og.Args(), ol.Args())
	assert.Equal(t, 2, og.SMP)
	assert.Equal(t, "512M", og.Mem)
	assert.Equal(t, time.Minute, og.Timeout)

	assert.Equal(t, "", gm.Options(Boot{}).Append)

	// A boot on microvm: both sides on it.
	b.Machine = "microvm"
	og, ol = gm.Options(b), lx.Options(b)
	assert.Equal(t, "microvm", og.Machine)
	assert.Equal(t, "microvm", ol.Machine)
	assert.Contains(t, og.Args(), "microvm")
	assert.Empty(t, gm.Options(Boot{}).Machine, "q35 by default")
	assert.Equal(t, LinuxMicrovmHint, lx.MachineHints["microvm"], "Linux says why it fails on microvm")
	assert.Empty(t, lx.MachineHints["q35"])
	assert.Empty(t, gm.MachineHints)
}

func TestKernelToMain(t *testing.T) {
	res := &qemu.Result{KernelLog: []byte("[gometal] booting\n[gometal] main.main reached 71.417 ms after kernel entry\n")}
	d, ok := gometalKernelToMain(res, nil)
	assert.True(t, ok)
	assert.Equal(t, 71417*time.Microsecond, d)
	_, ok = gometalKernelToMain(&qemu.Result{}, nil)
	assert.False(t, ok)

	d, ok = linuxKernelToMain(nil, &Report{BootTimeNS: 1672441173})
	assert.True(t, ok)
	assert.Equal(t, 1672441173*time.Nanosecond, d)
	_, ok = linuxKernelToMain(nil, &Report{BootTimeNS: -1})
	assert.False(t, ok)
}

func TestMarkerWatch(t *testing.T) {
	w := &markerWatch{marker: []byte(mainMarker), start: time.Now().Add(-time.Second)}
	for _, chunk := range []string{"boot noise\nBEN", "CH-M", "AIN boottime_ns=1\n", "BENCH-MAIN again\n"} {
		n, err := w.Write([]byte(chunk))
		assert.NoError(t, err)
		assert.Equal(t, len(chunk), n)
		if chunk == "BEN" || chunk == "boot noise\nBEN" {
			assert.Zero(t, w.elapsed(), "not yet")
		}
	}
	first := w.elapsed()
	assert.GreaterOrEqual(t, first, time.Second, "the marker split over three writes is found")

	never := &markerWatch{marker: []byte(mainMarker), start: time.Now()}
	never.Write([]byte("BENCH-MAI"))
	never.Write([]byte("X\n"))
	assert.Zero(t, never.elapsed())
}

func TestOutcomeFailure(t *testing.T) {
	assert.Equal(t, "", Outcome{}.Failure(time.Minute))
	assert.Equal(t, "timed out after 1m0s",
		Outcome{Err: fmt.Errorf("qemu: %w", qemu.ErrTimeout), TimedOut: true}.Failure(time.Minute))
	assert.Equal(t, "guest failed: qemu: kernel panic (QEMU status 255)",
		Outcome{Err: errors.New("qemu: kernel panic (QEMU status 255):\nreport")}.Failure(time.Minute))
	assert.Equal(t, "timed out after 30s (no PIT)",
		Outcome{Err: qemu.ErrTimeout, TimedOut: true, Hint: "no PIT"}.Failure(30*time.Second), "the side's hint follows the reason")
	assert.Equal(t, "", Outcome{Hint: "no PIT"}.Failure(time.Minute), "a clean exit has no reason, hint or not")
}
