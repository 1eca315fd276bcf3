package main

import (
	"sync"
	"time"
)

// Shape of the futex test: a fixed amount of work whatever GOMAXPROCS is,
// so that its times at several vCPU counts divide into speedups.
const (
	futexWorkers = 16    // goroutines taking jobs, more than any P count measured
	futexLocks   = 2     // mutexes the workers contend on
	futexJobs    = 64000 // jobs at -scale 1, futexWorkers per round
	futexRounds  = 1000  // xorshift rounds of a job's parallel part
	futexHeld    = 100   // xorshift rounds done while holding a mutex
)

// runFutex is parallel work that synchronizes often, in rounds: each
// round hands futexWorkers jobs to as many worker goroutines over a
// channel and waits for their results on another (a fork and a join).
// A job is a parallel part (xorshift rounds) and a short critical section
// under one of futexLocks sync.Mutexes. Between rounds the Ps run out of
// work, so their threads park on futexes, and the next round's sends wake
// them; the mutexes and channels add their own hand-offs. (A design with
// always more runnable goroutines than Ps makes almost no futex calls:
// the runtime's scheduler absorbs the blocking; this one makes hundreds
// per 1,000 rounds at 2 and 4 Ps on Linux, strace -f -c.) 4,000 rounds
// take 0.4 to 1 s at 1 vCPU under TCG on gometal on a loaded 2-core host,
// long enough to rise above the noise of a guest boot. It reports the
// wall time; tools/bench boots it at 1, 2 and 4 vCPUs and divides the
// times into speedups, to set against Linux's.
func runFutex() {
	rounds := max(1, n(futexJobs)/futexWorkers)
	work, results := make(chan uint64, futexWorkers), make(chan uint64, futexWorkers)
	var mus [futexLocks]sync.Mutex
	var shared [futexLocks]uint64
	var wg sync.WaitGroup
	wg.Add(futexWorkers)
	for range futexWorkers {
		go func() {
			defer wg.Done()
			for j := range work {
				v := xorshift(j, futexRounds)
				k := j % futexLocks
				mus[k].Lock()
				shared[k] = xorshift(shared[k]^v, futexHeld)
				mus[k].Unlock()
				results <- v
			}
		}()
	}
	var total uint64
	start := time.Now()
	for r := range rounds {
		for j := range futexWorkers {
			work <- uint64(r*futexWorkers + j)
		}
		for range futexWorkers {
			total += <-results
		}
	}
	d := time.Since(start)
	close(work)
	wg.Wait()
	sink.Add(total ^ shared[0] ^ shared[futexLocks-1])
	printResult("futex.time", float64(d.Microseconds())/1e3, "ms")
}
