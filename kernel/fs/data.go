package fs

import "sync/atomic"

// A file's data lives in pages from the frame allocator, found through a
// radix tree of index pages (512 page addresses each): depth 0 means the
// root is the only data page (page 0), depth d covers 512^d pages. Pages
// never written read as zeros (sparse files).

// maxDepth covers MaxFileSize (2^40 bytes = 2^28 pages < 512^4).
const maxDepth = 4

// span returns the number of pages a tree of depth d covers.
func span(d uint8) uint64 { return 1 << (9 * uint64(d)) }

// findPage returns the data page holding page number pg of ip, or 0. When
// there is none, next is the first page number above pg that may have
// one (so callers can skip holes a subtree at a time); slot is where the
// page's address is stored (for removing it).
// Context: trap or boot; does not allocate.
func findPage(m *Mem, ip *inode, pg uint64) (pa uint64, slot *uint64, next uint64) {
	if ip.root == 0 || pg >= span(ip.depth) {
		return 0, nil, ^uint64(0)
	}
	slot = &ip.root
	for level := ip.depth; level > 0; level-- {
		shift := 9 * uint64(level-1)
		slot = &m.index(*slot)[(pg>>shift)&511]
		if *slot == 0 {
			return 0, nil, (pg>>shift + 1) << shift
		}
	}
	return *slot, slot, pg + 1
}

// makePage returns the data page for pg, adding it (and any index pages on
// the way) when missing. It fails with ENOSPC when out of pages.
// Context: trap or boot; does not allocate.
func (fs *FS) makePage(m *Mem, ip *inode, pg uint64) (uint64, Errno) {
	if ip.root == 0 {
		for ip.depth = 0; pg >= span(ip.depth); ip.depth++ {
		}
		if ip.root = m.alloc(); ip.root == 0 {
			ip.depth = 0
			return 0, ENOSPC
		}
		if ip.depth == 0 {
			ip.pages++
			atomic.AddInt64(&fs.PagesHeld, 1)
			return ip.root, ok
		}
	}
	for pg >= span(ip.depth) { // grow: the old tree becomes entry 0
		top := m.alloc()
		if top == 0 {
			return 0, ENOSPC
		}
		m.index(top)[0] = ip.root
		ip.root = top
		ip.depth++
	}
	slot := &ip.root
	for level := ip.depth; level > 0; level-- {
		slot = &m.index(*slot)[(pg>>(9*uint64(level-1)))&511]
		if *slot == 0 {
			if *slot = m.alloc(); *slot == 0 {
				return 0, ENOSPC
			}
			if level == 1 {
				ip.pages++
				atomic.AddInt64(&fs.PagesHeld, 1)
			}
		}
	}
	return *slot, ok
}

// readData copies ip's bytes at off into dst, up to the end of the file,
// and returns how many. Context: trap; does not allocate.
func readData(m *Mem, ip *inode, off int64, dst []byte) int {
	if off >= ip.size {
		return 0
	}
	n := int(min(int64(len(dst)), ip.size-off))
	for done := 0; done < n; {
		pos := uint64(off) + uint64(done)
		in := int(pos % PageSize)
		k := min(n-done, PageSize-in)
		if pa, _, _ := findPage(m, ip, pos/PageSize); pa != 0 {
			copy(dst[done:done+k], m.page(pa)[in:in+k])
		} else {
			clear(dst[done : done+k])
		}
		done += k
	}
	return n
}

// WritePages bounds the pages, data and index, that a write of n bytes at
// off can add to a file, whatever the file holds: the data pages the
// range spans and, at each of the tree's maxDepth index levels, the
// index pages above them, three more than their share (the range's two
// ends, and the old tree's new parent when the tree grows past it).
// kernel/vfs's ReserveMem charges it before a write that runs beside
// others. A write at or past MaxFileSize adds none (EFBIG), and one
// that reaches past it only what lies below it. Context: any; does not
// allocate.
func WritePages(off int64, n int) int64 {
	if off < 0 || off >= MaxFileSize {
		return 0
	}
	end := off + min(int64(n), MaxFileSize-off)
	data := (end+PageSize-1)/PageSize - off/PageSize
	return data + data/511 + 3*maxDepth
}

