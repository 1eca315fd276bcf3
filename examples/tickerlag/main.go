// Command tickerlag measures how late a 5 ms ticker fires while CPU hogs
// (loops without function calls) run under GOMAXPROCS=1: the preemption
// latency a latency-sensitive goroutine sees. It prints the p50, p99 and
// max lateness in microseconds as BENCH lines (qemu/slicelatency_test.go
// checks the p50 against the kernel's slice= option).
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
	hogs := flag.Int("hogs", 3, "CPU-bound goroutines")
	ticks := flag.Int("ticks", 200, "ticks to measure")
	period := flag.Duration("period", 5*time.Millisecond, "ticker period")
	flag.Parse()
	runtime.GOMAXPROCS(1)
	counts := make([]uint64, *hogs)
	for i := range counts {
		go hog(&counts[i])
	}
	time.Sleep(time.Millisecond)
	tk := time.NewTicker(*period)
	late := make([]time.Duration, 0, *ticks)
	for len(late) < *ticks {
		// A tick carries the time it was due (a tick that is due while
		// the previous one waits unreceived is dropped), so its lateness
		// does not depend on when this goroutine read the clock first.
		due := <-tk.C
		late = append(late, time.Since(due))
	}
	stop.Store(true)
	sort.Slice(late, func(i, j int) bool { return late[i] < late[j] })
	p := func(q float64) int64 { return late[int(q*float64(len(late)-1))].Microseconds() }
	fmt.Printf("BENCH name=ticker_lateness_p50 value=%d unit=us\n", p(0.50))
	fmt.Printf("BENCH name=ticker_lateness_p99 value=%d unit=us\n", p(0.99))
	fmt.Printf("BENCH name=ticker_lateness_max value=%d unit=us\n", p(1))
}
