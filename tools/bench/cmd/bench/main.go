// Command bench runs the benchmarks side by side with Linux (`make bench`):
// bench/workload booted as a gometal image and as /init of Debian's kernel,
// in the same QEMU machine, with repeats. It prints the table (Markdown) on
// stdout and writes it, as Markdown and CSV, with an SVG chart of the
// ratios, to -out. See tools/bench and docs/performance.md.
//
// Usage:
//
//	go run ./tools/bench/cmd/bench [-repeats 3] [-cpus 1,2,4,8] [-scale 1] [-heap 16] [-only STEP,...] [-netsmp 1] [-conns 8] [-netdur 5s] [-out bench/results] [-v]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gometal/gometal/tools/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := bench.Config{Log: os.Stderr}
	var cpus, out, only string
	var verbose bool
	flag.StringVar(&cfg.Root, "root", "", "the gometal module's root (default: found from the current directory)")
	flag.IntVar(&cfg.Repeats, "repeats", 3, "boots of every step on each side")
	flag.StringVar(&cpus, "cpus", joinInts(bench.DefaultCPUs()), "vCPU counts of the parallel rows (default: 1, 2, 4, 8 up to the host's cores)")
	flag.Float64Var(&cfg.Scale, "scale", 1, "scale every iteration count of the workload")
	flag.IntVar(&cfg.HeapMiB, "heap", 16, "live heap of the gc test in MiB (1024 for 1 GiB; guest memory grows with it)")
	flag.StringVar(&cfg.Mem, "mem", "256M", "guest memory (-m) unless a test needs more; the top of the -m bisection")
	flag.DurationVar(&cfg.Timeout, "timeout", 120*time.Second, "limit of one guest run; a guest past it is n/a")
	flag.BoolVar(&cfg.MinMem, "minmem", true, "bisect the smallest -m that boots hello world on both sides")
	flag.StringVar(&only, "only", "", "run only these steps of the plan (comma-separated: sched, smp2, ticker, ticker-sliceoff, ticker5-SLICE@N for SLICE 1ms, 2ms, off and N 1, 4, boot@q35, boot@microvm, gc, net, parallel@N, futex@N for N 1, 2, 4); implies -minmem=false unless given")
	flag.IntVar(&cfg.NetSMP, "netsmp", 1, "vCPUs of the network rows")
	flag.IntVar(&cfg.Load.Conns, "conns", bench.DefaultLoad().Conns, "keep-alive connections of the HTTP load")
	flag.DurationVar(&cfg.Load.Duration, "netdur", bench.DefaultLoad().Duration, "measured time of the HTTP load (after a warm-up)")
	flag.StringVar(&out, "out", "", "directory for bench.md, bench.csv and bench.svg (default: ROOT/bench/results)")
	flag.BoolVar(&verbose, "v", false, "copy every guest's serial console to stderr")
	flag.Parse()
	if flag.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", flag.Args())
	}
	var err error
	if cfg.CPUs, err = parseInts(cpus); err != nil {
		return fmt.Errorf("-cpus: %w", err)
	}
	if cfg.Root == "" {
		if cfg.Root, err = findRoot(); err != nil {
			return err
		}
	}
	if only != "" {
		if cfg.Plan, err = selectSteps(bench.DefaultPlan(cfg), only); err != nil {
			return fmt.Errorf("-only: %w", err)
		}
		minmemSet := false
		flag.Visit(func(f *flag.Flag) { minmemSet = minmemSet || f.Name == "minmem" })
		if !minmemSet {
			cfg.MinMem = false
		}
	}
	if out == "" {
		out = filepath.Join(cfg.Root, "bench", "results")
	}
	if verbose {
		cfg.Console = os.Stderr
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	t, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := bench.WriteMarkdown(os.Stdout, t); err != nil {
		return err
	}
	paths, err := bench.WriteResults(out, t)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "bench: wrote %s\n", strings.Join(paths, ", "))
	return nil
}

// findRoot walks up from the current directory to the gometal module.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && strings.Contains(string(mod), "module github.com/gometal/gometal\n") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("not inside the gometal module; use -root")
		}
		dir = parent
	}
}

// parseInts parses "1,2,4"; the list must hold 1, the base of speedups.
func parseInts(s string) ([]int, error) {
	var ns []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		ns = append(ns, n)
	}
	if len(ns) == 0 || ns[0] != 1 {
		return nil, errors.New("the list must start with 1 (the base of the speedups)")
	}
	return ns, nil
}

func joinInts(ns []int) string {
	s := make([]string, len(ns))
	for i, n := range ns {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

// selectSteps keeps the steps of plan named in the comma-separated list.
func selectSteps(plan []bench.Step, names string) ([]bench.Step, error) {
	var steps []bench.Step
	for _, name := range strings.Split(names, ",") {
		name = strings.TrimSpace(name)
		i := slices.IndexFunc(plan, func(st bench.Step) bool { return st.Name == name })
		if i < 0 {
			known := make([]string, len(plan))
			for j, st := range plan {
				known[j] = st.Name
			}
			return nil, fmt.Errorf("no step %q (the plan has %s)", name, strings.Join(known, ", "))
		}
		steps = append(steps, plan[i])
	}
	return steps, nil
}