// writeData copies src into ip at off, growing the file, and returns how
// many bytes it wrote: fewer than len(src) (or ENOSPC for none) when out
// of pages, EFBIG past MaxFileSize. Context: trap; does not allocate.
func (fs *FS) writeData(m *Mem, ip *inode, off int64, src []byte) (int, Errno) {
	if off < 0 || off >= MaxFileSize {
		return 0, EFBIG
	}
	n := int(min(int64(len(src)), MaxFileSize-off))
	done := 0
	for done < n {
		pos := uint64(off) + uint64(done)
		in := int(pos % PageSize)
		k := min(n-done, PageSize-in)
		pa, e := fs.makePage(m, ip, pos/PageSize)
		if e != ok {
			break
		}
		copy(m.page(pa)[in:in+k], src[done:done+k])
		done += k
	}
	if end := off + int64(done); done > 0 && end > ip.size { // a failed write does not grow the file
		ip.size = end
	}
	if done == 0 && n > 0 {
		return 0, ENOSPC
	}
	return done, ok
}

// truncateData sets ip's size, freeing the pages past it and zeroing the
// tail of the last one, so that growing the file again reads zeros.
// Context: trap, ip's data lock held exclusively or the call alone (the
// files lock held exclusively); does not allocate.
func (fs *FS) truncateData(m *Mem, ip *inode, size int64) {
	if ip.mapped {
		fs.zeroFrom(m, ip, size)
		ip.size = size
		return
	}
	if size == 0 {
		fs.freeData(m, ip)
		ip.size = 0
		return
	}
	if size < ip.size {
		first := (uint64(size) + PageSize - 1) / PageSize
		last := (uint64(ip.size) + PageSize - 1) / PageSize
		for pg := first; pg < last; {
			pa, slot, next := findPage(m, ip, pg)
			if pa != 0 && slot != &ip.root {
				*slot = 0
				m.free(pa)
				ip.pages--
				atomic.AddInt64(&fs.PagesHeld, -1)
			}
			pg = next
		}
		if in := size % PageSize; in != 0 {
			if pa, _, _ := findPage(m, ip, uint64(size)/PageSize); pa != 0 {
				clear(m.page(pa)[in:])
			}
		}
	}
	ip.size = size
}

// zeroFrom zeroes ip's data from byte size to its end, keeping the pages
// (for a file mapped into memory). Context: trap; does not allocate.
func (fs *FS) zeroFrom(m *Mem, ip *inode, size int64) {
	for pg := uint64(size) / PageSize; pg < (uint64(ip.size)+PageSize-1)/PageSize; {
		pa, _, next := findPage(m, ip, pg)
		if pa != 0 {
			from := int64(0)
			if pg == uint64(size)/PageSize {
				from = size % PageSize
			}
			clear(m.page(pa)[from:])
		}
		pg = next
	}
}

// freeData gives back every page of ip (data and index), walking the tree
// with an explicit stack (trap context may not recurse).
// Context: trap; does not allocate.
func (fs *FS) freeData(m *Mem, ip *inode) {
	if ip.root == 0 {
		return
	}
	type frame struct {
		pa    uint64
		level uint8
		slot  int
	}
	var st [maxDepth + 1]frame
	st[0] = frame{ip.root, ip.depth, 0}
	for n := 1; n > 0; {
		f := &st[n-1]
		if f.level == 0 {
			m.free(f.pa)
			ip.pages--
			atomic.AddInt64(&fs.PagesHeld, -1)
			n--
			continue
		}
		idx := m.index(f.pa)
		for f.slot < 512 && idx[f.slot] == 0 {
			f.slot++
		}
		if f.slot == 512 {
			m.free(f.pa)
			n--
			continue
		}
		st[n] = frame{idx[f.slot], f.level - 1, 0}
		f.slot++
		n++
	}
	ip.root, ip.depth = 0, 0
}

// PageOf returns the physical page holding page pgoff of ino, adding a
// zeroed one when create is set (for mapping files into memory).
// Context: trap; does not allocate.
func (fs *FS) PageOf(m *Mem, ino Ino, pgoff uint64, create bool) (uint64, Errno) {
	ip := fs.node(ino)
	if ip == nil {
		return 0, EBADF
	}
	if pa, _, _ := findPage(m, ip, pgoff); pa != 0 || !create {
		return pa, ok
	}
	return fs.makePage(m, ip, pgoff)
}
