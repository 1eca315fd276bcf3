package fs

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// rmdirShared is Rmdir beside others (Mem.Shared) with m, by path.
func (e *env) rmdirShared(m *Mem, path string) Errno {
	f := e.where(path)
	return e.fs.Rmdir(m, f.Dir, f.Name)
}

// TestRmdirShared: an rmdir beside others (Mem.Shared) removes an empty
// directory, stamping its own instant on it and its parent, whose link
// count drops; the directory waits on the orphan list, linked through
// its entry count, with its ".." still its parent for a call that found
// it before, and a create or a rename into it answers ENOENT; one held
// open does not go on the list; Linux's errors come for a directory
// that is not empty, a file, a missing name, "." and ".."; a list that
// mixes files and directories is taken off, put back and freed whole.
func TestRmdirShared(t *testing.T) {
	e := newEnv(t, 64)
	p := e.mkdir("/p")
	d := e.mkdir("/p/d")
	held := e.mkdir("/p/held")
	e.fs.Hold(held)
	e.mkdir("/p/full")
	e.create("/p/full/f", "x")
	f := e.create("/p/f", "y")
	e.create("/p/g", "z")
	used := e.fs.InodesUsed
	m := e.sharedMem(70e9)

	require.Equal(t, ok, e.fs.Unlink(m, p, []byte("f")), "a file first: the list mixes both kinds")
	require.Equal(t, ok, e.rmdirShared(m, "/p/d"))
	assert.Zero(t, e.where("/p/d").Ino, "the name is gone")
	assert.Equal(t, []Ino{d, f}, e.orphanList())
	assert.Equal(t, uint32(2+2), e.stat(p).Nlink, "held and full")
	st := e.stat(d)
	assert.Zero(t, st.Nlink)
	assert.Equal(t, int64(70e9), st.Ctime, "the rmdir's own instant")
	assert.Equal(t, int64(70e9), e.stat(p).Mtime)
	assert.Equal(t, p, e.fs.child(m, d, []byte("..")), "its parent, for a call that found it before")
	_, err := e.fs.Create(m, d, []byte("late"), unix.S_IFREG|0o644, 0)
	assert.Equal(t, ENOENT, err, "a create in a removed directory")
	_, err = e.fs.Create(m, d, []byte("late"), unix.S_IFDIR|0o755, 0)
	assert.Equal(t, ENOENT, err, "a mkdir in it")
	assert.Equal(t, ENOENT, e.fs.Rename(m, p, []byte("g"), d, []byte("moved"), 0), "a rename of a file into it")
	assert.NotZero(t, e.where("/p/g").Ino, "stays where it was")
	assert.Equal(t, ENOENT, e.fs.Rmdir(m, d, []byte("x")))
	assert.Empty(t, e.list(d), "a removed directory reads empty, as on Linux")

	require.Equal(t, ok, e.rmdirShared(m, "/p/held"))
	assert.Equal(t, []Ino{d, f}, e.orphanList(), "a directory held open goes at its last close")
	for _, c := range []struct {
		path string
		want Errno
	}{
		{"/p/full", ENOTEMPTY},
		{"/p/full/f", ENOTDIR},
		{"/p/missing", ENOENT},
	} {
		assert.Equal(t, c.want, e.rmdirShared(m, c.path), c.path)
	}
	assert.Equal(t, EINVAL, e.fs.Rmdir(m, p, []byte(".")))
	assert.Equal(t, ENOTEMPTY, e.fs.Rmdir(m, p, []byte("..")))
	assert.Equal(t, []string{".", "..", "full", "g"}, e.list(p))

	first := e.fs.TakeOrphans() // a reclaim beside another hold puts the list back whole
	e.fs.PutBackOrphans(first)
	assert.Equal(t, []Ino{d, f}, e.orphanList())
	e.fs.Reclaim(e.m)
	assert.False(t, e.fs.HasOrphans())
	assert.Nil(t, e.fs.node(d), "reclaimed")
	assert.Nil(t, e.fs.node(f), "reclaimed")
	assert.Equal(t, used-2, e.fs.InodesUsed)
	e.fs.Drop(e.m, held)
	assert.Nil(t, e.fs.node(held), "freed at its last close")
	e.m.Taken += m.Taken
	fsck(t, e.fs, e.m)
}

