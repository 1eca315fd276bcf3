package main

import (
	"runtime"
	"runtime/debug"
)

const heapSlots = 24

// block is a heap allocation with its own pattern.
type block struct {
	words []uint64
	t     tag
}

// heapShare passes blocks between the heap workers: one allocated and
// written on one CPU is checked again on another.
var heapShare = make(chan *block, 4)

// heapRounds allocates a block of a random size each round (small, up to
// a page, up to 256 KiB, up to 4 MiB: the runtime's own page faults and
// mmaps), writes its pattern and keeps it in a ring, checking each block
// it drops; the first heap worker also runs the collector now and then
// and gives the freed heap back to the kernel (the runtime's madvise,
// concurrent with the other workers' faults).
func heapRounds(w *worker, first bool) {
	var ring [heapSlots]*block
	for w.next() {
		b := w.newBlock()
		slot := w.rng.IntN(heapSlots)
		if old := ring[slot]; old != nil {
			w.checkBlock(old, "dropped")
			select {
			case heapShare <- old:
			default:
			}
		}
		ring[slot] = b
		select {
		case other := <-heapShare:
			w.checkBlock(other, "from another worker")
		default:
		}
		if first && w.round%32 == 31 {
			runtime.GC()
		}
		if first && w.round%128 == 127 {
			debug.FreeOSMemory()
		}
	}
	for _, b := range ring {
		if b != nil {
			w.checkBlock(b, "at the end")
		}
	}
}

// newBlock allocates and writes a block of a random size.
func (w *worker) newBlock() *block {
	var n int
	switch r := w.rng.IntN(10); {
	case r < 6:
		n = 1 + w.rng.IntN(pageWords)
	case r < 9:
		n = pageWords + w.rng.IntN(32*pageWords)
	default:
		n = 32*pageWords + w.rng.IntN(480*pageWords)
	}
	b := &block{words: make([]uint64, n), t: tag{w.id, w.round}}
	for i := range b.words {
		b.words[i] = pat(b.t, i/pageWords, i%pageWords)
	}
	return b
}

// checkBlock checks every word of b.
func (w *worker) checkBlock(b *block, which string) {
	for i, v := range b.words {
		if want := pat(b.t, i/pageWords, i%pageWords); v != want {
			w.failf("heap block %s (%d words at %p) word %d holds %s, want %s", which, len(b.words), &b.words[0], i, describe(v), describe(want))
		}
	}
}
