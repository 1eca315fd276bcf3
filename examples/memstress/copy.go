package main

import (
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"
	"syscall"
)

const copyPages = 64

// copyRounds races the kernel's own copies with mapping changes: each
// round reads a file into part of a reservation with pread, and writes
// it back with pwrite, while a helper goroutine flips that part between
// writable, read-only and PROT_NONE. A call may move all its bytes, some
// (a count short of the length) or none (EFAULT), as on Linux, but the
// bytes it reports moved must be the file's, it may not write where it
// reported nothing beyond the file's own data, and the kernel must go on.
func copyRounds(w *worker) {
	f := w.openCopyFiles("memstress-copy-")
	defer w.closeCopyFiles(f)
	src, fd, out, res := f.src, f.fd, f.out, f.res
	for w.next() {
		b := w.subRange(res, copyPages, copyPages)
		w.mapFixed(b, rw)
		n := w.raceCopy(b, func() (int, error) { return syscall.Pread(fd, b, 0) })
		w.protect(b, rw)
		w.checkCopied(b, src.b, n)
		m := w.raceCopy(b, func() (int, error) { return syscall.Pwrite(out, b, 0) })
		w.protect(b, rw)
		w.checkWritten(out, b, m)
		w.mapFixed(b, none)
	}
}

// copyFiles is what a copy worker's rounds use: a temporary directory,
// a region of patterned data, a file holding it (fd), a file to write
// to (out), and a reservation to map buffers in.
type copyFiles struct {
	dir     string
	src     *region
	fd, out int
	res     []byte
}

// openCopyFiles makes a copy worker's files, in a temporary directory
// whose name starts with prefix.
func (w *worker) openCopyFiles(prefix string) *copyFiles {
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		w.failf("MkdirTemp: %v", err)
	}
	f := &copyFiles{dir: dir, src: w.newRegion(copyPages, tag{w.id, 0})}
	f.fd = w.dataFile(filepath.Join(dir, "data"), f.src.b)
	f.out, err = syscall.Open(filepath.Join(dir, "out"), syscall.O_RDWR|syscall.O_CREAT|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		w.failf("open: %v", err)
	}
	f.res = w.reservation(copyPages)
	return f
}

// closeCopyFiles undoes openCopyFiles.
func (w *worker) closeCopyFiles(f *copyFiles) {
	w.unmap(f.res)
	syscall.Close(f.out)
	syscall.Close(f.fd)
	w.unmap(f.src.b)
	os.RemoveAll(f.dir)
}

// dataFile creates the file at path holding data and returns it open.
func (w *worker) dataFile(path string, data []byte) int {
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		w.failf("open %s: %v", path, err)
	}
	if n, err := syscall.Write(fd, data); n != len(data) || err != nil {
		w.failf("write of %d bytes to %s: %d, %v", len(data), path, n, err)
	}
	return fd
}

// raceCopy runs call while a helper flips b's protection, and returns the
// bytes it moved (0 for EFAULT; any other error fails the run).
func (w *worker) raceCopy(b []byte, call func() (int, error)) int {
	var stop, running atomic.Bool
	done := make(chan struct{})
	seed := w.rng.Uint64()
	go func() {
		defer close(done)
		rng := newRand(seed)
		prots := [...]int{rw, ro, none}
		for !stop.Load() {
			if err := mprotect(b, prots[rng.IntN(len(prots))]); err != nil {
				fail(w.name(), "mprotect of a buffer under a copy: %v", err)
			}
			running.Store(true)
		}
	}()
	for !running.Load() {
		runtime.Gosched() // the copy starts once the flips do
	}
	n, err := call()
	stop.Store(true)
	<-done
	switch {
	case err == syscall.EFAULT:
		copies[copyFault].Add(1)
		return 0
	case err != nil || n < 0 || n > len(b):
		w.failf("a copy of %d bytes beside mprotect: %d, %v", len(b), n, err)
	case n < len(b):
		copies[copyShort].Add(1)
	default:
		copies[copyWhole].Add(1)
	}
	return n
}

// How the copies beside mprotect ended, counted in copies.
const (
	copyWhole = iota
	copyShort
	copyFault
)

// copies counts the copies beside mprotect by how they ended.
var copies [3]atomic.Int64

// checkCopied checks b after a pread of the file holding data that
// reported n bytes: those are the file's, each byte after is the file's
// or still zero.
func (w *worker) checkCopied(b, data []byte, n int) {
	for i, v := range b {
		if v != data[i] && (i < n || v != 0) {
			w.failf("pread of %d bytes reported %d beside mprotect: byte %d holds %#x, want %#x (word %s)", len(b), n, i, v, data[i], describe(words(data)[i/8]))
		}
	}
}

// checkWritten checks the file out after a pwrite of b that reported n
// bytes: the file starts with them.
func (w *worker) checkWritten(out int, b []byte, n int) {
	back := make([]byte, n)
	if m, err := syscall.Pread(out, back, 0); m != n || err != nil {
		w.failf("pread of %d bytes of the written file: %d, %v", n, m, err)
	}
	for i := range back {
		if back[i] != b[i] {
			w.failf("pwrite of %d bytes reported %d beside mprotect: byte %d of the file holds %#x, want %#x", len(b), n, i, back[i], b[i])
		}
	}
}
