package fs

// A byteRing is a ring of bytes of fixed capacity in pages taken when
// first written and given back by release. Unix-domain sockets queue
// their received data in one.
type byteRing struct {
	pages   [unixRingPages]uint64
	head, n int // start and bytes held
}

// free returns the bytes that still fit.
// Context: trap, kernel lock held; does not allocate.
func (r *byteRing) free() int { return UnixRingSize - r.n }

// put appends src, which must fit (free), taking pages as needed. It
// returns false, with nothing appended, when out of pages.
// Context: trap; does not allocate.
func (r *byteRing) put(m *Mem, src []byte) bool {
	for done := 0; done < len(src); {
		pos := (r.head + r.n + done) % UnixRingSize
		pg := &r.pages[pos/PageSize]
		if *pg == 0 {
			if *pg = m.alloc(); *pg == 0 {
				return false
			}
		}
		c := min(len(src)-done, PageSize-pos%PageSize)
		copy(m.page(*pg)[pos%PageSize:], src[done:done+c])
		done += c
	}
	r.n += len(src)
	return true
}

// peek copies bytes from offset off of the held bytes into dst and
// returns how many. Context: trap; does not allocate.
func (r *byteRing) peek(m *Mem, off int, dst []byte) int {
	k := max(min(len(dst), r.n-off), 0)
	for done := 0; done < k; {
		pos := (r.head + off + done) % UnixRingSize
		c := min(k-done, PageSize-pos%PageSize)
		copy(dst[done:done+c], m.page(r.pages[pos/PageSize])[pos%PageSize:])
		done += c
	}
	return k
}

// drop discards the first k held bytes.
// Context: trap, kernel lock held; does not allocate.
func (r *byteRing) drop(k int) {
	r.head = (r.head + k) % UnixRingSize
	r.n -= k
	if r.n == 0 {
		r.head = 0
	}
}

// release gives every page back. Context: trap; does not allocate.
func (r *byteRing) release(m *Mem) {
	for k, pa := range r.pages {
		if pa != 0 {
			m.free(pa)
			r.pages[k] = 0
		}
	}
	r.head, r.n = 0, 0
}
