package main

import "syscall"

// change is what one CPU does to a mapping that another CPU's TLB may
// hold, and what every CPU must see once it returned.
type change int

const (
	toReadOnly change = iota // mprotect(PROT_READ): the data reads, writes fault
	toNone                   // mprotect(PROT_NONE): reads fault
	zap                      // madvise(MADV_DONTNEED): zeros
	replace                  // mmap(MAP_FIXED) anew: zeros
	changes
)

func (c change) String() string {
	return [...]string{"mprotect(PROT_READ)", "mprotect(PROT_NONE)", "madvise(MADV_DONTNEED)", "mmap(MAP_FIXED) over it"}[c]
}

// apply makes the change to b (whole pages) and returns its error.
func (c change) apply(b []byte) error {
	switch c {
	case toReadOnly:
		return mprotect(b, ro)
	case toNone:
		return mprotect(b, none)
	case zap:
		return madvise(b, syscall.MADV_DONTNEED)
	}
	_, err := mmap(addr(b), len(b)/pageSize, rw, syscall.MAP_FIXED)
	return err
}

// after reports whether a load that got v (or faulted) and a store of
// the word's own value (tried if tryStore) are what the change leaves
// behind for a word whose pattern was want.
func (c change) after(v uint64, loadFaulted, tryStore, storeFaulted bool, want uint64) bool {
	switch c {
	case toReadOnly:
		return !loadFaulted && v == want && (!tryStore || storeFaulted)
	case toNone:
		return loadFaulted && (!tryStore || storeFaulted)
	}
	return !loadFaulted && v == 0 && (!tryStore || !storeFaulted)
}

// before reports the same for the state before the change: the pattern,
// and every access allowed.
func before(v uint64, loadFaulted, tryStore, storeFaulted bool, want uint64) bool {
	return !loadFaulted && v == want && (!tryStore || !storeFaulted)
}

// reservation is a PROT_NONE range that a worker maps parts of with
// MAP_FIXED and puts back to PROT_NONE the same way, so that no other
// worker's mmap lands there and an access to it is either the worker's
// own data or a fault.
func (w *worker) reservation(n int) []byte {
	b, err := mmap(0, n, none, 0)
	if err != nil {
		w.failf("mmap of a %d-page PROT_NONE reservation: %v", n, err)
	}
	return b
}

// mapFixed maps b (part of a reservation) again with prot.
func (w *worker) mapFixed(b []byte, prot int) {
	if _, err := mmap(addr(b), len(b)/pageSize, prot, syscall.MAP_FIXED); err != nil {
		w.failf("mmap(MAP_FIXED) of %d pages at %#x, prot %d: %v", len(b)/pageSize, addr(b), prot, err)
	}
}

// subRange picks a random run of 1 to max pages of the n-page b.
func (w *worker) subRange(b []byte, n, most int) []byte {
	k := 1 + w.rng.IntN(most)
	o := w.rng.IntN(n - k + 1)
	return pages(b, o, o+k)
}
