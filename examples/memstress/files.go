package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

const filePages = 16

// fileRounds runs file and pipe calls beside the memory work: each round
// writes a fresh mapping through a pipe and through a file in a temporary
// directory and reads each back into another fresh mapping (the kernel's
// copy faults its pages in), and checks that a buffer the program may not
// access gets EFAULT and moves no data.
func fileRounds(w *worker) {
	dir, err := os.MkdirTemp("", "memstress-")
	if err != nil {
		w.failf("MkdirTemp: %v", err)
	}
	defer os.RemoveAll(dir)
	for w.next() {
		n := 1 + w.rng.IntN(filePages)
		src := w.newRegion(n, tag{w.id, w.round})
		w.throughPipe(src)
		w.throughFile(src, filepath.Join(dir, "data"))
		w.badBuffers(filepath.Join(dir, "bad"))
		w.unmap(src.b)
	}
}

// fresh maps n pages that nothing touched yet.
func (w *worker) fresh(n int, prot int) []byte {
	b, err := mmap(0, n, prot, 0)
	if err != nil {
		w.failf("mmap of %d pages: %v", n, err)
	}
	return b
}

// throughPipe writes src's pages into a pipe on one goroutine and reads
// them on this one into a fresh mapping.
func (w *worker) throughPipe(src *region) {
	r, wr, err := os.Pipe()
	if err != nil {
		w.failf("pipe: %v", err)
	}
	defer r.Close()
	werr := make(chan error, 1)
	go func() {
		_, err := wr.Write(src.b)
		werr <- errors.Join(err, wr.Close())
	}()
	dst := &region{b: w.fresh(len(src.zero), rw), t: src.t, zero: make([]bool, len(src.zero))}
	if _, err := io.ReadFull(r, dst.b); err != nil {
		w.failf("read of %d bytes from a pipe: %v", len(dst.b), err)
	}
	if err := <-werr; err != nil {
		w.failf("write of %d bytes to a pipe: %v", len(src.b), err)
	}
	w.check(dst, "read back from a pipe")
	w.unmap(dst.b)
}

// throughFile writes src's pages to the file at path and reads them back
// into a fresh mapping.
func (w *worker) throughFile(src *region, path string) {
	f, err := os.Create(path)
	if err != nil {
		w.failf("create: %v", err)
	}
	defer os.Remove(path)
	defer f.Close()
	if _, err := f.Write(src.b); err != nil {
		w.failf("write of %d bytes to a file: %v", len(src.b), err)
	}
	dst := &region{b: w.fresh(len(src.zero), rw), t: src.t, zero: make([]bool, len(src.zero))}
	if _, err := f.ReadAt(dst.b, 0); err != nil {
		w.failf("read of %d bytes from a file: %v", len(dst.b), err)
	}
	w.check(dst, "read back from a file")
	w.unmap(dst.b)
}

// badBuffers writes a file and a pipe from PROT_NONE memory and reads
// the file into read-only memory: each must fail with EFAULT, and the
// file and the pipe must hold exactly what was written without it.
func (w *worker) badBuffers(path string) {
	noAccess, readOnly := w.fresh(1, none), w.fresh(1, ro)
	defer w.unmap(noAccess)
	defer w.unmap(readOnly)
	fd, err := syscall.Open(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_TRUNC|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		w.failf("open %s: %v", path, err)
	}
	defer os.Remove(path)
	defer syscall.Close(fd)
	if _, err := syscall.Write(fd, []byte("ok")); err != nil {
		w.failf("write to a file: %v", err)
	}
	w.wantEFAULT("write to a file from PROT_NONE memory", func() (int, error) { return syscall.Write(fd, noAccess) })
	w.wantEFAULT("read from a file into PROT_READ memory", func() (int, error) { return syscall.Pread(fd, readOnly, 0) })
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil || st.Size != 2 {
		w.failf("the file after the refused calls: size %d, %v; want 2 bytes", st.Size, err)
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		w.failf("pipe2: %v", err)
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	w.wantEFAULT("write to a pipe from PROT_NONE memory", func() (int, error) { return syscall.Write(p[1], noAccess) })
	var buf [4]byte
	if _, err := syscall.Write(p[1], []byte("ok")); err != nil {
		w.failf("write to a pipe: %v", err)
	}
	if n, err := syscall.Read(p[0], buf[:]); err != nil || string(buf[:n]) != "ok" {
		w.failf("the pipe after a refused write holds %q, %v; want \"ok\"", buf[:n], err)
	}
}

// wantEFAULT fails unless call fails with EFAULT.
func (w *worker) wantEFAULT(what string, call func() (int, error)) {
	if n, err := call(); err != syscall.EFAULT {
		w.failf("%s: %d, %v; want EFAULT", what, n, err)
	}
}
