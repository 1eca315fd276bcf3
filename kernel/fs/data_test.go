package fs

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = seed + byte(i*7)
	}
	return b
}

func TestWriteReadOffsets(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "")
	n, err := e.fs.Write(e.m, f, 0, []byte("hello, world"))
	require.Equal(t, ok, err)
	assert.Equal(t, 12, n)
	n, err = e.fs.Write(e.m, f, 7, []byte("there"))
	require.Equal(t, ok, err)
	assert.Equal(t, 5, n)
	assert.Equal(t, "hello, there", e.readAll(f))
	assert.Equal(t, "there", string(e.read(f, 7, 100)), "a read stops at the end of the file")
	assert.Empty(t, e.read(f, 12, 10), "a read at the end gives nothing")
	assert.Empty(t, e.read(f, 1000, 10), "a read past the end gives nothing")
	n, err = e.fs.Write(e.m, f, 0, nil)
	assert.Equal(t, ok, err)
	assert.Zero(t, n)

	// a write across a page boundary
	data := pattern(PageSize+100, 3)
	_, err = e.fs.Write(e.m, f, PageSize-50, data)
	require.Equal(t, ok, err)
	assert.Equal(t, int64(2*PageSize+50), e.fs.Size(f))
	assert.Equal(t, data, e.read(f, PageSize-50, len(data)))
	assert.Equal(t, int64(3), e.stat(f).Pages())
	assert.Equal(t, int64(3*8), e.stat(f).Blocks)
}

// Pages returns the data pages behind st (st_blocks in pages).
func (st Stat) Pages() int64 { return st.Blocks / (PageSize / 512) }

func TestSparseFile(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "")
	_, err := e.fs.Write(e.m, f, 10*PageSize+5, []byte("tail"))
	require.Equal(t, ok, err)
	assert.Equal(t, int64(10*PageSize+9), e.fs.Size(f))
	got := e.read(f, 0, 11*PageSize)
	require.Len(t, got, 10*PageSize+9)
	assert.Equal(t, make([]byte, 10*PageSize+5), got[:10*PageSize+5], "holes read as zeros")
	assert.Equal(t, "tail", string(got[10*PageSize+5:]))
	assert.Equal(t, int64(1), e.stat(f).Pages(), "only the written page is held")
	// a hole read into a dirty buffer is cleared
	buf := bytes.Repeat([]byte{0xff}, 100)
	n, err := e.fs.Read(e.m, f, 3*PageSize, buf)
	require.Equal(t, ok, err)
	assert.Equal(t, 100, n)
	assert.Equal(t, make([]byte, 100), buf)
}

// TestIndexDepth writes at page numbers that need each depth of the index
// tree, in an order that makes the tree grow above existing data.
func TestIndexDepth(t *testing.T) {
	e := newEnv(t, 256)
	f := e.create("/f", "")
	ip := &e.fs.inodes[f]
	steps := []struct {
		page  uint64
		depth uint8
	}{
		{0, 0}, {1, 1}, {511, 1}, {512, 2}, {512*512 - 1, 2}, {512 * 512, 3},
		{1<<28 - 1, 4}, // the last page below MaxFileSize
		{513, 4}, {262145, 4},
	}
	var written []uint64
	for i, s := range steps {
		data := pattern(100, byte(i))
		_, err := e.fs.Write(e.m, f, int64(s.page)*PageSize+7, data)
		require.Equal(t, ok, err, "page %d", s.page)
		assert.Equal(t, s.depth, ip.depth, "depth after page %d", s.page)
		written = append(written, s.page)
		for k, pg := range written { // everything written so far is still there
			assert.Equal(t, pattern(100, byte(k)), e.read(f, int64(pg)*PageSize+7, 100), "page %d", pg)
		}
	}
	assert.Equal(t, int64(len(steps)), e.stat(f).Pages())
	assert.Equal(t, int64(len(steps)), e.fs.PagesHeld-1) // the root directory's page
	// index pages are held too, and go back with the file
	assert.Greater(t, e.m.Taken, e.fs.PagesHeld)
	// the holes between read as zeros
	assert.Equal(t, make([]byte, 100), e.read(f, 300*PageSize, 100))
	assert.Equal(t, make([]byte, 100), e.read(f, 200000*PageSize, 100))
	assert.Equal(t, make([]byte, 100), e.read(f, 100000000*PageSize, 100))
	require.Equal(t, ok, e.unlink("/f"))
	e.empty()
}

