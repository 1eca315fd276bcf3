package bench

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"time"
)

// Config says what Run measures and where it keeps its files.
type Config struct {
	Root    string        // the gometal module's root
	Build   string        // where the workload is built; "" means Root/build/bench/work
	Cache   string        // where Debian's kernel is kept; "" means Root/build/bench/debian
	Repeats int           // boots of every step on each side; 0 means 3
	CPUs    []int         // vCPU counts of the parallel rows; nil means DefaultCPUs()
	Scale   float64       // the workload's -scale; 0 means 1
	HeapMiB int           // the gc test's live heap; 0 means 16
	Mem     string        // guest memory unless a step says otherwise; "" means 256M
	Timeout time.Duration // per guest run; 0 means 120s
	MinMem  bool          // bisect the smallest -m that boots hello world
	Plan    []Step        // the steps; nil means DefaultPlan
	Log     io.Writer     // progress lines; nil discards them
	Console io.Writer     // every guest's serial stream as it arrives, or nil
}

// withDefaults fills in Config's zero fields.
func (c Config) withDefaults() Config {
	if c.Build == "" {
		c.Build = filepath.Join(c.Root, "build", "bench", "work")
	}
	if c.Cache == "" {
		c.Cache = filepath.Join(c.Root, "build", "bench", "debian")
	}
	if c.Repeats <= 0 {
		c.Repeats = 3
	}
	if c.CPUs == nil {
		c.CPUs = DefaultCPUs()
	}
	if c.Scale <= 0 {
		c.Scale = 1
	}
	if c.HeapMiB <= 0 {
		c.HeapMiB = 16
	}
	if c.Mem == "" {
		c.Mem = "256M"
	}
	if c.Timeout <= 0 {
		c.Timeout = 120 * time.Second
	}
	if c.Plan == nil {
		c.Plan = DefaultPlan(c)
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	return c
}

// Run builds the workload, fetches Debian's kernel, boots every step of
// the plan Repeats times on both sides (one guest at a time, the sides'
// order alternating between repeats) and returns the table. A guest that
// fails or times out makes its rows n/a; only a failure to build or to
// fetch the kernel is an error.
func Run(ctx context.Context, cfg Config) (*Table, error) {
	cfg = cfg.withDefaults()
	fmt.Fprintf(cfg.Log, "bench: building %s for both sides in %s\n", WorkloadPkg, cfg.Build)
	w, err := BuildWorkload(ctx, cfg.Root, cfg.Build)
	if err != nil {
		return nil, err
	}
	k, err := FetchDebianKernel(ctx, cfg.Cache, cfg.Log)
	if err != nil {
		return nil, err
	}
	gm, err := GometalSide(w.Image)
	if err != nil {
		return nil, err
	}
	lx, err := LinuxSide(k.Vmlinuz, w.Initramfs)
	if err != nil {
		return nil, err
	}
	sides := []Side{gm, lx}
	s := NewSamples()
	for _, side := range sides {
		s.Add(side.Name, KeySize, float64(side.Size)/(1<<20))
		s.NA(side.Name, KeyNetwork, NetworkNA)
	}
	for r := range cfg.Repeats {
		order := sides
		if r%2 == 1 {
			order = []Side{lx, gm}
		}
		for _, side := range order {
			if err := runRepeat(ctx, cfg, side, r, s); err != nil {
				return nil, err
			}
		}
	}
	if cfg.MinMem {
		for _, side := range sides {
			if err := minMemRow(ctx, cfg, side, s); err != nil {
				return nil, err
			}
		}
	}
	meta := Collect(ctx, cfg, k)
	return BuildTable(Catalog(cfg.CPUs, cfg.HeapMiB), []string{gm.Name, lx.Name}, s, cfg.Repeats, meta), nil
}

// runRepeat boots every step once on side and records what it gave; only
// the cancellation of ctx is an error.
func runRepeat(ctx context.Context, cfg Config, side Side, repeat int, s *Samples) error {
	got := map[string]float64{}
	for _, st := range cfg.Plan {
		b := Boot{SMP: st.SMP, Mem: st.Mem, Env: st.Env, Timeout: cfg.Timeout,
			Args: append(append([]string{"-scale", strconv.FormatFloat(cfg.Scale, 'g', -1, 64)}, st.Flags...), st.Tests...)}
		if b.Mem == "" {
			b.Mem = cfg.Mem
		}
		start := time.Now()
		o := side.Run(ctx, b, cfg.Console)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		status := "ok"
		if f := o.Failure(cfg.Timeout); f != "" {
			status = f
		}
		fmt.Fprintf(cfg.Log, "bench: repeat %d/%d %-8s %-12s %6.1fs  %s\n",
			repeat+1, cfg.Repeats, side.Name, st.Name, time.Since(start).Seconds(), status)
		record(st, side.Name, o, cfg.Timeout, s, got)
	}
	addSpeedups(cfg.CPUs, side.Name, got, s)
	return nil
}

// record adds what one guest run gave to s, and its values to got (this
// repeat's values by key).
func record(st Step, side string, o Outcome, timeout time.Duration, s *Samples, got map[string]float64) {
	failure := o.Failure(timeout)
	smpNA := ""
	if n := o.Report.NumCPU(); n > 0 && n < st.SMP {
		smpNA = fmt.Sprintf("SMP not available: guest saw %d CPUs", n)
	}
	add := func(key string, v float64) {
		s.Add(side, key, v)
		got[key] = v
	}
	if st.Boot && o.HostToMain > 0 {
		add(KeyHostToMain, float64(o.HostToMain)/float64(time.Millisecond))
	}
	if st.Boot && o.KernelToMain > 0 {
		add(KeyKernelToMain, float64(o.KernelToMain)/float64(time.Millisecond))
	}
	for _, res := range o.Report.Results {
		key := st.key(res.Name)
		switch {
		case !slices.Contains(st.Yields, key):
		case smpNA != "":
			s.NA(side, key, smpNA)
		case res.NA != "":
			s.NA(side, key, res.NA)
		default:
			add(key, res.Value)
		}
	}
	for _, key := range st.Yields {
		if _, ok := got[key]; ok || s.Reason(side, key) != "" {
			continue
		}
		switch {
		case smpNA != "":
			s.NA(side, key, smpNA)
		case failure != "":
			s.NA(side, key, failure)
		case key == KeyHostToMain:
			s.NA(side, key, "the main marker never arrived")
		case key == KeyKernelToMain:
			s.NA(side, key, "the guest told no time from kernel entry to main")
		default:
			s.NA(side, key, "the workload printed no result")
		}
	}
}

// addSpeedups turns one repeat's parallel times into speedups over 1 vCPU.
func addSpeedups(cpus []int, side string, got map[string]float64, s *Samples) {
	t1, ok := got[ParallelTimeKey(1)]
	for _, n := range cpus {
		if n == 1 {
			continue
		}
		key := SpeedupKey(n)
		tn, okN := got[ParallelTimeKey(n)]
		switch {
		case ok && okN && tn > 0:
			s.Add(side, key, t1/tn)
		case !okN && s.Reason(side, ParallelTimeKey(n)) != "":
			s.NA(side, key, s.Reason(side, ParallelTimeKey(n)))
		case !ok:
			s.NA(side, key, "no time at 1 vCPU to compare with")
		}
	}
}

// DefaultCPUs are the vCPU counts of the parallel rows: 1, 2, 4 and 8, as
// far as the host has cores for them (TCG runs one host thread per vCPU).
func DefaultCPUs() []int {
	cpus := []int{1}
	for n := 2; n <= 8 && n <= runtime.NumCPU(); n *= 2 {
		cpus = append(cpus, n)
	}
	return cpus
}
