// Command busycpus keeps every P busy with twice as many CPU hogs (loops
// without function calls) as there are CPUs, and measures the gaps between
// the ticks of a 1 ms ticker. Nothing but preemption lets the ticker
// goroutine run: sysmon must get a CPU to ask for it, and sysmon's thread
// wakes up on a CPU that is busy running a hog's thread. It prints the
// p50, p99 and largest gap in milliseconds.
package main

import (
	"flag"
	"fmt"
	"runtime"
	"sort"
	"sync/atomic"
	"time"
)

var stop atomic.Bool

func hog(n *uint64) {
	for !stop.Load() {
		*n++
	}
}

func main() {
	ticks := flag.Int("ticks", 300, "ticks to measure")
	flag.Parse()
	counts := make([]uint64, 2*runtime.GOMAXPROCS(0))
	for i := range counts {
		go hog(&counts[i])
	}
	tk := time.NewTicker(time.Millisecond)
	prev := time.Now()
	gaps := make([]time.Duration, 0, *ticks)
	for len(gaps) < *ticks {
		<-tk.C
		now := time.Now()
		gaps = append(gaps, now.Sub(prev))
		prev = now
	}
	stop.Store(true)
	sort.Slice(gaps, func(i, j int) bool { return gaps[i] < gaps[j] })
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	fmt.Printf("%d hogs on %d Ps: tick gaps p50 %.1f ms, p99 %.1f ms, max %.1f ms\n",
		len(counts), runtime.GOMAXPROCS(0), ms(gaps[len(gaps)/2]), ms(gaps[len(gaps)*99/100]), ms(gaps[len(gaps)-1]))
}
