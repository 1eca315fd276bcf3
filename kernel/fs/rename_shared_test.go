package fs

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// renameShared is Rename beside others (Mem.Shared) with m, by paths.
func (e *env) renameShared(m *Mem, from, to string, flags uint32) Errno {
	a, b := e.where(from), e.where(to)
	return e.fs.Rename(m, a.Dir, a.Name, b.Dir, b.Name, flags)
}

// TestRenameShared: a rename beside others (Mem.Shared) moves a regular
// file or a symbolic link within a directory and across two, stamping
// its own instant on the file and both directories; a file it replaces
// with its last link and no open handle waits on the orphan list,
// readable by a call that found it before, until Reclaim; one held open
// or with another link does not go there; it declines (NeedsExclusive,
// changing nothing) an exchange and a directory, a FIFO moved or
// replaced, which a call alone then serves with Linux's answers.
func TestRenameShared(t *testing.T) {
	e := newEnv(t, 64)
	a, b := e.mkdir("/a"), e.mkdir("/b")
	f := e.create("/a/f", "one")
	old := e.create("/b/old", "two")
	held := e.create("/b/held", "three")
	e.fs.Hold(held)
	linked := e.create("/b/linked", "four")
	require.Equal(t, ok, e.fs.Link(e.m, linked, a, []byte("other")))
	ln := e.symlink("/a/link", "f")
	e.mkdir("/a/dir")
	_, err := e.fs.Create(e.m, a, []byte("fifo"), unix.S_IFIFO|0o644, 0)
	require.Equal(t, ok, err)
	used := e.fs.InodesUsed
	m := e.sharedMem(50e9)

	require.Equal(t, ok, e.renameShared(m, "/a/f", "/a/g", 0), "within a directory")
	assert.Equal(t, f, e.ino("/a/g"))
	assert.Zero(t, e.where("/a/f").Ino)
	assert.Equal(t, int64(50e9), e.stat(f).Ctime, "the rename's own instant")
	assert.Equal(t, int64(50e9), e.stat(a).Mtime)

	m.Now = 51e9
	require.Equal(t, ok, e.renameShared(m, "/a/g", "/b/old", 0), "across directories, over a file")
	assert.Equal(t, f, e.ino("/b/old"))
	assert.Equal(t, "one", e.readAll(f))
	assert.Equal(t, []Ino{old}, e.orphanList(), "the replaced file's last link went")
	assert.Equal(t, "two", e.readAll(old), "a call that found it before still reads it")
	assert.Zero(t, e.stat(old).Nlink)
	assert.Equal(t, int64(51e9), e.stat(old).Ctime)
	assert.Equal(t, int64(51e9), e.stat(a).Mtime)
	assert.Equal(t, int64(51e9), e.stat(b).Mtime)

	require.Equal(t, ok, e.renameShared(m, "/b/old", "/b/held", 0), "over a file held open")
	require.Equal(t, ok, e.renameShared(m, "/b/held", "/b/linked", 0), "over a file with another link")
	assert.Equal(t, []Ino{old}, e.orphanList(), "an open file goes at its last close, a linked one stays")
	assert.Equal(t, uint32(1), e.nlink("/a/other"))
	require.Equal(t, ok, e.renameShared(m, "/a/link", "/a/link2", 0), "a symbolic link")
	assert.Equal(t, ln, e.where("/a/link2").Ino, "moved, not followed")
	assert.Equal(t, EEXIST, e.renameShared(m, "/b/linked", "/a/other", unix.RENAME_NOREPLACE))
	require.Equal(t, ok, e.fs.Link(e.m, f, a, []byte("same")))
	assert.Equal(t, ok, e.renameShared(m, "/b/linked", "/a/same", 0), "two links of one file: nothing to do")
	assert.Equal(t, f, e.ino("/b/linked"), "both names stay")

	for _, c := range []struct {
		from, to string
		flags    uint32
		alone    Errno
	}{
		{"/a/dir", "/a/dir2", 0, ok},
		{"/a/same", "/a/dir2", 0, EISDIR},
		{"/a/same", "/a/other", unix.RENAME_EXCHANGE, ok},
		{"/a/fifo", "/a/fifo2", 0, ok},
		{"/a/same", "/a/fifo2", 0, ok}, // alone: the FIFO goes at once
	} {
		before := e.list(a)
		assert.Equal(t, NeedsExclusive, e.renameShared(m, c.from, c.to, c.flags), "%s -> %s", c.from, c.to)
		assert.Equal(t, before, e.list(a), "a declined rename changes nothing")
		assert.Equal(t, c.alone, e.rename(c.from, c.to, c.flags), "%s -> %s alone", c.from, c.to)
	}

	e.fs.Reclaim(e.m)
	assert.False(t, e.fs.HasOrphans())
	assert.Nil(t, e.fs.node(old), "reclaimed")
	assert.Equal(t, used-2, e.fs.InodesUsed, "the replaced file and FIFO")
	e.fs.Drop(e.m, held)
	assert.Nil(t, e.fs.node(held), "freed at its last close")
	e.m.Taken += m.Taken
	fsck(t, e.fs, e.m)
}

