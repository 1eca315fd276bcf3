// Command workload is the program that the benchmarks (tools/bench, `make
// bench`) boot on both sides: built into a gometal image, and built as a
// plain static linux/amd64 binary that is /init of a Linux initramfs. The
// same binary logic runs on both, so the ratios compare kernels, not
// programs.
//
// Usage:
//
//	workload [-scale F] [-heap MiB] [-tick D] [-hogs N] TEST...
//
// Each TEST (see tests.go) measures one thing and prints machine-readable
// lines on stdout (the protocol is described in report.go). The first line,
// printed as the first thing main does, is the BENCH-MAIN marker that the
// host timestamps to measure boot time.
//
// As /init on Linux, the program ends by writing its exit status to QEMU's
// isa-debug-exit port through /dev/port (exit.go), the same way the gometal
// kernel reports an exit; returning from init would only panic the kernel.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"time"
)

func main() {
	printMain()
	flag.Float64Var(&cfg.scale, "scale", 1, "multiply every iteration count by this factor")
	flag.IntVar(&cfg.heapMiB, "heap", 16, "live heap of the gc test, in MiB")
	flag.DurationVar(&cfg.tick, "tick", time.Millisecond, "period of the ticker test's ticker")
	flag.IntVar(&cfg.hogs, "hogs", 3, "CPU hogs of the ticker test")
	flag.Usage = usage
	flag.Parse()
	if flag.NArg() == 0 || cfg.scale <= 0 || cfg.heapMiB <= 0 || cfg.tick <= 0 || cfg.hogs < 0 {
		usage()
		exit(2)
	}
	for _, name := range flag.Args() {
		if _, ok := tests[name]; !ok {
			fmt.Fprintf(os.Stderr, "workload: unknown test %q\n", name)
			usage()
			exit(2)
		}
	}
	printInfo()
	procs := runtime.GOMAXPROCS(0)
	for _, name := range flag.Args() {
		tests[name].run()
		runtime.GOMAXPROCS(procs) // a test may have changed it
	}
	printDone()
	exit(0)
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: workload [-scale F] [-heap MiB] [-tick D] [-hogs N] TEST...")
	fmt.Fprintln(os.Stderr, "tests:")
	names := make([]string, 0, len(tests))
	for name := range tests {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(os.Stderr, "  %-15s %s\n", name, tests[name].doc)
	}
	flag.PrintDefaults()
}

// config holds the flags.
type config struct {
	scale   float64       // iteration count factor
	heapMiB int           // gc test's live heap
	tick    time.Duration // ticker test's period
	hogs    int           // ticker test's CPU hogs
}

var cfg config

// n scales an iteration count by -scale, keeping at least one iteration.
func n(base int) int {
	return max(1, int(float64(base)*cfg.scale))
}

// needCPUs reports whether the guest has at least want CPUs; when not, it
// prints every listed result as n/a and returns false.
func needCPUs(want int, names ...string) bool {
	if got := runtime.NumCPU(); got < want {
		reason := fmt.Sprintf("SMP not available: guest saw %d CPUs, the test needs %d", got, want)
		for _, name := range names {
			printNA(name, reason)
		}
		return false
	}
	return true
}
