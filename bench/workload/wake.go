package main

import (
	"runtime"
	"time"

	"github.com/gometal/gometal/tools/bench/stats"
)

// runWake measures how long a goroutine parked on an idle P takes to run
// after another CPU readies it: the sender busy-waits (so its own P stays
// busy and the receiver's thread goes to sleep), then sends the time on a
// channel; the receiver records how late it got it.
func runWake() {
	names := []string{"sched.wake.p50", "sched.wake.p99"}
	if !needCPUs(2, names...) {
		return
	}
	runtime.GOMAXPROCS(2)
	count := n(200)
	sent := make(chan time.Time)
	lat := make(chan []time.Duration)
	go func() {
		ds := make([]time.Duration, 0, count)
		for t := range sent {
			ds = append(ds, time.Since(t))
		}
		lat <- ds
	}()
	for range count {
		spin(200 * time.Microsecond)
		sent <- time.Now()
	}
	close(sent)
	us := micros(<-lat)
	printResult(names[0], stats.Percentile(us, 50), "us")
	printResult(names[1], stats.Percentile(us, 99), "us")
}

// spin busy-waits for d without blocking.
func spin(d time.Duration) {
	for start := time.Now(); time.Since(start) < d; {
	}
}
