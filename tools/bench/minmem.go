package bench

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// minMemTimeout bounds one probe of the bisection: hello world boots in
// seconds on both sides, and a guest short of memory may hang.
const minMemTimeout = 30 * time.Second

// minMemRow bisects the smallest -m in MiB at which side boots the
// workload's hello test and records it (or why not) as KeyMinMem.
func minMemRow(ctx context.Context, cfg Config, side Side, s *Samples) error {
	hi, err := mebibytes(cfg.Mem)
	if err != nil {
		return err
	}
	probes := 0
	boots := func(mib int) bool {
		probes++
		b := Boot{SMP: 1, Mem: fmt.Sprintf("%dM", mib), Args: []string{"hello"},
			Timeout: min(cfg.Timeout, minMemTimeout)}
		o := side.Run(ctx, b, nil)
		return o.Err == nil && o.Report.Done && bytes.Contains(o.Console, []byte("hello, world"))
	}
	start := time.Now()
	if !boots(hi) {
		s.NA(side.Name, KeyMinMem, fmt.Sprintf("hello world does not boot at -m %s", cfg.Mem))
		return ctx.Err()
	}
	m := Bisect(0, hi, boots)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	fmt.Fprintf(cfg.Log, "bench: %s boots hello world at -m %dM and up (%d boots, %.1fs)\n",
		side.Name, m, probes, time.Since(start).Seconds())
	s.Add(side.Name, KeyMinMem, float64(m))
	return nil
}

// Bisect returns the smallest n in (lo, hi] for which ok(n) holds, given
// that ok(hi) holds and ok is monotone (false up to some point, true from
// there on). It calls ok about log2(hi-lo) times and never for lo or hi.
func Bisect(lo, hi int, ok func(int) bool) int {
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if ok(mid) {
			hi = mid
		} else {
			lo = mid
		}
	}
	return hi
}

// mebibytes parses a QEMU memory size (a number with an optional M or G
// suffix; M when none) into MiB.
func mebibytes(size string) (int, error) {
	num, unit := size, 1
	switch {
	case strings.HasSuffix(size, "G"):
		num, unit = strings.TrimSuffix(size, "G"), 1024
	case strings.HasSuffix(size, "M"):
		num = strings.TrimSuffix(size, "M")
	}
	n, err := strconv.Atoi(num)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("memory size %q: want a positive number of M or G", size)
	}
	return n * unit, nil
}
