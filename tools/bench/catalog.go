package bench

import (
	"fmt"
	"strings"
	"time"
)

// Better says which way a metric improves.
type Better int

// Directions of improvement; Info rows are context, not compared.
const (
	Lower Better = iota
	Higher
	Info
)

func (b Better) String() string {
	switch b {
	case Lower:
		return "lower"
	case Higher:
		return "higher"
	}
	return "info"
}

// Metric is one row of the table.
type Metric struct {
	Key    string // the workload's result name, or a name the runner derives
	Title  string // what the row says
	Unit   string
	Better Better
}

// Keys of the rows the runner derives rather than reads from the workload.
const (
	KeyHostToMain   = "boot.host_to_main"
	KeyKernelToMain = "boot.kernel_to_main"
	KeySize         = "boot.size"
	KeyMinMem       = "boot.min_mem"
	KeyTickerOffP50 = "time.ticker.sliceoff.p50"
	KeyTickerOffP99 = "time.ticker.sliceoff.p99"
	KeyTickerOffMax = "time.ticker.sliceoff.max"
)

// Catalog lists the rows in table order for cfg: the vCPU counts of the
// parallel rows, the gc test's heap, the network rows' vCPUs and load.
func Catalog(cfg Config) []Metric {
	cfg = cfg.withDefaults()
	cpus, heapMiB, l := cfg.CPUs, cfg.HeapMiB, cfg.Load
	ms := []Metric{
		{KeyHostToMain, "boot: QEMU start to main (host clock)", "ms", Lower},
		{KeyKernelToMain, "boot: kernel entry to main (guest clock)", "ms", Lower},
	}
	for _, m := range BootMachines {
		ms = append(ms,
			Metric{BootKey(KeyHostToMain, m), fmt.Sprintf("boot on %s, hello test: QEMU start to main (host clock)", m), "ms", Lower},
			Metric{BootKey(KeyKernelToMain, m), fmt.Sprintf("boot on %s, hello test: kernel entry to main (guest clock)", m), "ms", Lower})
	}
	ms = append(ms, []Metric{
		{KeySize, "boot: image size (Linux: vmlinuz + initramfs)", "MiB", Lower},
		{KeyMinMem, "boot: smallest -m that boots hello world", "MiB", Lower},
		{"sched.spawn", "goroutine create+exit", "ns/op", Lower},
		{"sched.pingpong.local", "unbuffered channel ping-pong, one P (round trip)", "ns/op", Lower},
		{"sched.pingpong.cross", "unbuffered channel ping-pong, 2 Ps, locked threads (round trip)", "ns/op", Lower},
		{"sched.gosched", "runtime.Gosched round trip, one P", "ns/op", Lower},
		{"sched.mutex", "contended sync.Mutex hand-off (4 goroutines)", "ns/op", Lower},
		{"sched.wgfan", "WaitGroup fan-out/fan-in of 10,000 goroutines", "ms", Lower},
		{"sched.wake.p50", "cross-CPU wake latency p50", "us", Lower},
		{"sched.wake.p99", "cross-CPU wake latency p99", "us", Lower},
		{"time.sleep.p50", "time.Sleep(1ms) lateness p50", "us", Lower},
		{"time.sleep.p99", "time.Sleep(1ms) lateness p99", "us", Lower},
		{"time.ticker.p50", "1ms ticker lateness, 3 CPU hogs, GOMAXPROCS=1, 1 vCPU, p50", "us", Lower},
		{"time.ticker.p99", "1ms ticker lateness, 3 CPU hogs, GOMAXPROCS=1, 1 vCPU, p99", "us", Lower},
		{"time.ticker.max", "1ms ticker lateness, 3 CPU hogs, GOMAXPROCS=1, 1 vCPU, max", "us", Lower},
		{KeyTickerOffP50, "the same with slice=off (gometal: sysmon only), p50", "us", Lower},
		{KeyTickerOffP99, "the same with slice=off (gometal: sysmon only), p99", "us", Lower},
		{KeyTickerOffMax, "the same with slice=off (gometal: sysmon only), max", "us", Lower},
	}...)
	for _, smp := range Ticker5CPUs {
		for _, slice := range Ticker5Slices {
			for _, stat := range []string{"p50", "p99"} {
				title := fmt.Sprintf("5ms ticker lateness %s, 3 CPU hogs, GOMAXPROCS=1, slice=%s, %d vCPU", stat, slice, smp)
				if slice == "off" {
					title += " (gometal: sysmon only)"
				}
				ms = append(ms, Metric{Ticker5Key(slice, smp, stat), title, "us", Lower})
			}
		}
	}
	for _, n := range cpus {
		if n == 1 {
			ms = append(ms, Metric{ParallelTimeKey(1), "CPU-bound job at 1 vCPU", "ms", Lower})
		} else {
			ms = append(ms, Metric{SpeedupKey(n), fmt.Sprintf("CPU-bound job speedup at %d vCPUs over 1", n), "x", Higher})
		}
		ms = append(ms,
			Metric{BusyMeanKey(n), fmt.Sprintf("  per-CPU busy during it at %d vCPUs, mean", n), "%", Info},
			Metric{BusyMinKey(n), fmt.Sprintf("  per-CPU busy during it at %d vCPUs, least busy CPU", n), "%", Info})
	}
	for _, j := range ScalingJobs {
		for _, n := range ScalingCPUs {
			if n == 1 {
				ms = append(ms, Metric{j.TimeKey(1), j.Title + " at 1 vCPU", "ms", Lower})
				continue
			}
			ms = append(ms, Metric{j.SpeedupKey(n), fmt.Sprintf("%s speedup at %d vCPUs over 1", j.Name, n), "x", Higher})
		}
	}
	heap := fmt.Sprintf(" (%d MiB live heap)", heapMiB)
	http := fmt.Sprintf("HTTP GET %s, %d keep-alive connections, %d vCPU", l.Path, l.Conns, cfg.NetSMP)
	return append(ms,
		Metric{"gc.pause.p50", "GC pause p50" + heap, "us", Lower},
		Metric{"gc.pause.p99", "GC pause p99" + heap, "us", Lower},
		Metric{"gc.total", "heap churn total time" + heap, "ms", Lower},
		Metric{"gc.count", "GC cycles during the churn", "count", Info},
		Metric{KeyHTTPRPS, http + ": requests per second", "req/s", Higher},
		Metric{KeyHTTPP50, http + ": latency p50", "us", Lower},
		Metric{KeyHTTPP99, http + ": latency p99", "us", Lower},
		Metric{KeyHTTPMean, http + ": latency mean", "us", Lower},
		Metric{KeyHTTPBulk, fmt.Sprintf("HTTP GET of %s bodies, one connection, %d vCPU", sizeName(l.BulkBytes), cfg.NetSMP), "MiB/s", Higher},
	)
}

