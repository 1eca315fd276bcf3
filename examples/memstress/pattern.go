package main

import (
	"fmt"
	"unsafe"
)

const (
	pageSize  = 4096
	pageWords = pageSize / 8
	magic     = 0xa5
)

// tag names whose data a page holds: a worker's round.
type tag struct{ id, round int }

// pat is word i of page p of t's data: the magic byte, the worker (12
// bits), the round (23 bits), the page (12 bits) and the word (9 bits),
// so that every word of a run is told apart by its value.
func pat(t tag, p, i int) uint64 {
	return magic<<56 | uint64(t.id&0xfff)<<44 | uint64(t.round&0x7fffff)<<21 | uint64(p&0xfff)<<9 | uint64(i&0x1ff)
}

// describe says whose word v is, if it is one of pat's.
func describe(v uint64) string {
	switch {
	case v == 0:
		return "zero"
	case v>>56 != magic:
		return fmt.Sprintf("%#x, no pattern", v)
	}
	return fmt.Sprintf("%#x: worker %d round %d page %d word %d", v, v>>44&0xfff, v>>21&0x7fffff, v>>9&0xfff, v&0x1ff)
}

// words is b seen as 64-bit words.
func words(b []byte) []uint64 {
	return unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/8)
}

// page is page p of b, as words.
func page(b []byte, p int) []uint64 {
	return words(b[p*pageSize : (p+1)*pageSize])
}

// fillPage writes t's pattern to page p of b, word 0 first (in a fresh
// mapping, the write that faults the page in).
func fillPage(b []byte, p int, t tag) {
	for i, ws := 0, page(b, p); i < len(ws); i++ {
		ws[i] = pat(t, p, i)
	}
}

// checkPage compares page p of b with t's pattern, or with zeros if zero,
// and names the first word that differs.
func checkPage(b []byte, p int, t tag, zero bool) error {
	for i, v := range page(b, p) {
		want := uint64(0)
		if !zero {
			want = pat(t, p, i)
		}
		if v != want {
			return fmt.Errorf("page %d word %d at %p holds %s, want %s", p, i, &page(b, p)[i], describe(v), describe(want))
		}
	}
	return nil
}
