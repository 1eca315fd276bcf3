package bench

import (
	"fmt"
	"strconv"
	"time"
)

// Step is one guest boot that every repeat makes on each side.
type Step struct {
	Name  string
	SMP   int      // vCPUs
	Mem   string   // -m; "" means Config.Mem
	Env   []string // the program's environment
	Flags []string // workload flags (Config.Scale's -scale is added)
	Tests []string // workload tests
	// Yields are the metric keys the step produces; each that a side does
	// not produce becomes n/a with the reason.
	Yields []string
	// Rename maps a workload result name to the metric key it fills, for
	// results that several steps print (parallel.time at each vCPU count).
	Rename map[string]string
	// Boot says the step also measures the boot rows (KeyHostToMain and
	// KeyKernelToMain, or what Rename maps them to).
	Boot bool
	// Machine is the QEMU machine (qemu.Options.Machine) of both sides'
	// boots; "" means qemu's default, q35.
	Machine string
	// Timeout, if positive and below Config.Timeout, limits this step's
	// guest runs instead (Step.timeout).
	Timeout time.Duration
	// HTTP says the step boots the HTTP server (Side.HTTP) instead of the
	// workload and drives it from the host (Config.Load); Flags are then
	// the server's arguments and Tests are empty.
	HTTP bool
}

// timeout returns the limit of the step's guest runs under the run's
// limit: the shorter of the two, where the step has one.
func (s Step) timeout(run time.Duration) time.Duration {
	if s.Timeout > 0 && s.Timeout < run {
		return s.Timeout
	}
	return run
}

// key returns the metric key a workload result fills.
func (s Step) key(result string) string {
	if k, ok := s.Rename[result]; ok {
		return k
	}
	return result
}

// DefaultPlan is what `make bench` runs: the one-CPU scheduler, timer and
// boot measurements in one boot, the two-CPU ones in another, each ticker
// with CPU hogs alone (it may hang where asynchronous preemption does not
// work: its timeout must not cost the other rows), the gc test with memory
// for its heap, the boot rows per machine (q35 and microvm), the network
// rows, the parallel job at each vCPU count, and the scaling jobs (the
// futex-heavy job, file round trips) at 1, 2 and 4 vCPUs.
func DefaultPlan(cfg Config) []Step {
	plan := []Step{
		{
			Name: "sched", SMP: 1, Boot: true,
			Tests: []string{"spawn", "pingpong", "gosched", "mutex", "wgfan", "sleep"},
			Yields: []string{KeyHostToMain, KeyKernelToMain, "sched.spawn", "sched.pingpong.local",
				"sched.gosched", "sched.mutex", "sched.wgfan", "time.sleep.p50", "time.sleep.p99"},
		},
		{
			Name: "smp2", SMP: 2, Tests: []string{"pingpong-cross", "wake"},
			Yields: []string{"sched.pingpong.cross", "sched.wake.p50", "sched.wake.p99"},
		},
		{
			// Issue 4: a 1 ms ticker with the default slice.
			Name: "ticker", SMP: 1, Env: []string{"GOMAXPROCS=1"}, Flags: tickerFlags("1ms"), Tests: []string{"ticker"},
			Yields: []string{"time.ticker.p50", "time.ticker.p99", "time.ticker.max"},
		},
		{
			// The same with the kernel's goroutine time slices off
			// (docs/slices.md): what the runtime's sysmon alone achieves.
			// Linux ignores the option (it reaches /init's environment).
			Name: "ticker-sliceoff", SMP: 1, Env: []string{"GOMAXPROCS=1", "slice=off"},
			Flags: tickerFlags("1ms"), Tests: []string{"ticker"},
			Yields: []string{KeyTickerOffP50, KeyTickerOffP99, KeyTickerOffMax},
			Rename: map[string]string{"time.ticker.p50": KeyTickerOffP50, "time.ticker.p99": KeyTickerOffP99,
				"time.ticker.max": KeyTickerOffMax},
		},
		{
			Name: "gc", SMP: 1, Mem: gcMem(cfg.HeapMiB),
			Flags:  []string{"-heap", strconv.Itoa(cfg.HeapMiB)},
			Tests:  []string{"gc"},
			Yields: []string{"gc.pause.p50", "gc.pause.p99", "gc.total", "gc.count"},
		},
	}
	plan = append(plan, Ticker5Steps()...)
	plan = append(plan, BootMachineSteps()...)
	plan = append(plan, NetStep(max(1, cfg.NetSMP)))
	for _, n := range cfg.CPUs {
		key, mean, low := ParallelTimeKey(n), BusyMeanKey(n), BusyMinKey(n)
		plan = append(plan, Step{
			Name: fmt.Sprintf("parallel@%d", n), SMP: n, Tests: []string{"parallel"},
			Yields: []string{key, mean, low},
			Rename: map[string]string{"parallel.time": key, "parallel.busy.mean": mean, "parallel.busy.min": low},
		})
	}
	return append(plan, ScalingSteps()...)
}

