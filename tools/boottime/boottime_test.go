package main

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gometal/gometal/qemu"
)

// sampleLog is the start of a real boot's kernel log (hello, q35, icount).
const sampleLog = `[gometal] booting: multiboot, 255 MiB RAM, command line "unknown_nmi_panic"
[gometal] clock: TSC 999.999 MHz from HPET, ACPI PM timer agrees within 0.1%
[gometal] kernel ready after 7.475 ms: 1 CPUs, 247 MiB for the program; starting it
[gometal] main.main reached 9.089 ms after kernel entry
[gometal] program exited with status 0 after 9.700 ms
`

func TestParseTimes(t *testing.T) {
	got, err := ParseTimes([]byte(sampleLog))
	require.NoError(t, err)
	assert.Equal(t, 7475*time.Microsecond, got.Ready)
	assert.Equal(t, 9089*time.Microsecond, got.Main)
	assert.Equal(t, "clock: TSC 999.999 MHz from HPET, ACPI PM timer agrees within 0.1%", got.Clock)

	_, err = ParseTimes([]byte("[gometal] kernel ready after 7.475 ms: 1 CPUs\n"))
	assert.ErrorContains(t, err, "main", "a boot that never reached main")
	_, err = ParseTimes([]byte("[gometal] main.main reached 9.089 ms after kernel entry\n"))
	assert.ErrorContains(t, err, "kernel ready")
}

func TestSpread(t *testing.T) {
	ms := func(v ...float64) []time.Duration {
		var ds []time.Duration
		for _, x := range v {
			ds = append(ds, time.Duration(x*float64(time.Millisecond)))
		}
		return ds
	}
	assert.Equal(t, "9.100 ms (9.089-9.360)", spread(ms(9.360, 9.089, 9.1)))
	assert.Equal(t, "2.500 ms (1.000-4.000)", spread(ms(4, 1, 3, 2)), "even count: mean of the middle two")
	in := ms(3, 1, 2)
	spread(in)
	assert.Equal(t, ms(3, 1, 2), in, "the caller's order is left alone")
}

func TestParseArgs(t *testing.T) {
	var errOut bytes.Buffer
	c, err := parseArgs([]string{"-n", "2", "-smp", "1, 4", "-machine", "q35,hpet=off", "a.img", "b.img"}, &errOut)
	require.NoError(t, err)
	assert.Equal(t, []int{1, 4}, c.smps)
	assert.Equal(t, 2, c.n)
	assert.Equal(t, []string{"a.img", "b.img"}, c.images)
	assert.True(t, c.icount)
	o := c.options("a.img", 4)
	assert.Equal(t, qemu.Options{Image: "a.img", SMP: 4, Machine: "q35,hpet=off", Timeout: 2 * time.Minute,
		Extra: []string{"-icount", "shift=1,sleep=off"}}, o)

	c, err = parseArgs([]string{"-icount=false", "-bios", "seabios", "a.img"}, &errOut)
	require.NoError(t, err)
	assert.Empty(t, c.options("a.img", 1).Extra, "wall-clock boots: no icount")
	assert.Equal(t, qemu.SeaBIOS, c.options("a.img", 1).BIOS)

	for _, bad := range [][]string{{}, {"-n", "0", "a.img"}, {"-smp", "x", "a.img"}, {"-smp", "0", "a.img"}} {
		_, err := parseArgs(bad, &errOut)
		assert.Error(t, err, "%q", bad)
	}
}

// TestRun boots two images (a fake QEMU) twice at 1 and 2 vCPUs: the
// images alternate, each boot is printed, the summary gives each cell's
// median, and a failed boot makes the status 1.
func TestRun(t *testing.T) {
	var order []string
	boot := func(_ context.Context, o qemu.Options) (*qemu.Result, error) {
		order = append(order, o.Image)
		if o.Image == "bad.img" {
			return nil, errors.New("no such file")
		}
		log := sampleLog
		if o.Image == "b.img" {
			log = "[gometal] kernel ready after 11.474 ms: x\n[gometal] main.main reached 13.089 ms after kernel entry\n"
		}
		return &qemu.Result{KernelLog: []byte(log)}, nil
	}
	var out, errOut bytes.Buffer
	status := run(t.Context(), []string{"-n", "2", "-smp", "1,2", "a.img", "b.img"}, &out, &errOut, boot)
	assert.Equal(t, 0, status, errOut.String())
	assert.Equal(t, []string{"a.img", "b.img", "a.img", "b.img", "a.img", "b.img", "a.img", "b.img"}, order)
	assert.Contains(t, out.String(), "a.img smp=1: ready 7.475 ms, main 9.089 ms | clock: TSC 999.999 MHz")
	assert.Contains(t, out.String(), "b.img smp=2: ready 11.474 ms, main 13.089 ms | no clock: line")
	assert.Contains(t, out.String(), "a.img smp=2 (2 boots): ready 7.475 ms (7.475-7.475), main 9.089 ms (9.089-9.089)")
	assert.Contains(t, out.String(), "b.img smp=1 (2 boots): ready 11.474 ms (11.474-11.474), main 13.089 ms (13.089-13.089)")

	out.Reset()
	errOut.Reset()
	status = run(t.Context(), []string{"-n", "1", "a.img", "bad.img"}, &out, &errOut, boot)
	assert.Equal(t, 1, status)
	assert.Contains(t, errOut.String(), "bad.img at 1 vCPUs: no such file")
	assert.Contains(t, out.String(), "bad.img smp=1: no boot")

	assert.Equal(t, 2, run(t.Context(), nil, &out, &errOut, boot), "no image: usage error")
}
