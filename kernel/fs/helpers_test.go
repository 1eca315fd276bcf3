package fs

import (
	"strings"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/gometal/gometal/kernel/mm"
)

// keep holds the host buffers standing in for physical memory, so the
// garbage collector never frees one while a Frames still points into it
// (the Frames holds only a uintptr).
var keep [][]byte

// fakeRAM returns a Frames over a host buffer standing in for physical
// memory [base, base+pages*PageSize), as kernel/mm's tests do.
func fakeRAM(t testing.TB, pages int) *mm.Frames {
	const base = 0x100000
	size := uint64(pages) * PageSize
	buf := make([]byte, size+PageSize)
	start := (uintptr(unsafe.Pointer(&buf[0])) + PageSize - 1) &^ (PageSize - 1)
	f := &mm.Frames{DirectBase: start - base}
	require.True(t, f.AddRange(base, base+size))
	keep = append(keep, buf)
	return f
}

// ramPool hands out allocators over one buffer per size, so a fuzz run
// does not keep allocating host memory: each iteration gets a fresh
// Frames (Alloc zeroes what it hands out).
var ramPool = map[int]*[]byte{}

func reusedRAM(t testing.TB, pages int) *Mem {
	buf := ramPool[pages]
	if buf == nil {
		b := make([]byte, (pages+1)*PageSize)
		buf = &b
		ramPool[pages] = buf
		keep = append(keep, b)
	}
	const base = 0x100000
	start := (uintptr(unsafe.Pointer(&(*buf)[0])) + PageSize - 1) &^ (PageSize - 1)
	m := &Mem{Frames: &mm.Frames{DirectBase: start - base}, Budget: int64(pages)}
	require.True(t, m.Frames.AddRange(base, base+uint64(pages)*PageSize))
	return m
}

// env is a file system over fake RAM with a generous budget.
type env struct {
	t  testing.TB
	fs *FS
	m  *Mem
}

func newEnv(t testing.TB, pages int) *env {
	fsys := new(FS)
	fsys.Now = 1_000_000_000
	fsys.Init()
	return &env{t: t, fs: fsys, m: &Mem{Frames: fakeRAM(t, pages), Budget: int64(pages)}}
}

// newPath copies s into a fresh Path (Found.Name aliases it, so each
// resolution gets its own).
func newPath(s string) *Path {
	p := new(Path)
	p.N = copy(p.Buf[:], s)
	return p
}

func (e *env) resolve(start Ino, path string, follow bool) (Found, Errno) {
	return e.fs.Resolve(e.m, start, newPath(path), follow)
}

// ino returns what path names (following links), failing the test if
// the path does not resolve to an existing file.
func (e *env) ino(path string) Ino {
	f, err := e.resolve(RootIno, path, true)
	require.Equal(e.t, ok, err, "resolve %q", path)
	require.NotZero(e.t, f.Ino, "resolve %q", path)
	return f.Ino
}

// where resolves path without following a final link and requires it to
// name a place (an existing entry or not).
func (e *env) where(path string) Found {
	f, err := e.resolve(RootIno, path, false)
	require.Equal(e.t, ok, err, "resolve %q", path)
	return f
}

func (e *env) mkdir(path string) Ino {
	f := e.where(path)
	ino, err := e.fs.Create(e.m, f.Dir, f.Name, unix.S_IFDIR|0o755, 0)
	require.Equal(e.t, ok, err, "mkdir %q", path)
	return ino
}

func (e *env) create(path, data string) Ino {
	f := e.where(path)
	ino, err := e.fs.Create(e.m, f.Dir, f.Name, unix.S_IFREG|0o644, 0)
	require.Equal(e.t, ok, err, "create %q", path)
	if data != "" {
		n, err := e.fs.Write(e.m, ino, 0, []byte(data))
		require.Equal(e.t, ok, err)
		require.Equal(e.t, len(data), n)
	}
	return ino
}

func (e *env) symlink(path, target string) Ino {
	f := e.where(path)
	ino, err := e.fs.Symlink(e.m, f.Dir, f.Name, []byte(target))
	require.Equal(e.t, ok, err, "symlink %q", path)
	return ino
}

func (e *env) unlink(path string) Errno {
	f := e.where(path)
	return e.fs.Unlink(e.m, f.Dir, f.Name)
}

func (e *env) rmdir(path string) Errno {
	f := e.where(path)
	return e.fs.Rmdir(e.m, f.Dir, f.Name)
}

func (e *env) rename(from, to string, flags uint32) Errno {
	a, b := e.where(from), e.where(to)
	return e.fs.Rename(e.m, a.Dir, a.Name, b.Dir, b.Name, flags)
}

func (e *env) read(ino Ino, off int64, n int) []byte {
	b := make([]byte, n)
	k, err := e.fs.Read(e.m, ino, off, b)
	require.Equal(e.t, ok, err)
	return b[:k]
}

func (e *env) readAll(ino Ino) string {
	return string(e.read(ino, 0, int(e.fs.Size(ino))))
}

func (e *env) stat(ino Ino) Stat {
	st, err := e.fs.Stat(ino)
	require.Equal(e.t, ok, err)
	return st
}

func (e *env) nlink(path string) uint32 { return e.stat(e.ino(path)).Nlink }

// list returns the names of directory ino in ReadDir's order, "." and
// ".." included.
func (e *env) list(ino Ino) []string {
	var names []string
	for pos := int64(0); ; {
		d, more := e.fs.ReadDir(e.m, ino, pos)
		if !more {
			return names
		}
		names = append(names, string(d.Name))
		pos = d.Next
	}
}

// empty requires that the file system holds no pages and no inodes but
// the root.
func (e *env) empty() {
	e.t.Helper()
	require.Equal(e.t, int64(0), e.fs.PagesHeld, "PagesHeld")
	require.Equal(e.t, int64(0), e.m.Taken, "Mem.Taken")
	require.Equal(e.t, int64(1), e.fs.InodesUsed, "InodesUsed")
}

func repeat(s string, n int) string { return strings.Repeat(s, n) }