// TestRemovedDirHeldBeside: an open beside the rmdir that found the
// directory by its name just before it went holds it (FS.Hold after the
// push): Reclaim takes it off the list and leaves it to its last close,
// with no entry, its "..", and ENOENT for a create in it; the close
// frees it.
func TestRemovedDirHeldBeside(t *testing.T) {
	e := newEnv(t, 32)
	d := e.mkdir("/d")
	m := e.sharedMem(1)
	require.Equal(t, ok, e.rmdirShared(m, "/d"))
	e.fs.Hold(d)
	e.fs.Reclaim(e.m)
	assert.Empty(t, e.orphanList())
	require.NotNil(t, e.fs.node(d))
	assert.Zero(t, e.fs.inodes[d].entries, "off the list: no entry, no link")
	assert.Equal(t, RootIno, e.fs.child(m, d, []byte("..")))
	_, err := e.fs.Create(m, d, []byte("x"), unix.S_IFREG|0o644, 0)
	assert.Equal(t, ENOENT, err)
	e.fs.Drop(e.m, d)
	assert.Nil(t, e.fs.node(d), "freed at its last close")
	e.m.Taken += m.Taken
	e.empty()
}

// TestCreateWaitsOnRmdir: a create that found its directory alive and
// then waits for the directory's data lock looks again under the lock:
// where the directory was removed meanwhile, it answers ENOENT, making
// nothing in a directory no name leads to. The test holds the lock
// shared, so that the create's claim shows (the writer bit, set while
// it waits for the shared holder to leave: it is past its first look),
// and then makes Rmdir's change (the test is the only other party) and
// lets it go.
func TestCreateWaitsOnRmdir(t *testing.T) {
	e := newEnv(t, 64)
	p, d := e.mkdir("/p"), e.mkdir("/p/d")
	m := e.sharedMem(1)
	dp := &e.fs.inodes[d]
	e.fs.RLockData(d)
	done := make(chan Errno)
	go func() {
		_, err := e.fs.Create(e.sharedMem(2), d, []byte("late"), unix.S_IFREG|0o644, 0)
		done <- err
	}()
	waitClaim(dp)
	e.removeUnder(m, p, d, "d")
	e.fs.RUnlockData(d)
	assert.Equal(t, ENOENT, <-done)
	assert.Zero(t, e.stat(d).Size, "nothing was added")
	e.fs.release(m, d)
	e.fs.Reclaim(e.m)
	e.m.Taken += m.Taken
	fsck(t, e.fs, e.m)
}

// waitClaim spins until a call beside the test has claimed ip's data
// lock (the writer bit, set while it waits for the test's shared hold to
// leave): the call is past every look it makes without the lock.
func waitClaim(ip *inode) {
	for atomic.LoadUint32(&ip.dataHeld)&dataWriter == 0 {
		runtime.Gosched()
	}
}

// removeUnder makes Rmdir's change of the empty directory d, name in p,
// while the test holds d's data lock shared and a call beside waits for
// it: the entry goes under p's lock, and d's link count becomes 0 (the
// test is the only other party).
func (e *env) removeUnder(m *Mem, p, d Ino, name string) {
	pp, dp := &e.fs.inodes[p], &e.fs.inodes[d]
	e.fs.LockData(p)
	e.fs.removeEntry(m, pp, []byte(name))
	atomic.StoreUint32(&dp.nlink, 0)
	atomic.AddUint32(&pp.nlink, ^uint32(0))
	e.fs.UnlockData(p)
}