func TestPageOf(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "abc")
	pa, err := e.fs.PageOf(e.m, f, 0, false)
	require.Equal(t, ok, err)
	require.NotZero(t, pa)
	assert.Equal(t, "abc", string(e.m.page(pa)[:3]))
	pa, err = e.fs.PageOf(e.m, f, 5, false)
	assert.Equal(t, ok, err)
	assert.Zero(t, pa, "a hole has no page")
	pa, err = e.fs.PageOf(e.m, f, 5, true)
	require.Equal(t, ok, err)
	require.NotZero(t, pa)
	e.m.page(pa)[0] = 'M'
	pa2, _ := e.fs.PageOf(e.m, f, 5, false)
	assert.Equal(t, pa, pa2)
	assert.Equal(t, int64(3), e.fs.Size(f), "PageOf does not change the size")
	_, err = e.fs.PageOf(e.m, 0, 0, false)
	assert.Equal(t, EBADF, err)
	_, err = e.fs.PageOf(e.m, 4000, 0, false)
	assert.Equal(t, EBADF, err)
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		name       string
		size       int64 // written first, with a pattern
		shrink     int64
		grow       int64
		pagesAfter int64 // data pages after the shrink
	}{
		{"to zero", 3 * PageSize, 0, 2 * PageSize, 0},
		{"page boundary", 3 * PageSize, PageSize, 3 * PageSize, 1},
		{"partial tail", 3*PageSize + 10, PageSize + 100, 3 * PageSize, 2},
		{"within the first page", 100, 10, 200, 1},
		{"deep tree", 600 * PageSize, 513*PageSize + 1, 600 * PageSize, 514},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 1024)
			f := e.create("/f", "")
			data := pattern(int(tc.size), 9)
			_, err := e.fs.Write(e.m, f, 0, data)
			require.Equal(t, ok, err)
			e.fs.Now = 5e9
			require.Equal(t, ok, e.fs.Truncate(e.m, f, tc.shrink))
			assert.Equal(t, tc.shrink, e.fs.Size(f))
			assert.Equal(t, tc.pagesAfter, e.stat(f).Pages())
			assert.Equal(t, int64(5e9), e.stat(f).Mtime)
			assert.Equal(t, data[:tc.shrink], e.read(f, 0, int(tc.size)))
			require.Equal(t, ok, e.fs.Truncate(e.m, f, tc.grow))
			assert.Equal(t, tc.pagesAfter, e.stat(f).Pages(), "growing adds no pages")
			got := e.read(f, 0, int(tc.grow))
			require.Len(t, got, int(tc.grow))
			assert.Equal(t, data[:tc.shrink], got[:tc.shrink])
			assert.Equal(t, make([]byte, tc.grow-tc.shrink), got[tc.shrink:], "the regrown part reads zeros")
			require.Equal(t, ok, e.unlink("/f"))
			e.empty()
		})
	}
}

func TestTruncateErrors(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "x")
	d := e.mkdir("/d")
	l := e.symlink("/l", "f")
	assert.Equal(t, EINVAL, e.fs.Truncate(e.m, f, -1))
	assert.Equal(t, EFBIG, e.fs.Truncate(e.m, f, MaxFileSize+1))
	assert.Equal(t, ok, e.fs.Truncate(e.m, f, MaxFileSize))
	assert.Equal(t, EISDIR, e.fs.Truncate(e.m, d, 0))
	assert.Equal(t, EINVAL, e.fs.Truncate(e.m, l, 0))
	assert.Equal(t, ENOENT, e.fs.Truncate(e.m, 3000, 0))
}

