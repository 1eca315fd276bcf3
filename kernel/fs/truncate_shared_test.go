package fs

import (
	"bytes"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestTruncateShared: a truncation beside others (Mem.Shared) shrinks a
// file, giving its pages back, and grows one, stamping its own instant;
// an open with O_TRUNC beside others empties an existing file; a kernel
// file (a mark in rdev) it declines (NeedsExclusive), changing nothing,
// and a call alone truncates it.
func TestTruncateShared(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", string(bytes.Repeat([]byte("x"), 3*PageSize)))
	g := e.create("/g", "gone")
	k, err := e.fs.Create(e.m, RootIno, []byte("kfile"), unix.S_IFREG|0o444, 1<<20)
	require.Equal(t, ok, err)
	pages := e.fs.PagesHeld
	m := e.sharedMem(90e9)

	require.Equal(t, ok, e.fs.Truncate(m, f, PageSize+10))
	assert.Equal(t, int64(PageSize+10), e.stat(f).Size)
	assert.Equal(t, pages-1, e.fs.PagesHeld, "the third page went back")
	assert.Equal(t, int64(-1), m.Taken)
	assert.Equal(t, int64(90e9), e.stat(f).Mtime, "the call's own instant")
	assert.Equal(t, int64(90e9), e.stat(f).Ctime)
	m.Now = 91e9
	require.Equal(t, ok, e.fs.Truncate(m, f, 5*PageSize))
	assert.Equal(t, int64(5*PageSize), e.stat(f).Size, "grown, with no page taken")
	assert.Equal(t, pages-1, e.fs.PagesHeld)
	assert.Equal(t, "x", string(e.read(f, PageSize+9, 1)))
	assert.Equal(t, []byte{0}, e.read(f, PageSize+10, 1), "what was cut off reads as zero")

	ino, created, err := e.fs.Open(m, RootIno, newPath("/g"), unix.O_WRONLY|unix.O_TRUNC, 0)
	require.Equal(t, ok, err)
	assert.Equal(t, g, ino)
	assert.False(t, created)
	assert.Zero(t, e.stat(g).Size, "emptied by its open")

	assert.Equal(t, NeedsExclusive, e.fs.Truncate(m, k, 0))
	_, _, err = e.fs.Open(m, RootIno, newPath("/kfile"), unix.O_WRONLY|unix.O_TRUNC, 0)
	assert.Equal(t, NeedsExclusive, err)
	assert.Equal(t, ok, e.fs.Truncate(e.m, k, 0), "alone")
	e.m.Taken += m.Taken
	fsck(t, e.fs, e.m)
}

// TestTruncateBeside: truncations of one file beside its writer and its
// readers, each taking the file's data lock as the system calls do
// (truncation inside Truncate, writes under LockData, reads under Read's
// shared hold). Run with -race (make race), the data lock is what keeps
// it clean; every byte a reader sees is the writer's or zero (cut off
// and grown again), never a freed page's, and the file system ends
// consistent (fsck).
func TestTruncateBeside(t *testing.T) {
	e := newEnv(t, 256)
	f := e.create("/f", "")
	const size = 3 * PageSize
	besideFileCalls(t, e, f, size, 2, func(m *Mem, r int) Errno { // shrinking and growing
		return e.fs.Truncate(m, f, int64(r*997)%size)
	})
	fsck(t, e.fs, e.m)
}

// besideFileCalls runs on file f, 200 rounds each and each with a shared
// Mem of its own: a writer (a page of 'w' at one of the first three
// pages, under LockData, as the system calls write beside others),
// change on a goroutine of its own, and as many readers as readers says,
// each reading size bytes, every one of which must be the writer's or
// zero; it then adds the
// pages they took to e.m.
func besideFileCalls(t *testing.T, e *env, f Ino, size, readers int, change func(m *Mem, r int) Errno) {
	const rounds = 200
	data := bytes.Repeat([]byte{'w'}, PageSize)
	mems := make([]*Mem, 2+readers)
	for k := range mems {
		mems[k] = e.sharedMem(int64(1 + k))
	}
	var wg sync.WaitGroup
	wg.Go(func() { // the writer
		for r := range rounds {
			e.fs.LockData(f)
			_, err := e.fs.Write(mems[0], f, int64(r%3)*PageSize, data)
			e.fs.UnlockData(f)
			if !assert.Equal(t, ok, err) {
				return
			}
		}
	})
	wg.Go(func() {
		for r := range rounds {
			if !assert.Equal(t, ok, change(mems[1], r)) {
				return
			}
		}
	})
	for _, m := range mems[2:] {
		wg.Go(func() { // a reader
			buf := make([]byte, size)
			for range rounds {
				n, err := e.fs.Read(m, f, 0, buf)
				if !assert.Equal(t, ok, err) {
					return
				}
				for i, b := range buf[:n] {
					if b != 'w' && b != 0 {
						t.Errorf("byte %d reads %q: neither written nor zero", i, b)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for _, m := range mems {
		e.m.Taken += m.Taken
	}
}

// TestSetTimesShared: utimensat beside others (Mem.Shared) sets the
// times under the file's data lock, stamping the change time with its
// own instant, never earlier than the file's last change, and UTIME_NOW
// (ChangeTime) sets the others to that change time; beside it, a
// Stat (which holds that lock shared) reads the times whole. Run with
// -race (make race): without the lock in SetTimes the detector reports
// it.
func TestSetTimesShared(t *testing.T) {
	e := newEnv(t, 32)
	f := e.create("/f", "x")
	m := e.sharedMem(70e9)
	require.Equal(t, ok, e.fs.SetTimes(m, f, 5e9, 6e9))
	st := e.stat(f)
	assert.Equal(t, int64(5e9), st.Atime)
	assert.Equal(t, int64(6e9), st.Mtime)
	assert.Equal(t, int64(70e9), st.Ctime, "the call's own instant")
	require.Equal(t, ok, e.fs.SetTimes(e.sharedMem(69e9), f, Omit, 7e9))
	assert.Equal(t, int64(70e9), e.stat(f).Ctime, "an instant read earlier does not stamp the change time back")
	require.Equal(t, ok, e.fs.SetTimes(e.sharedMem(65e9), f, ChangeTime, ChangeTime)) // UTIME_NOW
	st = e.stat(f)
	assert.Equal(t, [3]int64{70e9, 70e9, 70e9}, [3]int64{st.Atime, st.Mtime, st.Ctime}, "UTIME_NOW: the change time, read under the lock")

	require.Equal(t, ok, e.fs.SetTimes(m, f, 0, 0))
	var wg sync.WaitGroup
	wg.Go(func() {
		m := e.sharedMem(80e9)
		for i := range int64(300) {
			if !assert.Equal(t, ok, e.fs.SetTimes(m, f, i, i)) {
				return
			}
		}
	})
	wg.Go(func() {
		for range 300 {
			st, err := e.fs.Stat(f)
			if assert.Equal(t, ok, err) {
				assert.Equal(t, st.Atime, st.Mtime, "both times of one call")
			}
		}
	})
	wg.Wait()
	assert.Equal(t, int64(299), e.stat(f).Mtime)
}

// TestAllocateShared: fallocate beside others (Mem.Shared) takes the
// pages of its range from the charge taken beforehand, grows the file
// (or not, with keepSize) and stamps its own instant; a kernel file (a
// mark in rdev) it declines (NeedsExclusive), changing nothing, and a
// call alone allocates it.
func TestAllocateShared(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "x")
	k, err := e.fs.Create(e.m, RootIno, []byte("kfile"), unix.S_IFREG|0o444, 1<<20)
	require.Equal(t, ok, err)
	pages := e.fs.PagesHeld
	m := e.sharedMem(90e9)
	require.Equal(t, ok, e.fs.Allocate(m, f, PageSize, 2*PageSize, false))
	assert.Equal(t, int64(3*PageSize), e.stat(f).Size)
	assert.Equal(t, pages+2, e.fs.PagesHeld, "the range's two pages")
	assert.Equal(t, int64(90e9), e.stat(f).Ctime, "the call's own instant")
	m.Now = 91e9
	require.Equal(t, ok, e.fs.Allocate(m, f, 3*PageSize, PageSize, true))
	assert.Equal(t, int64(3*PageSize), e.stat(f).Size, "keepSize: the size stays")
	assert.Equal(t, pages+3, e.fs.PagesHeld)

	assert.Equal(t, NeedsExclusive, e.fs.Allocate(m, k, 0, PageSize, false))
	assert.Zero(t, e.stat(k).Size)
	assert.Equal(t, ok, e.fs.Allocate(e.m, k, 0, PageSize, false), "alone")
	e.m.Taken += m.Taken
	fsck(t, e.fs, e.m)
}

// TestAllocateBeside: allocations of one file beside its writer and its
// reader, each taking the file's data lock as the system calls do
// (allocation inside Allocate, writes under LockData, reads under
// Read's shared hold). Run with -race (make race): without the data lock
// in Allocate the detector reports it. Every byte the reader sees is the
// writer's or zero, and the file system ends consistent (fsck).
func TestAllocateBeside(t *testing.T) {
	e := newEnv(t, 256)
	f := e.create("/f", "")
	besideFileCalls(t, e, f, 8*PageSize, 1, func(m *Mem, r int) Errno { // growing the file a page at a time
		return e.fs.Allocate(m, f, int64(r%8)*PageSize, PageSize, r%2 == 0)
	})
	fsck(t, e.fs, e.m)
}
