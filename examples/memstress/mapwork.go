package main

import (
	"runtime/debug"
	"syscall"
)

// anchorPages is the size of a mapping worker's long-lived mapping.
const anchorPages = 16

// anchorRound tags the long-lived mapping's data.
const anchorRound = 0x7fffff

// region is a mapping of a worker's round and what each page must hold.
type region struct {
	b    []byte
	t    tag
	zero []bool // the page must read as zero (zapped), not the pattern
	ro   []bool // the page is read-only
}

// mapRounds maps, faults in, checks, protects, zaps and unmaps a new
// region each round, and checks a long-lived region every round: another
// worker's munmap or zap must never reach it.
func mapRounds(w *worker) {
	debug.SetPanicOnFault(true)
	anchor := w.newRegion(anchorPages, tag{w.id, anchorRound})
	for w.next() {
		w.check(anchor, "the long-lived mapping")
		w.mapRound()
	}
	w.check(anchor, "the long-lived mapping")
	w.unmap(anchor.b)
}

// mapRound is one round of a mapping worker.
func (w *worker) mapRound() {
	r := w.newRegion(1+w.rng.IntN(64), tag{w.id, w.round})
	w.check(r, "after the first touch")
	n := len(r.zero)
	if w.rng.IntN(3) == 0 {
		w.protectPart(r)
	}
	if w.rng.IntN(3) == 0 {
		w.zapPart(r)
	}
	if n >= 3 && w.rng.IntN(4) == 0 {
		a := 1 + w.rng.IntN(n-2)
		c := a + 1 + w.rng.IntN(n-1-a)
		w.unmap(pages(r.b, a, c))
		w.check(&region{pages(r.b, 0, a), r.t, r.zero[:a], r.ro[:a]}, "below a hole unmapped")
		w.checkFrom(r, c, "above a hole unmapped")
		w.unmap(pages(r.b, 0, a))
		w.unmap(pages(r.b, c, n))
		return
	}
	w.unmap(r.b)
}

// newRegion maps n fresh pages and writes t's pattern to them in random
// order: each page's first write is its demand fault.
func (w *worker) newRegion(n int, t tag) *region {
	b, err := mmap(0, n, rw, 0)
	if err != nil {
		w.failf("mmap of %d pages: %v", n, err)
	}
	for _, p := range w.rng.Perm(n) {
		fillPage(b, p, t)
	}
	return &region{b: b, t: t, zero: make([]bool, n), ro: make([]bool, n)}
}

// check checks every page of r.
func (w *worker) check(r *region, when string) { w.checkFrom(r, 0, when) }

// checkFrom checks the pages of r from page first on.
func (w *worker) checkFrom(r *region, first int, when string) {
	for p := first; p < len(r.zero); p++ {
		if err := checkPage(r.b, p, r.t, r.zero[p]); err != nil {
			w.failf("%s (%d pages at %#x): %v", when, len(r.zero), addr(r.b), err)
		}
	}
}

// protectPart makes part of r read-only: its data must stay readable
// and a write to it must fault and change nothing; then, now and then,
// makes it writable again and rewrites it.
func (w *worker) protectPart(r *region) {
	a, c := w.part(len(r.zero))
	if err := mprotect(pages(r.b, a, c), ro); err != nil {
		w.failf("mprotect(PROT_READ) of pages %d-%d: %v", a, c-1, err)
	}
	w.check(r, "after mprotect(PROT_READ)")
	p := a + w.rng.IntN(c-a)
	i := w.rng.IntN(pageWords)
	if !store(&page(r.b, p)[i], ^pat(r.t, p, i)) {
		w.failf("a write to read-only page %d did not fault", p)
	}
	w.check(r, "after a refused write")
	if w.rng.IntN(2) == 0 {
		for p := a; p < c; p++ {
			r.ro[p] = true // unmapped read-only
		}
		return
	}
	if err := mprotect(pages(r.b, a, c), rw); err != nil {
		w.failf("mprotect(PROT_READ|PROT_WRITE) of pages %d-%d: %v", a, c-1, err)
	}
	for p := a; p < c; p++ {
		fillPage(r.b, p, r.t)
	}
	w.check(r, "after mprotect back to writable")
}

// zapPart gives part of r back with MADV_DONTNEED: its pages must read as
// zero (Linux's rule for private anonymous memory), the others keep
// their data; then, now and then, refills the zapped pages, if writable.
func (w *worker) zapPart(r *region) {
	a, c := w.part(len(r.zero))
	if err := madvise(pages(r.b, a, c), syscall.MADV_DONTNEED); err != nil {
		w.failf("madvise(MADV_DONTNEED) of pages %d-%d: %v", a, c-1, err)
	}
	for p := a; p < c; p++ {
		r.zero[p] = true
	}
	w.check(r, "after madvise(MADV_DONTNEED)")
	if w.rng.IntN(2) == 0 {
		return
	}
	for p := a; p < c; p++ {
		if !r.ro[p] {
			fillPage(r.b, p, r.t) // faults a fresh page in again
			r.zero[p] = false
		}
	}
	w.check(r, "after refilling zapped pages")
}

// part picks pages [a, c) of n, at least one.
func (w *worker) part(n int) (a, c int) {
	a = w.rng.IntN(n)
	return a, a + 1 + w.rng.IntN(n-a)
}

// unmap unmaps b.
func (w *worker) unmap(b []byte) {
	if err := munmap(b); err != nil {
		w.failf("munmap of %d pages at %#x: %v", len(b)/pageSize, addr(b), err)
	}
}