func TestUnlinkFreesPages(t *testing.T) {
	e := newEnv(t, 1024)
	f := e.create("/f", "")
	_, err := e.fs.Write(e.m, f, 0, pattern(100*PageSize, 1))
	require.Equal(t, ok, err)
	_, err = e.fs.Write(e.m, f, 300*PageSize, []byte("x"))
	require.Equal(t, ok, err)
	assert.Equal(t, int64(101), e.stat(f).Pages())
	require.Equal(t, ok, e.unlink("/f"))
	assert.Nil(t, e.fs.node(f))
	e.empty()
}

func TestUnlinkedButHeld(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "still here")
	e.fs.Hold(f)
	e.fs.Hold(f)
	require.Equal(t, ok, e.unlink("/f"))
	_, err := e.resolve(RootIno, "/f", true)
	require.Equal(t, ok, err)
	assert.Zero(t, e.where("/f").Ino, "the name is gone")
	assert.Equal(t, uint32(0), e.stat(f).Nlink)
	assert.Equal(t, "still here", e.readAll(f))
	_, err = e.fs.Write(e.m, f, 10, []byte("!"))
	require.Equal(t, ok, err)
	assert.Equal(t, ENOENT, e.fs.Link(e.m, f, RootIno, []byte("back")), "an unlinked file cannot get a name")
	e.fs.Drop(e.m, f)
	assert.Equal(t, "still here!", e.readAll(f))
	assert.Equal(t, int64(1), e.fs.PagesHeld)
	e.fs.Drop(e.m, f)
	assert.Nil(t, e.fs.node(f))
	e.empty()
}

func TestWriteENOSPC(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "")
	base := e.m.Taken // the root directory's page
	e.m.Budget = base + 3
	data := pattern(5*PageSize, 4)
	n, err := e.fs.Write(e.m, f, 0, data)
	assert.Equal(t, ok, err, "a partial write succeeds")
	assert.Equal(t, 2*PageSize, n, "two data pages (and an index page) fit")
	assert.Equal(t, int64(2*PageSize), e.fs.Size(f))
	assert.Equal(t, base+3, e.m.Taken)
	n, err = e.fs.Write(e.m, f, int64(n), data[n:])
	assert.Equal(t, ENOSPC, err)
	assert.Zero(t, n)
	// overwriting held pages needs nothing new
	n, err = e.fs.Write(e.m, f, 0, []byte("again"))
	assert.Equal(t, ok, err)
	assert.Equal(t, 5, n)
	assert.True(t, bytes.Equal(append([]byte("again"), data[5:2*PageSize]...), e.read(f, 0, 3*PageSize)))
	// the same for a fresh file that cannot get its first page
	g := e.create("/g", "")
	n, err = e.fs.Write(e.m, g, 0, []byte("x"))
	assert.Equal(t, ENOSPC, err)
	assert.Zero(t, n)
	assert.Zero(t, e.fs.Size(g))
	n, err = e.fs.Write(e.m, g, 5*PageSize, []byte("x"))
	assert.Equal(t, ENOSPC, err)
	assert.Zero(t, n)
	assert.Zero(t, e.fs.Size(g))
	// a name that needs a new directory page cannot be made either
	e.m.Budget = e.m.Taken
	for i := 0; ; i++ {
		_, err := e.fs.Create(e.m, RootIno, fmt.Appendf(nil, "name-%03d-%s", i, repeat("p", 200)), unix.S_IFREG|0o644, 0)
		if err != ok {
			assert.Equal(t, ENOSPC, err)
			break
		}
		require.Less(t, i, PageSize/200)
	}
	e.m.Budget = 1 << 20
	require.Equal(t, ok, e.unlink("/f"))
	require.Equal(t, ok, e.unlink("/g"))
	for i := 0; ; i++ {
		if e.fs.Unlink(e.m, RootIno, fmt.Appendf(nil, "name-%03d-%s", i, repeat("p", 200))) != ok {
			break
		}
	}
	e.empty()
}

func TestWriteFrameAllocatorExhausted(t *testing.T) {
	e := newEnv(t, 8)
	e.m.Budget = 1 << 30 // the allocator runs out first
	f := e.create("/f", "")
	n, err := e.fs.Write(e.m, f, 0, pattern(20*PageSize, 1))
	assert.Equal(t, ok, err)
	assert.Equal(t, 6*PageSize, n, "8 frames less the root page and an index page")
	assert.Equal(t, int64(8), e.m.Taken)
	require.Equal(t, ok, e.unlink("/f"))
	e.empty()
	assert.Equal(t, uint64(8), e.m.Frames.FreeCount())
}

