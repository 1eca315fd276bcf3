package main

import "runtime/debug"

// faultRounds takes deliberate faults: each round maps PROT_NONE memory,
// and a load and a store there must come back as Go panics at their
// address; then the same memory made writable, read-only and
// inaccessible again must behave so, word by word.
func faultRounds(w *worker) {
	debug.SetPanicOnFault(true)
	for w.next() {
		n := 1 + w.rng.IntN(4)
		b := w.fresh(n, none)
		p, i := w.rng.IntN(n), w.rng.IntN(pageWords)
		ptr := &page(b, p)[i]
		want := pat(tag{w.id, w.round}, p, i)
		w.expect(ptr, "PROT_NONE", true, true, 0)
		w.protect(b, rw)
		if store(ptr, want) {
			w.failf("a store to %p after mprotect(PROT_READ|PROT_WRITE) faulted", ptr)
		}
		w.protect(b, ro)
		w.expect(ptr, "PROT_READ", false, true, want)
		w.protect(b, none)
		w.expect(ptr, "PROT_NONE again", true, true, 0)
		w.unmap(b)
	}
}

// expect loads and stores *ptr and fails unless they fault as said and
// a load that does not fault gets want.
func (w *worker) expect(ptr *uint64, state string, loadFaults, storeFaults bool, want uint64) {
	v, lf := load(ptr)
	if lf != loadFaults || (!lf && v != want) {
		w.failf("%s: a load of %p got %s, faulted %v; want a fault %v", state, ptr, describe(v), lf, loadFaults)
	}
	if sf := store(ptr, ^want); sf != storeFaults {
		w.failf("%s: a store to %p faulted %v, want %v", state, ptr, sf, storeFaults)
	}
}

// protect sets the protection of b.
func (w *worker) protect(b []byte, prot int) {
	if err := mprotect(b, prot); err != nil {
		w.failf("mprotect(%d) of %d pages: %v", prot, len(b)/pageSize, err)
	}
}
