package main

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"time"
)

// Times is what one boot's kernel log says about the boot (kernel/start.go
// and kernel/clock write the lines).
type Times struct {
	Ready time.Duration // kernel entry to "kernel ready after"
	Main  time.Duration // kernel entry to "main.main reached"
	Clock string        // the clock: line, without the log's prefix
}

var (
	readyLine = regexp.MustCompile(`kernel ready after (\d+\.\d{3}) ms`)
	mainLine  = regexp.MustCompile(`main\.main reached (\d+\.\d{3}) ms after kernel entry`)
	clockLine = regexp.MustCompile(`clock: [^\n]*`)
)

// ParseTimes reads the boot times from a kernel log; an error names the
// line that is missing.
func ParseTimes(klog []byte) (Times, error) {
	var t Times
	var err error
	if t.Ready, err = findMS(readyLine, klog); err != nil {
		return t, err
	}
	if t.Main, err = findMS(mainLine, klog); err != nil {
		return t, err
	}
	t.Clock = string(clockLine.Find(klog))
	return t, nil
}

// findMS returns the milliseconds re's first group holds in klog.
func findMS(re *regexp.Regexp, klog []byte) (time.Duration, error) {
	m := re.FindSubmatch(klog)
	if m == nil {
		return 0, fmt.Errorf("no line matching %q in the kernel log", re)
	}
	ms, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(ms*1e3+0.5) * time.Microsecond, nil
}

// summarize gives one line for an image at smp vCPUs: the median and the
// range of its ready and main times.
func summarize(image string, smp int, ts []Times) string {
	if len(ts) == 0 {
		return fmt.Sprintf("%s smp=%d: no boot", image, smp)
	}
	ready := make([]time.Duration, len(ts))
	main := make([]time.Duration, len(ts))
	for i, t := range ts {
		ready[i], main[i] = t.Ready, t.Main
	}
	return fmt.Sprintf("%s smp=%d (%d boots): ready %s, main %s", image, smp, len(ts), spread(ready), spread(main))
}

// spread formats "median (min-max)" in milliseconds.
func spread(ds []time.Duration) string {
	ds = slices.Clone(ds)
	slices.Sort(ds)
	n := len(ds)
	med := ds[n/2]
	if n%2 == 0 {
		med = (ds[n/2-1] + ds[n/2]) / 2
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return fmt.Sprintf("%.3f ms (%.3f-%.3f)", ms(med), ms(ds[0]), ms(ds[n-1]))
}

// msString formats d in milliseconds with three decimals, as the kernel
// does.
func msString(d time.Duration) string {
	return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
}
