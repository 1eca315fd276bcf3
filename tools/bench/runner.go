package bench

import (
	"context"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"time"

	"github.com/gometal/gometal/qemu"
)

// Run fetches Debian's kernel, builds the workload, boots every step of
// the plan Repeats times on both sides (one guest at a time, the sides'
// order alternating between repeats) and returns the table. A guest that
// fails or times out makes its rows n/a; only a failure to build or to
// fetch the kernel is an error.
func Run(ctx context.Context, cfg Config) (*Table, error) {
	cfg = cfg.withDefaults()
	if _, err := exec.LookPath(qemu.DefaultQEMU); err != nil {
		return nil, fmt.Errorf("%w (%v)", qemu.ErrNoQEMU, err)
	}
	load := LoadAverage()
	k, err := FetchDebianKernel(ctx, cfg.Cache, cfg.Log)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Log, "bench: building %s for both sides in %s\n", WorkloadPkg, cfg.Build)
	w, err := BuildWorkload(ctx, cfg.Root, cfg.Build)
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
	if slices.ContainsFunc(cfg.Plan, func(st Step) bool { return st.HTTP }) {
		fmt.Fprintf(cfg.Log, "bench: building %s and %s for both sides\n", ServerPkg, NetinitPkg)
		if err := BuildServer(ctx, cfg.Root, cfg.Build, k, &gm, &lx); err != nil {
			return nil, err
		}
		for _, side := range []Side{gm, lx} {
			if side.HTTP == nil {
				fmt.Fprintf(cfg.Log, "bench: %s: no network rows: %s\n", side.Name, side.HTTPNA)
			}
		}
	}
	sides := []Side{gm, lx}
	s := NewSamples()
	for _, side := range sides {
		s.Add(side.Name, KeySize, float64(side.Size)/(1<<20))
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
	meta := Collect(ctx, cfg, k, load)
	t := BuildTable(Catalog(cfg), []string{gm.Name, lx.Name}, s, cfg.Repeats, meta)
	t.CheckBounds(Bounds())
	return t, nil
}

// runRepeat boots every step once on side and records what it gave; only
// the cancellation of ctx is an error.
func runRepeat(ctx context.Context, cfg Config, side Side, repeat int, s *Samples) error {
	got := map[string]float64{}
	for _, st := range cfg.Plan {
		if st.HTTP {
			if err := runNetStep(ctx, cfg, side, st, repeat, s, got); err != nil {
				return err
			}
			continue
		}
		timeout := st.timeout(cfg.Timeout)
		b := Boot{SMP: st.SMP, Mem: st.Mem, Env: st.Env, Timeout: timeout, Machine: st.Machine,
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
		if f := o.Failure(timeout); f != "" {
			status = f
		}
		fmt.Fprintf(cfg.Log, "bench: repeat %d/%d %-8s %-12s %6.1fs  %s\n",
			repeat+1, cfg.Repeats, side.Name, st.Name, time.Since(start).Seconds(), status)
		record(st, side.Name, o, timeout, s, got)
	}
	for _, f := range speedupFamilies(cfg) {
		addSpeedups(f, side.Name, got, s)
	}
	return nil
}

// runNetStep runs one network step on side and records its rows.
func runNetStep(ctx context.Context, cfg Config, side Side, st Step, repeat int, s *Samples, got map[string]float64) error {
	start := time.Now()
	vals, na, err := netStep(ctx, cfg, side, st)
	if err != nil {
		return err
	}
	status := "ok"
	if na != "" {
		status = na
	}
	fmt.Fprintf(cfg.Log, "bench: repeat %d/%d %-8s %-12s %6.1fs  %s\n",
		repeat+1, cfg.Repeats, side.Name, st.Name, time.Since(start).Seconds(), status)
	for _, key := range st.Yields {
		v, ok := vals[key]
		switch {
		case ok:
			s.Add(side.Name, key, v)
			got[key] = v
		case na != "":
			s.NA(side.Name, key, na)
		default:
			s.NA(side.Name, key, "the load generator measured no value")
		}
	}
	return nil
}
