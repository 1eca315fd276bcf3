package fs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveEntry(t *testing.T) {
	e, id := tree(t)
	tests := []struct {
		path  string
		ino   string
		dir   string
		name  string
		slash bool
		err   Errno
	}{
		{path: "/a/lrel", ino: "lrel", dir: "a", name: "lrel"},
		{path: "/a/lrel/", ino: "lrel", dir: "a", name: "lrel", slash: true},
		{path: "/a/dangle/", ino: "dangle", dir: "a", name: "dangle", slash: true},
		{path: "/a/f/", ino: "f", dir: "a", name: "f", slash: true},
		{path: "/a/self/", ino: "self", dir: "a", name: "self", slash: true},
		{path: "/a/lrel/c", ino: "c", dir: "b", name: "c"},
		{path: "/a/new/", dir: "a", name: "new", slash: true},
		{path: "/a/f/x", err: ENOTDIR},
		{path: "/a/self/x", err: ELOOP},
	}
	for _, tc := range tests {
		f, err := e.fs.ResolveEntry(e.m, RootIno, newPath(tc.path))
		require.Equal(t, tc.err, err, tc.path)
		if err != ok {
			continue
		}
		assert.Equal(t, id[tc.ino], f.Ino, tc.path)
		assert.Equal(t, id[tc.dir], f.Dir, tc.path)
		assert.Equal(t, tc.name, string(f.Name), tc.path)
		assert.Equal(t, tc.slash, f.Slash, tc.path)
	}
}

func TestPathOf(t *testing.T) {
	e := newEnv(t, 64)
	e.mkdir("/usr")
	e.mkdir("/usr/" + repeat("l", 100))
	deep := e.mkdir("/usr/" + repeat("l", 100) + "/bin")
	buf := make([]byte, 300)
	n, err := e.fs.PathOf(e.m, deep, buf)
	require.Equal(t, ok, err)
	assert.Equal(t, "/usr/"+repeat("l", 100)+"/bin", string(buf[len(buf)-n:]))
	n, err = e.fs.PathOf(e.m, RootIno, buf)
	require.Equal(t, ok, err)
	assert.Equal(t, "/", string(buf[len(buf)-n:]))
	_, err = e.fs.PathOf(e.m, deep, buf[:50])
	assert.Equal(t, ENAMETOOLONG, err)
	// follows renames
	require.Equal(t, ok, e.rename("/usr", "/opt", 0))
	n, err = e.fs.PathOf(e.m, deep, buf)
	require.Equal(t, ok, err)
	assert.Equal(t, "/opt/"+repeat("l", 100)+"/bin", string(buf[len(buf)-n:]))
	// a removed directory has no path
	e.fs.Hold(deep)
	require.Equal(t, ok, e.rmdir("/opt/"+repeat("l", 100)+"/bin"))
	_, err = e.fs.PathOf(e.m, deep, buf)
	assert.Equal(t, ENOENT, err)
	e.fs.Drop(e.m, deep)
	_, err = e.fs.PathOf(e.m, e.create("/f", ""), buf)
	assert.Equal(t, ENOENT, err, "not a directory")
}

func TestKeepPagesTruncate(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", string(pattern(3*PageSize, 2)))
	assert.True(t, e.fs.IsRegular(f))
	assert.False(t, e.fs.IsRegular(RootIno))
	pa0, _ := e.fs.PageOf(e.m, f, 0, false)
	pa2, _ := e.fs.PageOf(e.m, f, 2, false)
	e.fs.KeepPages(f)
	held := e.fs.PagesHeld
	require.Equal(t, ok, e.fs.Truncate(e.m, f, PageSize+10))
	assert.Equal(t, held, e.fs.PagesHeld, "a mapped file keeps its pages")
	got, _ := e.fs.PageOf(e.m, f, 2, false)
	assert.Equal(t, pa2, got)
	assert.Equal(t, make([]byte, PageSize), e.m.page(pa2)[:], "but zeroes them")
	assert.Equal(t, make([]byte, PageSize-10), e.m.page(mustPage(e, f, 1))[10:])
	require.Equal(t, ok, e.fs.Truncate(e.m, f, 3*PageSize))
	got3 := e.read(f, 0, 3*PageSize)
	assert.Equal(t, pattern(3*PageSize, 2)[:PageSize+10], got3[:PageSize+10])
	assert.Equal(t, make([]byte, 2*PageSize-10), got3[PageSize+10:])
	require.Equal(t, ok, e.fs.Truncate(e.m, f, 0))
	got, _ = e.fs.PageOf(e.m, f, 0, false)
	assert.Equal(t, pa0, got)
	require.Equal(t, ok, e.unlink("/f"))
	e.empty()
}

func mustPage(e *env, ino Ino, pg uint64) uint64 {
	pa, err := e.fs.PageOf(e.m, ino, pg, false)
	require.Equal(e.t, ok, err)
	require.NotZero(e.t, pa)
	return pa
}

func TestFifoPipe(t *testing.T) {
	ps, m := newPipes(t, 16)
	i, err := ps.NewFifo()
	require.Equal(t, ok, err)
	r, w := ps.Ends(i)
	assert.Zero(t, r)
	assert.Zero(t, w)
	ps.Release(m, i) // nobody opened it
	j, err := ps.New()
	require.Equal(t, ok, err)
	assert.Equal(t, i, j, "released")
	k, _ := ps.NewFifo()
	ps.Open(k, true)
	ps.Open(k, false)
	_, err = ps.Write(m, k, []byte("fifo"))
	require.Equal(t, ok, err)
	ps.Release(m, k) // open ends: nothing happens
	buf := make([]byte, 8)
	n, err := ps.Read(m, k, buf)
	require.Equal(t, ok, err)
	assert.Equal(t, "fifo", string(buf[:n]))
	ps.Close(m, k, true)
	ps.Close(m, k, false)
	ps.Close(m, j, true)
	ps.Close(m, j, false)
	assert.Zero(t, m.Taken)
}
