package main

import (
	"runtime"
	"sync/atomic"
	"syscall"
)

// zapCopyRounds races the kernel's own copies with madvise(MADV_DONTNEED)
// of the buffer they copy to or from: each round reads a file into part
// of a reservation with pread, then writes that part to another file
// with pwrite, while a helper goroutine gives the part's pages back in a
// loop. The area stays mapped and writable, so each call moves all its
// bytes, as on Linux; a byte the pread wrote may read as zero since (a
// zap after it), and a byte the pwrite took may be zero (a zap before
// it), but no byte may hold anything else: data of another page or frame
// means the kernel reused a frame a copy still reached. In the guest the
// madvise calls run beside the copies, under the memory lock alone
// (memcalls.AdviseFree), and a copy that finds a page given back faults
// a fresh one in from ring 0.
func zapCopyRounds(w *worker) {
	f := w.openCopyFiles("memstress-zapcopy-")
	defer w.closeCopyFiles(f)
	src, fd, out, res := f.src, f.fd, f.out, f.res
	for w.next() {
		b := w.subRange(res, copyPages, copyPages)
		w.mapFixed(b, rw)
		w.zapCopy(b, "pread", func() (int, error) { return syscall.Pread(fd, b, 0) })
		w.dataOrZero(b, src.b, "the buffer after a pread")
		w.zapCopy(b, "pwrite", func() (int, error) { return syscall.Pwrite(out, b, 0) })
		back := make([]byte, len(b))
		if m, err := syscall.Pread(out, back, 0); m != len(b) || err != nil {
			w.failf("pread of %d bytes of the written file: %d, %v", len(b), m, err)
		}
		w.dataOrZero(back, src.b, "the file after a pwrite")
		w.mapFixed(b, none)
	}
}

// zapCopies counts the copies beside madvise(MADV_DONTNEED).
var zapCopies atomic.Int64

// zapCopy runs call (what names it) while a helper gives b's pages back
// again and again; the call must move all of b.
func (w *worker) zapCopy(b []byte, what string, call func() (int, error)) {
	var stop, running atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			if err := madvise(b, syscall.MADV_DONTNEED); err != nil {
				fail(w.name(), "madvise(MADV_DONTNEED) of a buffer under a copy: %v", err)
			}
			running.Store(true)
		}
	}()
	for !running.Load() {
		runtime.Gosched() // the copy starts once the zaps do
	}
	n, err := call()
	stop.Store(true)
	<-done
	if n != len(b) || err != nil {
		w.failf("a %s of %d bytes beside madvise(MADV_DONTNEED): %d, %v", what, len(b), n, err)
	}
	zapCopies.Add(1)
}

// dataOrZero checks that each byte of got is data's or zero (where
// names it).
func (w *worker) dataOrZero(got, data []byte, where string) {
	for i, v := range got {
		if v != data[i] && v != 0 {
			w.failf("%s beside madvise(MADV_DONTNEED): byte %d holds %#x, want %#x or 0 (word %s)", where, i, v, data[i], describe(words(got)[i/8]))
		}
	}
}
