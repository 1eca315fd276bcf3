package main

import (
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
)

const (
	sharePages   = 32
	shareWriters = 2
)

// shareJob is one round of the shared-fault worker: writers fault the
// pages of low in at once, each writing its own words of every page.
type shareJob struct {
	low   []byte
	t     tag
	ready atomic.Int32 // writers waiting for start
	start atomic.Bool
	wg    sync.WaitGroup
}

// shareRounds maps fresh pages each round and has several threads take
// the first fault on the same pages at the same time (each writing every
// other word), while the worker changes the upper part of the same
// mapping (mprotect, MADV_DONTNEED, munmap: the area split under the
// faults). A page faulted in twice loses one writer's words, which then
// read as zero.
func shareRounds(w *worker) {
	jobs := make([]chan *shareJob, shareWriters)
	for g := range jobs {
		jobs[g] = make(chan *shareJob)
		go shareWriter(jobs[g], g, newRand(uint64(1<<16|w.id*shareWriters+g)))
	}
	for w.next() {
		w.shareRound(jobs)
	}
	for _, ch := range jobs {
		close(ch)
	}
}

// shareRound is one round of the shared-fault worker.
func (w *worker) shareRound(jobs []chan *shareJob) {
	n := 2 + w.rng.IntN(sharePages-1)
	split := 1 + w.rng.IntN(n-1)
	b := w.fresh(n, rw)
	low, high := pages(b, 0, split), &region{b: pages(b, split, n), t: tag{w.id, w.round}, zero: make([]bool, n-split), ro: make([]bool, n-split)}
	for p := range n - split {
		fillPage(high.b, p, high.t)
	}
	j := &shareJob{low: low, t: tag{w.id, w.round}}
	j.wg.Add(shareWriters)
	for _, ch := range jobs {
		ch <- j
	}
	for j.ready.Load() < shareWriters {
		runtime.Gosched()
	}
	j.start.Store(true)
	unmapped := w.changeHigh(high)
	j.wg.Wait()
	for p := range split {
		if err := checkPage(low, p, j.t, false); err != nil {
			w.failf("pages faulted in by %d threads at once, beside a change of the same mapping: %v", shareWriters, err)
		}
	}
	if !unmapped {
		w.check(high, "the part changed while other threads faulted the rest")
		w.unmap(high.b)
	}
	w.unmap(low)
}

// changeHigh makes a random change to r (write-protects it, zaps it or
// unmaps it) and reports whether it unmapped it.
func (w *worker) changeHigh(r *region) bool {
	switch w.rng.IntN(3) {
	case 0:
		w.protect(r.b, ro)
	case 1:
		w.zapPart(r)
	default:
		w.unmap(r.b)
		return true
	}
	return false
}

// shareWriter writes words g, g+shareWriters, ... of every page of each
// job's low part, pages in random order, once all writers are ready.
func shareWriter(jobs <-chan *shareJob, g int, rng *rand.Rand) {
	for j := range jobs {
		j.ready.Add(1)
		for i := 0; !j.start.Load(); i++ {
			if i%(1<<12) == 0 {
				runtime.Gosched()
			}
		}
		for _, p := range rng.Perm(len(j.low) / pageSize) {
			ws := page(j.low, p)
			for i := g; i < pageWords; i += shareWriters {
				ws[i] = pat(j.t, p, i)
			}
		}
		j.wg.Done()
	}
}
