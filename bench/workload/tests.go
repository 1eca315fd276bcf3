package main

import (
	"fmt"
	"time"
)

// test is one thing the workload can measure.
type test struct {
	doc string // one line for the usage message
	run func() // prints its results (or n/a lines)
}

// tests are the workload's tests by command-line name. The results they
// print are named by group (sched., time., parallel., futex., files., gc.).
var tests = map[string]test{
	"hello":          {"print \"hello, world\" (the smallest-memory probe)", func() { fmt.Println("hello, world") }},
	"spawn":          {"sched.spawn: goroutine create+exit", runSpawn},
	"pingpong":       {"sched.pingpong.local: unbuffered channel round trip on one P", runPingPongLocal},
	"pingpong-cross": {"sched.pingpong.cross: the same across two locked threads, 2 Ps (needs 2 CPUs)", runPingPongCross},
	"gosched":        {"sched.gosched: runtime.Gosched round trip between two goroutines on one P", runGosched},
	"mutex":          {"sched.mutex: contended sync.Mutex hand-off", runMutex},
	"wgfan":          {"sched.wgfan: WaitGroup fan-out/fan-in of 10,000 goroutines", runWGFan},
	"wake":           {"sched.wake.p50, .p99: cross-CPU wake latency (needs 2 CPUs)", runWake},
	"sleep":          {"time.sleep.p50, .p99: time.Sleep(1ms) lateness", runSleep},
	"ticker":         {"time.ticker.p50, .p99, .max: lateness of a -tick ticker with -hogs CPU hogs at GOMAXPROCS=1", runTicker},
	"parallel":       {"parallel.time: a CPU-bound job split over GOMAXPROCS workers", runParallel},
	"futex":          {"futex.time: futex-heavy parallel work (16 goroutines on 2 mutexes and 2 channels)", runFutex},
	"files":          {"files.time: parallel file round trips (8 goroutines, a directory each: write, read, stat, remove)", runFiles},
	"gc":             {"gc.pause.p50, .p99, gc.total, gc.count: a churning heap of -heap MiB", runGC},
}

// perOp prints d divided over ops operations in nanoseconds.
func perOp(name string, d time.Duration, ops int) {
	printResult(name, float64(d.Nanoseconds())/float64(ops), "ns/op")
}

// micros converts durations to microseconds, for percentiles.
func micros(ds []time.Duration) []float64 {
	xs := make([]float64, len(ds))
	for i, d := range ds {
		xs[i] = float64(d.Nanoseconds()) / 1e3
	}
	return xs
}