// Ticker5Slices are the kernel's slice= settings of the 5 ms ticker rows
// (issue 8), and Ticker5CPUs their vCPU counts. Linux ignores the option
// (it reaches /init's environment), so its column is the same program
// without kernel slices at that vCPU count.
var (
	Ticker5Slices = []string{"1ms", "2ms", "off"}
	Ticker5CPUs   = []int{1, 4}
)

// Ticker5Key names a 5 ms ticker row: the lateness statistic stat (p50,
// p99) with slice=slice at smp vCPUs.
func Ticker5Key(slice string, smp int, stat string) string {
	return fmt.Sprintf("time.ticker5.slice%s.%s@%d", slice, stat, smp)
}

// Bound is a goal for the first side's (gometal's) median of a metric.
type Bound struct {
	Max float64 // the largest value that meets it, in the metric's unit
	Why string  // where it comes from
}

// Bounds returns the goals by metric key: issue 8's p50 lateness of the
// 5 ms ticker within the slice plus 1 ms, for every slice that is on.
func Bounds() map[string]Bound {
	b := map[string]Bound{}
	for _, slice := range Ticker5Slices {
		d, err := time.ParseDuration(slice)
		if err != nil {
			continue // off
		}
		limit := float64((d + time.Millisecond).Microseconds())
		for _, smp := range Ticker5CPUs {
			b[Ticker5Key(slice, smp, "p50")] = Bound{Max: limit, Why: "slice + 1 ms"}
		}
	}
	return b
}

// BootKey names a boot row (KeyHostToMain or KeyKernelToMain) measured on
// QEMU machine m by its boot@m step: "boot.microvm.host_to_main".
func BootKey(key, m string) string {
	return strings.Replace(key, "boot.", "boot."+m+".", 1)
}

// ParallelTimeKey names the parallel job's time at n vCPUs.
func ParallelTimeKey(n int) string { return fmt.Sprintf("parallel.time@%d", n) }

// BusyMeanKey and BusyMinKey name the per-CPU busy shares during the
// parallel job at n vCPUs: every CPU should be busy.
func BusyMeanKey(n int) string { return fmt.Sprintf("parallel.busy.mean@%d", n) }
func BusyMinKey(n int) string  { return fmt.Sprintf("parallel.busy.min@%d", n) }

// SpeedupKey names the parallel job's speedup at n vCPUs.
func SpeedupKey(n int) string { return fmt.Sprintf("parallel.speedup@%d", n) }

// ScalingCPUs are the vCPU counts of the scaling jobs' rows (issue 18):
// 1, 2 and 4 whatever the host's cores, so that every run has them; on a
// host with fewer cores the vCPUs share them (docs/performance.md).
var ScalingCPUs = []int{1, 2, 4}

// A ScalingJob is a workload test of fixed work whose times at
// ScalingCPUs divide into speedups over 1 vCPU (issue 18): its rows are
// the time at 1 vCPU and the speedups, its boots TEST@N (-only).
type ScalingJob struct {
	Test  string // the workload's test, which prints Test+".time"
	Name  string // the rows' name: "futex-heavy job"
	Title string // the time row's title, without " at 1 vCPU"
}

// ScalingJobs are the scaling jobs, in the table's order: the
// futex-heavy job, and parallel file round trips.
var ScalingJobs = []ScalingJob{
	{Test: "futex", Name: "futex-heavy job", Title: "futex-heavy job (16 goroutines, 2 mutexes, channel rounds)"},
	{Test: "files", Name: "file round trips", Title: "file round trips (8 goroutines, a directory each: write, read, stat, remove)"},
}

// TimeKey names the job's time at n vCPUs ("futex.time@2"), and
// SpeedupKey its speedup at n vCPUs over 1 ("futex.speedup@2").
func (j ScalingJob) TimeKey(n int) string    { return fmt.Sprintf("%s.time@%d", j.Test, n) }
func (j ScalingJob) SpeedupKey(n int) string { return fmt.Sprintf("%s.speedup@%d", j.Test, n) }

// FutexJob and FilesJob are ScalingJobs' entries.
var (
	FutexJob = ScalingJobs[0]
	FilesJob = ScalingJobs[1]
)

// sizeName prints a byte count in MiB or KiB where it is a whole number
// of them.
func sizeName(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
