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

// runTicker measures how late the ticks of a -tick ticker (1 ms by
// default) are received, from the time each was due, at GOMAXPROCS=1
// while -hogs goroutines (3) spin in loops without function calls: those
// loops have no cooperative preemption point, so only asynchronous
// preemption (the runtime's SIGURG, sent by sysmon or by the gometal
// kernel's time slices) lets the ticker's goroutine run at all. It prints
// the p50, p99 and max of 200 ticks (scaled by -scale).
func runTicker() {
	runtime.GOMAXPROCS(1)
	ticks := n(200)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(cfg.hogs)
	for range cfg.hogs {
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
	t := time.NewTicker(cfg.tick)
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
	printResult("time.ticker.max", stats.Percentile(us, 100), "us")
}

// sink keeps computed values alive so the compiler cannot drop the loops.
var sink atomic.Uint64
