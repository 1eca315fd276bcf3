package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"sync/atomic"
)

const shootdownPages = 16

// probe is one round's work for the shootdown worker's peer thread.
type probe struct {
	b       []byte
	t       tag
	c       change
	ready   chan struct{} // the peer wrote the pattern
	changed atomic.Bool   // the change returned
	done    chan struct{} // the peer checked every page
}

// shootdownRounds pairs the worker with a peer goroutine on a thread of
// its own: each round the peer writes a fresh mapping (its CPU's TLB now
// holds writable entries) and spins, the worker changes the mapping, and
// the peer must see the change on every page at once: a write that
// still lands after mprotect, or old data after a zap, is a stale TLB
// entry the change did not shoot down.
func shootdownRounds(w *worker) {
	debug.SetPanicOnFault(true)
	res := w.reservation(shootdownPages)
	probes := make(chan *probe)
	go w.peer(probes)
	for w.next() {
		w.shootdownRound(res, probes)
	}
	close(probes)
	w.unmap(res)
}

// shootdownRound is one round of the shootdown worker, in part of the
// reservation res.
func (w *worker) shootdownRound(res []byte, probes chan<- *probe) {
	b := w.subRange(res, shootdownPages, shootdownPages)
	w.mapFixed(b, rw)
	pr := &probe{b: b, t: tag{w.id, w.round}, c: change(w.rng.IntN(int(changes))), ready: make(chan struct{}), done: make(chan struct{})}
	w.setStatus(pr.status)
	probes <- pr
	<-pr.ready
	for p := range len(b) / pageSize {
		if err := checkPage(b, p, pr.t, false); err != nil {
			w.failf("the peer's data, before %v: %v", pr.c, err)
		}
	}
	if err := pr.c.apply(b); err != nil {
		w.failf("%v of %d pages: %v", pr.c, len(b)/pageSize, err)
	}
	pr.changed.Store(true)
	<-pr.done
	w.checkChanged(pr, []int{1, pageWords - 2}, "")
	w.mapFixed(b, none)
}

// status says how far the probe got.
func (pr *probe) status() string {
	return fmt.Sprintf("%v of %d pages at %#x: ready %v, changed %v, done %v", pr.c, len(pr.b)/pageSize, addr(pr.b), closed(pr.ready), pr.changed.Load(), closed(pr.done))
}

// closed reports whether ch is closed.
func closed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// peer runs the probes on a thread of its own.
func (w *worker) peer(probes <-chan *probe) {
	runtime.LockOSThread()
	debug.SetPanicOnFault(true)
	for pr := range probes {
		for p := range len(pr.b) / pageSize {
			fillPage(pr.b, p, pr.t)
		}
		close(pr.ready)
		for i := 1; !pr.changed.Load(); i++ {
			if i%(1<<16) == 0 {
				runtime.Gosched() // one CPU: let the worker run
			}
		}
		w.checkChanged(pr, []int{0, pageWords - 1}, " on another thread")
		close(pr.done)
	}
}

// checkChanged loads and stores the words at index of every page of the
// probe's mapping (the store writes the word's own pattern): each must
// show the state the change left.
func (w *worker) checkChanged(pr *probe, index []int, where string) {
	for p := range len(pr.b) / pageSize {
		for _, i := range index {
			want := pat(pr.t, p, i)
			ptr := &page(pr.b, p)[i]
			v, lf := load(ptr)
			sf := store(ptr, want)
			if !pr.c.after(v, lf, true, sf, want) {
				w.failf("after %v%s: page %d word %d at %p: load %s (faulted %v), store faulted %v", pr.c, where, p, i, ptr, describe(v), lf, sf)
			}
		}
	}
}