// TestRmdirBeside: workers make, fill, empty and remove a few common
// directories side by side (mkdir, a create in one, its unlink, rmdir,
// a rename of a file of their own into one and out again), as the
// kernel's files lock held shared lets them, beside readers that
// resolve into them and look up their "..", and a reclaimer that frees
// the orphans whenever no call is under way. A file a worker made in a
// directory keeps it from going until the worker unlinks it (ENOTEMPTY
// for every rmdir meanwhile), so the worker's unlink never fails; every
// ".." a reader looks up from a directory it found is the common one
// (the directory may be gone by then: its parent stays). Run with -race
// (make race). At the end, with the directories removed, the file
// system is consistent (fsck).
func TestRmdirBeside(t *testing.T) {
	e := newEnv(t, 4000)
	common := e.mkdir("/common")
	own := e.mkdir("/own")
	const workers, rounds, dirs = 4, 150, 3
	var wg sync.WaitGroup
	b := e.newBeside()
	for w := range workers {
		e.create(fmt.Sprintf("/own/f%d", w), "w")
		m := b.mem(int64(w + 1))
		wg.Go(func() {
			for r := range rounds {
				if !b.call(func() bool { return e.rmdirRound(m, w, common, own, fmt.Sprintf("d%d", (r+w)%dirs)) }) {
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	for k := range 2 {
		m := b.mem(100)
		readers.Go(func() {
			for i := range 300 {
				b.call(func() bool {
					f, err := e.fs.Resolve(m, RootIno, newPath(fmt.Sprintf("/common/d%d", (i+k)%dirs)), true)
					if assert.Equal(t, ok, err) && f.Ino != 0 {
						assert.Equal(t, common, e.fs.child(m, f.Ino, []byte("..")), "the parent of a directory found")
						_, err = e.fs.Resolve(m, RootIno, newPath(fmt.Sprintf("/common/d%d/f0", (i+k)%dirs)), true)
						assert.Contains(t, []Errno{ok, ENOENT}, err)
					}
					return true
				})
			}
		})
	}
	wg.Wait()
	readers.Wait()
	b.end()
	assert.False(t, e.fs.HasOrphans())
	for k := range dirs {
		assert.Contains(t, []Errno{ok, ENOENT}, e.rmdir(fmt.Sprintf("/common/d%d", k)), "empty or gone")
	}
	assert.Equal(t, []string{".", ".."}, e.list(common))
	assert.Equal(t, uint32(2), e.stat(common).Nlink, "each mkdir and rmdir counted once")
	assert.Equal(t, int64(1+2+workers), e.fs.InodesUsed, "the root, the two directories and the workers' files")
	fsck(t, e.fs, e.m)
}

// rmdirRound is TestRmdirBeside's worker w's round on the name of
// directory common: it makes the directory (or finds it made), creates
// its file there, moves its own file from directory own in and back,
// unlinks its file, and removes the directory unless another worker's
// file is in it. False on a failure (it asserts, never requires: it
// runs on a goroutine of its own).
func (e *env) rmdirRound(m *Mem, w int, common, own Ino, name string) bool {
	t := e.t
	if _, err := e.fs.Create(m, common, []byte(name), unix.S_IFDIR|0o755, 0); err != ok && err != EEXIST {
		return assert.Fail(t, "mkdir", "%s: %d", name, err)
	}
	runtime.Gosched() // let another worker's rmdir in between
	mine := fmt.Sprintf("/common/%s/f%d", name, w)
	_, created, err := e.fs.Open(m, RootIno, newPath(mine), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o644)
	if err == ENOENT {
		return true // removed by another worker between the mkdir and the create
	}
	if !assert.Equal(t, ok, err, "create %s", mine) || !assert.True(t, created) {
		return false
	}
	in := e.fs.child(m, common, []byte(name))
	if !assert.NotZero(t, in, "%s stays while %s is in it", name, mine) {
		return false
	}
	ownName, moved := []byte(fmt.Sprintf("f%d", w)), []byte(fmt.Sprintf("g%d", w))
	if !assert.Equal(t, ok, e.fs.Rename(m, own, ownName, in, moved, 0)) ||
		!assert.Equal(t, ok, e.fs.Rename(m, in, moved, own, ownName, 0)) {
		return false
	}
	if !assert.Equal(t, ok, e.fs.Unlink(m, in, []byte(fmt.Sprintf("f%d", w))), "unlink %s", mine) {
		return false
	}
	err = e.fs.Rmdir(m, common, []byte(name))
	return assert.Contains(t, []Errno{ok, ENOTEMPTY, ENOENT}, err, "rmdir %s", name)
}