// TestRenameBeside: workers rename their files back and forth between
// two directories, in both directions at once (each rename takes both
// directories' data locks, in one order), and over one common name,
// beside readers that resolve and list both directories. Run with -race
// (make race). At the end every file is under exactly one name, each
// replaced file was freed once, and the file system is consistent
// (fsck).
func TestRenameBeside(t *testing.T) {
	e := newEnv(t, 2000)
	e.mkdir("/x")
	e.mkdir("/y")
	const workers, rounds = 4, 150
	var wg sync.WaitGroup
	var mems []*Mem
	for w := range workers {
		e.create(fmt.Sprintf("%s/f%d", [2]string{"/x", "/y"}[w%2], w), fmt.Sprintf("w%d", w)) // odd workers start in /y
		mems = append(mems, e.sharedMem(int64(w+1)))
		e.mkdir(fmt.Sprintf("/k%d", w))
	}
	var calls atomic.Int32
	for w := range workers {
		m := mems[w]
		wg.Go(func() {
			calls.Add(1)
			defer calls.Add(-1)
			dirs := [2]string{"/x", "/y"}
			for r := range rounds {
				from, to := fmt.Sprintf("%s/f%d", dirs[(r+w)%2], w), fmt.Sprintf("%s/f%d", dirs[(r+w+1)%2], w)
				if !assert.Equal(t, ok, e.renameShared(m, from, to, 0), "%s -> %s", from, to) {
					return
				}
				if r%10 == 0 && !e.replaceCommon(m, w) {
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for k := range 2 {
		m := e.sharedMem(100)
		readers.Go(func() {
			for range 200 {
				for _, d := range []string{"/x", "/y"} {
					dir := e.ino(d)
					e.fs.RLockData(dir)
					for pos := int64(2); ; {
						de, more := e.fs.ReadDir(m, dir, pos)
						if !more {
							break
						}
						assert.NotNil(t, e.fs.node(de.Ino), "a listed entry names a live inode")
						pos = de.Next
					}
					e.fs.RUnlockData(dir)
				}
				if f, err := e.fs.Resolve(m, RootIno, newPath(fmt.Sprintf("/x/f%d", k)), true); assert.Equal(t, ok, err) && f.Ino != 0 {
					assert.Equal(t, fmt.Sprintf("w%d", k), e.readAll(f.Ino))
					st, serr := e.fs.Stat(f.Ino) // its change time, under its data lock, beside the renames' stamps
					assert.Equal(t, ok, serr)
					assert.Equal(t, int64(2), st.Size)
				}
				if f, err := e.fs.Resolve(m, RootIno, newPath("/x/common"), true); assert.Equal(t, ok, err) && f.Ino != 0 {
					st, serr := e.fs.Stat(f.Ino) // its link count, beside the replaces and the unlinks of its other name
					assert.Equal(t, ok, serr)
					assert.LessOrEqual(t, st.Nlink, uint32(2))
				}
			}
		})
	}
	wg.Wait()
	readers.Wait()
	require.Zero(t, calls.Load())

	e.fs.Reclaim(e.m) // the next exclusive hold
	assert.False(t, e.fs.HasOrphans())
	for w := range workers {
		x, y := e.where(fmt.Sprintf("/x/f%d", w)), e.where(fmt.Sprintf("/y/f%d", w))
		assert.True(t, (x.Ino == 0) != (y.Ino == 0), "worker %d's file under exactly one name", w)
	}
	common := e.readAll(e.ino("/x/common"))
	assert.Len(t, common, 1)
	assert.Contains(t, "ABCD", common, "one worker's whole file")
	assert.Equal(t, uint32(1), e.nlink("/x/common"), "its other name went")
	assert.Equal(t, int64(1+2+2*workers+1), e.fs.InodesUsed, "the root, the directories, the workers' files and the common one")
	for _, m := range mems {
		e.m.Taken += m.Taken
	}
	fsck(t, e.fs, e.m)
}

// replaceCommon is TestRenameBeside's worker w's replace of the common
// name: it makes /y/tmp<w> with its tag and a second name /k<w>/keep
// (a directory of its own), renames tmp over /x/common and unlinks keep, so that the link count
// of a file another worker is replacing drops beside that replace, each
// under the file's data lock (the last of the two leaves it an orphan).
// False on a failure.
func (e *env) replaceCommon(m *Mem, w int) bool {
	t := e.t
	tmp, keep := fmt.Sprintf("/y/tmp%d", w), e.where(fmt.Sprintf("/k%d/keep", w))
	f := e.where(tmp)
	ino, err := e.fs.Create(m, f.Dir, f.Name, unix.S_IFREG|0o644, 0)
	if !assert.Equal(t, ok, err) {
		return false
	}
	e.fs.LockData(ino)
	_, werr := e.fs.Write(m, ino, 0, []byte{byte('A' + w)})
	e.fs.UnlockData(ino)
	return assert.Equal(t, ok, werr) && assert.Equal(t, ok, e.fs.Link(m, ino, keep.Dir, keep.Name)) &&
		assert.Equal(t, ok, e.renameShared(m, tmp, "/x/common", 0)) &&
		assert.Equal(t, ok, e.fs.Unlink(m, keep.Dir, keep.Name))
}
