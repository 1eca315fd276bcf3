package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// runSeed is the run's random seed; every worker's generator derives
// from it and its id, and a failure prints it.
var runSeed uint64

// worker is one goroutine of the run: a kind of work done in rounds.
type worker struct {
	id       int
	kind     string
	body     func(w *worker)
	rng      *rand.Rand
	deadline time.Time
	round    int          // the round under way, from 0
	started  bool         // next was called before
	rounds   atomic.Int64 // rounds finished
	progress atomic.Int64 // when the last round finished (or the first began), Unix ns
	status   atomic.Pointer[func() string]
}

// setStatus makes f say what the worker is doing, for a report of a hang.
func (w *worker) setStatus(f func() string) { w.status.Store(&f) }

// doing says what the worker is doing, if it said how.
func (w *worker) doing() string {
	if f := w.status.Load(); f != nil {
		return (*f)()
	}
	return "-"
}

// newWorker returns worker id of the kind, whose rounds body runs.
func newWorker(id int, kind string, body func(w *worker)) *worker {
	w := &worker{id: id, kind: kind, body: body, rng: rand.New(rand.NewPCG(runSeed, uint64(id)))}
	w.progress.Store(time.Now().UnixNano())
	return w
}

// name is how failures name the worker.
func (w *worker) name() string { return fmt.Sprintf("%s worker %d", w.kind, w.id) }

// run runs the worker's rounds until deadline (at least one).
func (w *worker) run(deadline time.Time) {
	w.deadline = deadline
	w.body(w)
}

// next ends the round under way, if any, and reports whether another
// one starts: always the first time, then while the deadline is ahead.
func (w *worker) next() bool {
	if w.started {
		w.rounds.Add(1)
		w.round++
	}
	w.started = true
	w.progress.Store(time.Now().UnixNano())
	return w.round == 0 || time.Now().Before(w.deadline)
}

// lastProgress is when the worker last finished a round.
func (w *worker) lastProgress() time.Time { return time.Unix(0, w.progress.Load()) }

// failf fails the run for this worker, in its current round.
func (w *worker) failf(format string, args ...any) {
	fail(w.name(), "round %d: "+format, append([]any{w.round}, args...)...)
}

var failing sync.Mutex

// fail prints what failed, for whom, with the seed, and exits 1. The
// first failure wins; a concurrent one waits for the exit.
func fail(who, format string, args ...any) {
	failing.Lock()
	fmt.Printf("memstress: FAIL: %s: %s (seed %d)\n", who, fmt.Sprintf(format, args...), runSeed)
	os.Exit(1)
}

// newRand returns a generator for a helper goroutine of the run, apart
// from every worker's.
func newRand(stream uint64) *rand.Rand {
	return rand.New(rand.NewPCG(runSeed, 1<<32|stream))
}