func TestWriteEFBIG(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "")
	n, err := e.fs.Write(e.m, f, MaxFileSize-3, []byte("abcdef"))
	assert.Equal(t, ok, err)
	assert.Equal(t, 3, n, "a write stops at the limit")
	assert.Equal(t, int64(MaxFileSize), e.fs.Size(f))
	assert.Equal(t, "abc", string(e.read(f, MaxFileSize-3, 10)))
	n, err = e.fs.Write(e.m, f, MaxFileSize, []byte("x"))
	assert.Equal(t, EFBIG, err)
	assert.Zero(t, n)
	n, err = e.fs.Write(e.m, f, MaxFileSize+PageSize, []byte("x"))
	assert.Equal(t, EFBIG, err)
	assert.Zero(t, n)
	require.Equal(t, ok, e.unlink("/f"))
	e.empty()
}

func TestAllocate(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "")
	require.Equal(t, ok, e.fs.Allocate(e.m, f, 100, 2*PageSize, true))
	assert.Zero(t, e.fs.Size(f), "FALLOC_FL_KEEP_SIZE")
	assert.Equal(t, int64(3), e.stat(f).Pages())
	require.Equal(t, ok, e.fs.Allocate(e.m, f, 0, 10, false))
	assert.Equal(t, int64(10), e.fs.Size(f))
	require.Equal(t, ok, e.fs.Allocate(e.m, f, PageSize, 10, false))
	assert.Equal(t, int64(PageSize+10), e.fs.Size(f))
	assert.Equal(t, make([]byte, PageSize+10), e.read(f, 0, 2*PageSize))
	assert.Equal(t, EINVAL, e.fs.Allocate(e.m, f, -1, 10, false))
	assert.Equal(t, EINVAL, e.fs.Allocate(e.m, f, 0, 0, false))
	assert.Equal(t, EFBIG, e.fs.Allocate(e.m, f, MaxFileSize, 1, false))
	assert.Equal(t, EFBIG, e.fs.Allocate(e.m, f, 1<<62, 1<<62, false))
	assert.Equal(t, EISDIR, e.fs.Allocate(e.m, RootIno, 0, 1, false))
	assert.Equal(t, unix.ENODEV, e.fs.Allocate(e.m, e.symlink("/l", "f"), 0, 1, false))
	e.m.Budget = e.m.Taken + 1
	assert.Equal(t, ENOSPC, e.fs.Allocate(e.m, f, 10*PageSize, 3*PageSize, false))
	assert.Equal(t, int64(PageSize+10), e.fs.Size(f), "a failed allocation does not grow the file")
}

func TestReadWriteErrors(t *testing.T) {
	e := newEnv(t, 64)
	_, err := e.fs.Read(e.m, RootIno, 0, make([]byte, 10))
	assert.Equal(t, EISDIR, err)
	_, err = e.fs.Read(e.m, 0, 0, make([]byte, 10))
	assert.Equal(t, EBADF, err)
	_, err = e.fs.Write(e.m, 0, 0, []byte("x"))
	assert.Equal(t, EBADF, err)
	_, err = e.fs.Write(e.m, 77, 0, []byte("x"))
	assert.Equal(t, EBADF, err)
	_, err = e.fs.Write(e.m, RootIno, 0, []byte("x"))
	assert.Equal(t, EISDIR, err, "a directory's records are not for writing")
}

func TestWriteUpdatesTimes(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "")
	e.fs.Now = 5e9 // not the write's: writes run beside each other and stamp their own m.Now
	e.m.Now = 7e9
	_, err := e.fs.Write(e.m, f, 0, []byte("x"))
	require.Equal(t, ok, err)
	st := e.stat(f)
	assert.Equal(t, int64(7e9), st.Mtime)
	assert.Equal(t, int64(7e9), st.Ctime)
	assert.Equal(t, int64(1e9), st.Btime)
}
