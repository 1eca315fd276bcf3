package main

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// runParallel splits a fixed amount of CPU-bound work (xorshift rounds, no
// memory traffic) into chunks that GOMAXPROCS workers take from a shared
// counter, and reports the wall time. tools/bench boots it at 1, 2, 4, ...
// vCPUs and divides the times into speedups.
func runParallel() {
	const chunks = 64
	per := n(8 << 20) // rounds per chunk
	workers := runtime.GOMAXPROCS(0)
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	busy := cpuBusy()
	start := time.Now()
	for range workers {
		go func() {
			defer wg.Done()
			for next.Add(1) <= chunks {
				sink.Add(xorshift(uint64(next.Load()), per))
			}
		}()
	}
	wg.Wait()
	d := time.Since(start)
	printResult("parallel.time", float64(d.Microseconds())/1e3, "ms")
	printBusy(busy, cpuBusy(), float64(d.Microseconds())/1e3)
}

// xorshift runs rounds steps of a xorshift generator from seed.
func xorshift(seed uint64, rounds int) uint64 {
	x := seed | 1
	for range rounds {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}
