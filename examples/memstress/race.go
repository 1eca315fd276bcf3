package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

const (
	racePages    = 32
	raceTouchers = 2
	raceReads    = 16 // accesses each toucher makes before and after the change
)

// raceJob is one round of the race worker: touchers load (and, for a
// change to read-only, store) random words of b while the worker changes
// it.
type raceJob struct {
	b             []byte
	t             tag
	c             change
	changed       atomic.Bool  // the change returned
	before, after atomic.Int64 // accesses made before and after it, by all touchers
	stop          atomic.Bool
	wg            sync.WaitGroup
}

// raceRounds maps part of a reservation each round, lets the touchers
// read it on other threads, and changes it while they do: an access that
// began before the change returned may see either state, one that began
// after must see the new one.
func raceRounds(w *worker) {
	res := w.reservation(racePages)
	jobs := make([]chan *raceJob, raceTouchers)
	for i := range jobs {
		jobs[i] = make(chan *raceJob)
		go w.toucher(jobs[i], uint64(w.id*raceTouchers+i))
	}
	for w.next() {
		w.raceRound(res, jobs)
	}
	for _, ch := range jobs {
		close(ch)
	}
	w.unmap(res)
}

// raceRound is one round of the race worker, in part of the reservation
// res.
func (w *worker) raceRound(res []byte, jobs []chan *raceJob) {
	b := w.subRange(res, racePages, racePages)
	w.mapFixed(b, rw)
	j := &raceJob{b: b, t: tag{w.id, w.round}, c: change(w.rng.IntN(int(changes)))}
	for p := range len(b) / pageSize {
		fillPage(b, p, j.t)
	}
	w.setStatus(j.status)
	j.wg.Add(raceTouchers)
	for _, ch := range jobs {
		ch <- j
	}
	waitFor(&j.before, raceTouchers*raceReads)
	if err := j.c.apply(b); err != nil {
		w.failf("%v of %d pages: %v", j.c, len(b)/pageSize, err)
	}
	j.changed.Store(true)
	waitFor(&j.after, raceTouchers*raceReads)
	j.stop.Store(true)
	j.wg.Wait()
	w.mapFixed(b, none)
}

// status says how far the job got.
func (j *raceJob) status() string {
	return fmt.Sprintf("%v of %d pages at %#x: %d accesses before, %d after, changed %v, stop %v", j.c, len(j.b)/pageSize, addr(j.b), j.before.Load(), j.after.Load(), j.changed.Load(), j.stop.Load())
}

// waitFor yields until n reaches want.
func waitFor(n *atomic.Int64, want int64) {
	for n.Load() < want {
		runtime.Gosched()
	}
}

// toucher accesses random words of each job's mapping until told to stop.
func (w *worker) toucher(jobs <-chan *raceJob, seed uint64) {
	debug.SetPanicOnFault(true)
	rng := newRand(seed)
	for j := range jobs {
		n := len(j.b) / pageSize
		for !j.stop.Load() {
			p, i := rng.IntN(n), rng.IntN(pageWords)
			w.touch(j, p, i, j.c == toReadOnly && rng.IntN(2) == 0)
		}
		j.wg.Done()
	}
}

// touch loads word i of page p of the job's mapping, and stores its own
// pattern there if tryStore, and checks what it saw against the change
// and whether the change had returned before the access.
func (w *worker) touch(j *raceJob, p, i int, tryStore bool) {
	was := j.changed.Load()
	want := pat(j.t, p, i)
	ptr := &page(j.b, p)[i]
	v, lf := load(ptr)
	sf := tryStore && store(ptr, want)
	switch {
	case was:
		if !j.c.after(v, lf, tryStore, sf, want) {
			w.failf("a toucher after %v returned: page %d word %d at %p: load %s (faulted %v), store tried %v faulted %v", j.c, p, i, ptr, describe(v), lf, tryStore, sf)
		}
		j.after.Add(1)
	case !before(v, lf, tryStore, sf, want) && !j.c.after(v, lf, tryStore, sf, want):
		w.failf("a toucher during %v: page %d word %d at %p: load %s (faulted %v), store tried %v faulted %v: neither the old state nor the new", j.c, p, i, ptr, describe(v), lf, tryStore, sf)
	default:
		if !before(v, lf, tryStore, sf, want) {
			raced.Add(1)
		}
		j.before.Add(1)
	}
}

// raced counts the touchers' accesses that began before a change
// returned to the worker and saw its result (the change landed while
// they ran, or the worker had not run since).
var raced atomic.Int64