// ScalingSteps are the scaling jobs' boots, one per job and ScalingCPUs
// count, named TEST@N (-only); each yields the job's TimeKey(N).
func ScalingSteps() []Step {
	var steps []Step
	for _, j := range ScalingJobs {
		for _, n := range ScalingCPUs {
			key := j.TimeKey(n)
			steps = append(steps, Step{
				Name: fmt.Sprintf("%s@%d", j.Test, n), SMP: n, Tests: []string{j.Test},
				Yields: []string{key}, Rename: map[string]string{j.Test + ".time": key},
			})
		}
	}
	return steps
}

// Ticker5Steps are issue 8's boots: the 5 ms ticker with CPU hogs at each
// of Ticker5Slices and Ticker5CPUs, named ticker5-SLICE@N (-only).
func Ticker5Steps() []Step {
	var steps []Step
	for _, smp := range Ticker5CPUs {
		for _, slice := range Ticker5Slices {
			p50, p99 := Ticker5Key(slice, smp, "p50"), Ticker5Key(slice, smp, "p99")
			steps = append(steps, Step{
				Name: fmt.Sprintf("ticker5-%s@%d", slice, smp), SMP: smp,
				Env:   []string{"GOMAXPROCS=1", "slice=" + slice},
				Flags: tickerFlags("5ms"), Tests: []string{"ticker"},
				Yields: []string{p50, p99},
				Rename: map[string]string{"time.ticker.p50": p50, "time.ticker.p99": p99},
			})
		}
	}
	return steps
}

// BootMachines are the QEMU machines of the boot rows per machine: q35
// (the rest of the table's machine) and microvm (docs/microvm.md).
var BootMachines = []string{"q35", "microvm"}

// BootStepTimeout limits the boot@MACHINE steps' guests: they reach main
// within 15 s on a loaded 2-core TCG host when they boot at all, and
// Debian's kernel hangs on microvm in some boots (LinuxMicrovmHint), which
// should not cost the run's whole -timeout each time.
const BootStepTimeout = 45 * time.Second

// BootMachineSteps are the boots of the boot rows per machine: the
// workload's hello test alone at 1 vCPU on each of BootMachines, named
// boot@MACHINE (-only). They measure the same two boot rows as the sched
// step, under keys of their own (BootKey).
func BootMachineSteps() []Step {
	var steps []Step
	for _, m := range BootMachines {
		host, kernel := BootKey(KeyHostToMain, m), BootKey(KeyKernelToMain, m)
		steps = append(steps, Step{
			Name: "boot@" + m, SMP: 1, Machine: m, Boot: true, Tests: []string{"hello"}, Timeout: BootStepTimeout,
			Yields: []string{host, kernel},
			Rename: map[string]string{KeyHostToMain: host, KeyKernelToMain: kernel},
		})
	}
	return steps
}

// tickerFlags are the ticker test's flags: a ticker of period beside 3 hogs.
func tickerFlags(period string) []string {
	return []string{"-tick", period, "-hogs", "3"}
}

// NetStep is the network rows' step: the HTTP server at smp vCPUs.
func NetStep(smp int) Step {
	return Step{Name: "net", SMP: smp, HTTP: true,
		Yields: []string{KeyHTTPRPS, KeyHTTPP50, KeyHTTPP99, KeyHTTPMean, KeyHTTPBulk}}
}

// gcMem is guest memory for the gc test: three times the live heap (the
// heap grows to twice the live heap at GOGC=100) plus room for the rest,
// and never less than 256 MiB.
func gcMem(heapMiB int) string {
	return fmt.Sprintf("%dM", max(256, 3*heapMiB+128))
}
