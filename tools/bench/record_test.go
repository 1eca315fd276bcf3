package bench

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outcome builds an Outcome from workload output.
func outcome(t *testing.T, out string, err error) Outcome {
	t.Helper()
	rep, perr := ParseReport([]byte(out))
	require.NoError(t, perr)
	return Outcome{Report: rep, Err: err, TimedOut: errors.Is(err, qemu.ErrTimeout)}
}

func TestRecord(t *testing.T) {
	st := Step{Name: "sched", SMP: 1, Boot: true, Yields: []string{KeyHostToMain, KeyKernelToMain, "sched.spawn", "sched.gosched"}}
	o := outcome(t, "BENCH-MAIN boottime_ns=5\nBENCH-INFO numcpu=1\nBENCH name=sched.spawn value=12 unit=ns/op\nBENCH name=other value=1 unit=x\n", nil)
	o.HostToMain = 250 * time.Millisecond
	o.KernelToMain = 50 * time.Millisecond
	s := NewSamples()
	got := map[string]float64{}
	record(st, "gometal", o, time.Minute, s, got)
	assert.Equal(t, map[string]float64{KeyHostToMain: 250, KeyKernelToMain: 50, "sched.spawn": 12}, got)
	assert.False(t, s.Has("gometal", "other"), "results the step does not yield are dropped")
	assert.Equal(t, "the workload printed no result", s.Reason("gometal", "sched.gosched"))
}

func TestRecordTimeout(t *testing.T) {
	st := Step{Name: "ticker", SMP: 1, Boot: true, Yields: []string{KeyHostToMain, KeyKernelToMain, "time.ticker.p50"}}
	err := fmt.Errorf("qemu: %w: guest gave no exit status", qemu.ErrTimeout)
	o := outcome(t, "BENCH-MAIN\n", err)
	s := NewSamples()
	record(st, "gometal", o, 90*time.Second, s, map[string]float64{})
	assert.Equal(t, "timed out after 1m30s", s.Reason("gometal", "time.ticker.p50"))
	assert.Equal(t, "timed out after 1m30s", s.Reason("gometal", KeyHostToMain))
	assert.Empty(t, s.Values("gometal", "time.ticker.p50"))
}

func TestRecordFewerCPUs(t *testing.T) {
	st := Step{Name: "parallel@2", SMP: 2, Yields: []string{ParallelTimeKey(2)},
		Rename: map[string]string{"parallel.time": ParallelTimeKey(2)}}
	o := outcome(t, "BENCH-INFO numcpu=1\nBENCH name=parallel.time value=400 unit=ms\n", nil)
	s := NewSamples()
	got := map[string]float64{}
	record(st, "gometal", o, time.Minute, s, got)
	assert.Empty(t, got, "a guest with fewer CPUs than asked gives no number")
	assert.Equal(t, "SMP not available: guest saw 1 CPUs", s.Reason("gometal", ParallelTimeKey(2)))

	o = outcome(t, "BENCH-INFO numcpu=2\nBENCH name=parallel.time value=210 unit=ms\n", nil)
	record(st, "linux", o, time.Minute, s, got)
	assert.Equal(t, map[string]float64{ParallelTimeKey(2): 210}, got, "renamed to the vCPU count's key")
}

func TestRecordGuestNA(t *testing.T) {
	st := Step{Name: "smp2", SMP: 2, Yields: []string{"sched.wake.p50"}}
	o := outcome(t, "BENCH-INFO numcpu=2\nBENCH name=sched.wake.p50 na=\"clock broke\"\n", nil)
	s := NewSamples()
	record(st, "linux", o, time.Minute, s, map[string]float64{})
	assert.Equal(t, "clock broke", s.Reason("linux", "sched.wake.p50"))
}

func TestRecordFailure(t *testing.T) {
	st := Step{Name: "gc", SMP: 1, Yields: []string{"gc.total"}}
	o := outcome(t, "", errors.New("qemu: kernel panic (QEMU status 255):\nreason: page fault"))
	s := NewSamples()
	record(st, "gometal", o, time.Minute, s, map[string]float64{})
	assert.Equal(t, "guest failed: qemu: kernel panic (QEMU status 255)", s.Reason("gometal", "gc.total"))
}

