package main

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gometal/gometal/tools/bench/stats"
)

// runSleep measures how much later than asked time.Sleep(1ms) returns.
func runSleep() {
	const d = time.Millisecond
	count := n(200)
	late := make([]time.Duration, count)
	for i := range late {
		start := time.Now()
		time.Sleep(d)
		late[i] = time.Since(start) - d
	}
	us := micros(late)
	printResult("time.sleep.p50", stats.Percentile(us, 50), "us")
	printResult("time.sleep.p99", stats.Percentile(us, 99), "us")
}

// runTicker measures how late a 10ms ticker's ticks are received (from the
// time each was due) at GOMAXPROCS=1 while two goroutines spin in loops
// without function calls: those loops have no cooperative preemption point,
// so only asynchronous preemption (the runtime's SIGURG) lets the ticker's
// goroutine run at all.
func runTicker() {
	const period = 10 * time.Millisecond
	runtime.GOMAXPROCS(1)
	ticks := n(30)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(2)
	for range 2 {
		go func() {
			defer wg.Done()
			x := uint64(1)
			for !stop.Load() {
				x ^= x << 13
				x ^= x >> 7
				x ^= x << 17
			}
			sink.Add(x)
		}()
	}
	runtime.Gosched() // let the hogs start
	t := time.NewTicker(period)
	late := make([]time.Duration, ticks)
	for i := range late {
		// A tick carries the time it was due; a tick that is missed
		// while the receiver cannot run is dropped, not queued.
		due := <-t.C
		late[i] = time.Since(due)
	}
	t.Stop()
	stop.Store(true)
	wg.Wait()
	us := micros(late)
	printResult("time.ticker.p50", stats.Percentile(us, 50), "us")
	printResult("time.ticker.p99", stats.Percentile(us, 99), "us")
}

// sink keeps computed values alive so the compiler cannot drop the loops.
var sink atomic.Uint64
