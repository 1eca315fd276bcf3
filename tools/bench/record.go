package bench

import (
	"fmt"
	"slices"
	"time"
)

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
	hostKey, kernelKey := st.key(KeyHostToMain), st.key(KeyKernelToMain)
	if st.Boot && o.HostToMain > 0 {
		add(hostKey, float64(o.HostToMain)/float64(time.Millisecond))
	}
	if st.Boot && o.KernelToMain > 0 {
		add(kernelKey, float64(o.KernelToMain)/float64(time.Millisecond))
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
		case key == hostKey:
			s.NA(side, key, "the main marker never arrived")
		case key == kernelKey:
			s.NA(side, key, "the guest told no time from kernel entry to main")
		default:
			s.NA(side, key, "the workload printed no result")
		}
	}
}

// Speedups is a pair of row families whose times at N vCPUs divide into
// speedups over 1 vCPU: the CPU-bound job and the scaling jobs.
type Speedups struct {
	CPUs    []int            // vCPU counts; 1 is the base
	Time    func(int) string // the time row's key at N vCPUs
	Speedup func(int) string // the speedup row's key at N vCPUs
}

// speedupFamilies are the runner's Speedups for cfg: the parallel job at
// cfg.CPUs and each scaling job at ScalingCPUs.
func speedupFamilies(cfg Config) []Speedups {
	fs := []Speedups{{CPUs: cfg.CPUs, Time: ParallelTimeKey, Speedup: SpeedupKey}}
	for _, j := range ScalingJobs {
		fs = append(fs, Speedups{CPUs: ScalingCPUs, Time: j.TimeKey, Speedup: j.SpeedupKey})
	}
	return fs
}

// addSpeedups turns one repeat's times of family f into speedups over
// 1 vCPU.
func addSpeedups(f Speedups, side string, got map[string]float64, s *Samples) {
	t1, ok := got[f.Time(1)]
	for _, n := range f.CPUs {
		if n == 1 {
			continue
		}
		key := f.Speedup(n)
		tn, okN := got[f.Time(n)]
		switch {
		case !ok && !okN && !s.Has(side, f.Time(1)) && !s.Has(side, f.Time(n)):
			// The plan has no such steps (bench -only).
		case ok && okN && tn > 0:
			s.Add(side, key, t1/tn)
		case !okN && s.Reason(side, f.Time(n)) != "":
			s.NA(side, key, s.Reason(side, f.Time(n)))
		case !ok:
			s.NA(side, key, "no time at 1 vCPU to compare with")
		}
	}
}