func TestAddSpeedups(t *testing.T) {
	s := NewSamples()
	got := map[string]float64{ParallelTimeKey(1): 400, ParallelTimeKey(2): 200, ParallelTimeKey(4): 0}
	s.NA("x", ParallelTimeKey(8), "timed out after 2m0s")
	addSpeedups(parallelAt(1, 2, 4, 8), "x", got, s)
	assert.Equal(t, []float64{2}, s.Values("x", SpeedupKey(2)))
	assert.False(t, s.Has("x", SpeedupKey(4)), "a zero time gives nothing")
	assert.Equal(t, "timed out after 2m0s", s.Reason("x", SpeedupKey(8)))

	s = NewSamples()
	addSpeedups(parallelAt(1, 2), "y", map[string]float64{ParallelTimeKey(2): 200}, s)
	assert.Equal(t, "no time at 1 vCPU to compare with", s.Reason("y", SpeedupKey(2)))

	s = NewSamples()
	addSpeedups(parallelAt(1, 2), "z", map[string]float64{}, s)
	assert.False(t, s.Has("z", SpeedupKey(2)), "no parallel step ran (bench -only): no speedup row")
}

func TestRecordBootMachine(t *testing.T) {
	st := BootMachineSteps()[1] // boot@microvm
	o := outcome(t, "BENCH-MAIN boottime_ns=5\nBENCH-INFO numcpu=1\nhello, world\n", nil)
	o.HostToMain = 180 * time.Millisecond
	o.KernelToMain = 20 * time.Millisecond
	s := NewSamples()
	got := map[string]float64{}
	record(st, "gometal", o, time.Minute, s, got)
	assert.Equal(t, map[string]float64{"boot.microvm.host_to_main": 180, "boot.microvm.kernel_to_main": 20}, got)
	assert.False(t, s.Has("gometal", KeyHostToMain), "the sched step's rows are not filled")

	// A guest that never reached main: the reason, under the step's keys.
	o = outcome(t, "", errors.New("qemu: guest gave no exit status"))
	record(st, "linux", o, time.Minute, s, map[string]float64{})
	assert.Equal(t, "guest failed: qemu: guest gave no exit status", s.Reason("linux", "boot.microvm.host_to_main"))
	o = outcome(t, "", nil)
	record(st, "other", o, time.Minute, s, map[string]float64{})
	assert.Equal(t, "the main marker never arrived", s.Reason("other", "boot.microvm.host_to_main"))
	assert.Equal(t, "the guest told no time from kernel entry to main", s.Reason("other", "boot.microvm.kernel_to_main"))
}

// parallelAt is the CPU-bound job's speedup family at cpus.
func parallelAt(cpus ...int) Speedups {
	return Speedups{CPUs: cpus, Time: ParallelTimeKey, Speedup: SpeedupKey}
}

// TestAddScalingSpeedups: the scaling jobs' times at 1, 2 and 4 vCPUs
// become their own speedup rows, per repeat and per side, next to the
// CPU-bound job's, and a repeat that timed out at 4 vCPUs leaves a reason.
func TestAddScalingSpeedups(t *testing.T) {
	s := NewSamples()
	fams := speedupFamilies(Config{CPUs: []int{1, 2}})
	require.Len(t, fams, 1+len(ScalingJobs))
	gm := map[string]float64{ParallelTimeKey(1): 400, ParallelTimeKey(2): 250,
		FutexJob.TimeKey(1): 900, FutexJob.TimeKey(2): 600, FutexJob.TimeKey(4): 450,
		FilesJob.TimeKey(1): 700, FilesJob.TimeKey(4): 1000}
	lx := map[string]float64{FutexJob.TimeKey(1): 800, FutexJob.TimeKey(2): 400}
	s.NA("linux", FutexJob.TimeKey(4), "timed out after 2m0s")
	for _, f := range fams {
		addSpeedups(f, "gometal", gm, s)
		addSpeedups(f, "linux", lx, s)
	}
	assert.Equal(t, []float64{1.6}, s.Values("gometal", SpeedupKey(2)))
	assert.Equal(t, []float64{1.5}, s.Values("gometal", FutexJob.SpeedupKey(2)))
	assert.Equal(t, []float64{2}, s.Values("gometal", FutexJob.SpeedupKey(4)))
	assert.Equal(t, []float64{2}, s.Values("linux", FutexJob.SpeedupKey(2)))
	assert.Equal(t, "timed out after 2m0s", s.Reason("linux", FutexJob.SpeedupKey(4)))
	assert.False(t, s.Has("linux", SpeedupKey(2)), "no parallel step ran on that side")
	assert.False(t, s.Has("gometal", FutexJob.SpeedupKey(1)), "no speedup row at the base")
	assert.Equal(t, []float64{0.7}, s.Values("gometal", FilesJob.SpeedupKey(4)), "a job slower at 4 vCPUs than at 1")
	assert.False(t, s.Has("gometal", FilesJob.SpeedupKey(2)), "no time at 2 vCPUs, no reason: no row")
	assert.False(t, s.Has("linux", FilesJob.SpeedupKey(4)), "no files step ran on that side")
}
