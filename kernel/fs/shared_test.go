package fs

import (
	"fmt"
	"reflect"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// sharedMem is a call's page source beside others (Mem.Shared), as
// kernel/fsys's creates and unlinks under the files lock held shared.
func (e *env) sharedMem(now int64) *Mem {
	return &Mem{Frames: e.m.Frames, Budget: 1 << 20, Now: now} // Now set: Shared
}

// orphanList returns the files on the orphan list, in its order.
func (e *env) orphanList() []Ino {
	var list []Ino
	for ino := Ino(e.fs.orphans); ino != 0 && len(list) <= MaxInodes; ino = Ino(^e.fs.inodes[ino].entries) {
		list = append(list, ino)
	}
	return list
}

// beside runs a test's calls side by side, as the kernel's files lock
// held shared lets them: each with a page source of its own over one
// frame allocator (mem), counted while under way (call), beside a
// reclaimer that frees the orphans whenever no call is, as a shared
// hold that ends alone does (kernel/vfs's Reclaim(true): over and over
// it takes the orphan list off, then counts the calls under way, and
// frees what it took if none is, else puts it back).
type beside struct {
	e     *env
	calls atomic.Int32 // the calls under way: the shared holders but the reclaimer
	mu    sync.Mutex
	mems  []*Mem
	stop  chan struct{}
	done  sync.WaitGroup
}

// newBeside starts a run's reclaimer.
func (e *env) newBeside() *beside {
	b := &beside{e: e, stop: make(chan struct{})}
	m := b.mem(200)
	b.done.Go(func() {
		for {
			select {
			case <-b.stop:
				return
			default:
			}
			first := e.fs.TakeOrphans()
			if b.calls.Load() == 0 {
				e.fs.FreeOrphans(m, first)
			} else {
				e.fs.PutBackOrphans(first)
				runtime.Gosched() // let the calls run: on two cores a spinning reclaimer slowed them tenfold under the race detector
			}
		}
	})
	return b
}

// mem returns a new page source beside others stamping now.
func (b *beside) mem(now int64) *Mem {
	m := b.e.sharedMem(now)
	b.mu.Lock()
	b.mems = append(b.mems, m)
	b.mu.Unlock()
	return m
}

// call runs body as a call under way and returns what it returns.
func (b *beside) call(body func() bool) bool {
	b.calls.Add(1)
	defer b.calls.Add(-1)
	return body()
}

// end stops the reclaimer, once the callers have stopped, reclaims as
// the next exclusive hold does, and counts every page source's pages in
// the test's (fsck sums them).
func (b *beside) end() {
	close(b.stop)
	b.done.Wait()
	b.e.fs.Reclaim(b.e.m)
	for _, m := range b.mems {
		b.e.m.Taken += m.Taken
	}
}

// TestWipe: wipe leaves a free slot exactly as a whole-struct store of
// the zero inode would (a field added to inode and not to wipe fails
// here), with the mode cleared, but for the data lock, which a claim
// beside may hold (newInode).
func TestWipe(t *testing.T) {
	var ip inode
	v := reflect.ValueOf(&ip).Elem()
	for i := range v.NumField() {
		f := v.Field(i)
		f = reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem() // unexported fields
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Int:
			f.SetInt(int64(i + 1))
		default:
			f.SetUint(uint64(i + 1))
		}
	}
	require.NotEqual(t, inode{}, ip)
	held := ip.dataHeld
	wipe(&ip)
	assert.Equal(t, inode{dataHeld: held}, ip)
}

// TestUnlinkShared: an unlink beside others (Mem.Shared) of a file's
// last link, with no open handle, leaves the file on the orphan list,
// still readable by a call that found it before (its link count 0),
// until Reclaim frees it and gives its pages back; one with an open
// handle, or of one of two links, puts nothing there; one of a FIFO
// answers NeedsExclusive and changes nothing; times are the call's own.
func TestUnlinkShared(t *testing.T) {
	e := newEnv(t, 64)
	d := e.mkdir("/d")
	a := e.create("/d/a", "alpha")
	held := e.create("/d/held", "beta")
	e.fs.Hold(held)
	_, err := e.fs.Create(e.m, d, []byte("fifo"), unix.S_IFIFO|0o644, 0)
	require.Equal(t, ok, err)
	used, pages := e.fs.InodesUsed, e.fs.PagesHeld

	m := e.sharedMem(77e9)
	require.Equal(t, ok, e.fs.Unlink(m, d, []byte("a")))
	assert.Equal(t, []Ino{a}, e.orphanList())
	st := e.stat(a)
	assert.Zero(t, st.Nlink)
	assert.Equal(t, int64(77e9), st.Ctime, "the unlink's own instant")
	assert.Equal(t, int64(77e9), e.stat(d).Mtime)
	assert.Equal(t, "alpha", e.readAll(a), "a call that found it before still reads it")
	assert.Equal(t, used, e.fs.InodesUsed, "not freed yet")
	f, err2 := e.resolve(RootIno, "/d/a", false)
	require.Equal(t, ok, err2)
	assert.Zero(t, f.Ino, "the name is gone")

	require.Equal(t, ok, e.fs.Unlink(e.sharedMem(66e9), d, []byte("held")))
	assert.Equal(t, int64(77e9), e.stat(d).Mtime, "an unlink whose instant was read earlier does not stamp the directory back")
	assert.Equal(t, []Ino{a}, e.orphanList(), "an open file goes at its last close")
	assert.Equal(t, NeedsExclusive, e.fs.Unlink(m, d, []byte("fifo")))
	assert.NotZero(t, e.where("/d/fifo").Ino, "a declined unlink changes nothing")

	e.fs.Reclaim(e.m)
	assert.False(t, e.fs.HasOrphans())
	assert.Nil(t, e.fs.node(a), "reclaimed")
	assert.Equal(t, used-1, e.fs.InodesUsed)
	assert.Equal(t, pages-1, e.fs.PagesHeld, "its page went back")
	assert.NotNil(t, e.fs.node(held), "still open")
	e.fs.Drop(e.m, held)
	assert.Nil(t, e.fs.node(held), "freed at its last close")
	e.m.Taken += m.Taken // the unlinks' Mem gave nothing back; fsck sums every source
	fsck(t, e.fs, e.m)
}

// TestOrphanHeldBeside: an open beside the unlink that found the file by
// its name just before it went holds it (FS.Hold after the push):
// Reclaim leaves it to its last close, and takes it off the list.
func TestOrphanHeldBeside(t *testing.T) {
	e := newEnv(t, 32)
	f := e.create("/f", "x")
	m := e.sharedMem(1)
	require.Equal(t, ok, e.fs.Unlink(m, RootIno, []byte("f")))
	e.fs.Hold(f)
	e.fs.Reclaim(e.m)
	assert.Empty(t, e.orphanList())
	require.NotNil(t, e.fs.node(f))
	assert.Equal(t, "x", e.readAll(f))
	e.fs.Drop(e.m, f)
	assert.Nil(t, e.fs.node(f))
	e.m.Taken += m.Taken // the unlink gave the emptied root's page back
	e.empty()
}

// TestLinksUnlinkedShared: a file with two links, unlinked beside
// others one link at a time, lands on the orphan list once: with the
// last link.
func TestLinksUnlinkedShared(t *testing.T) {
	e := newEnv(t, 32)
	e.mkdir("/a")
	e.mkdir("/b")
	f := e.create("/a/f", "x")
	require.Equal(t, ok, e.fs.Link(e.m, f, e.ino("/b"), []byte("g")))
	m := e.sharedMem(1)
	require.Equal(t, ok, e.fs.Unlink(m, e.ino("/a"), []byte("f")))
	assert.Empty(t, e.orphanList())
	require.Equal(t, ok, e.fs.Unlink(m, e.ino("/b"), []byte("g")))
	assert.Equal(t, []Ino{f}, e.orphanList())
	e.fs.Reclaim(e.m)
	assert.Nil(t, e.fs.node(f))
}

// TestOpenShared: an open beside others creates a missing file, stamping
// its own instant, opens an existing one, answers O_EXCL's EEXIST, and
// truncates with O_TRUNC, stamping its instant (a kernel file's
// truncation it declines: TestTruncateShared).
func TestOpenShared(t *testing.T) {
	e := newEnv(t, 32)
	old := e.create("/old", "keep")
	m := e.sharedMem(42e9)
	ino, created, err := e.fs.Open(m, RootIno, newPath("/new"), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0o640)
	require.Equal(t, ok, err)
	assert.True(t, created)
	st := e.stat(ino)
	assert.Equal(t, uint32(unix.S_IFREG|0o640), st.Mode)
	assert.Equal(t, int64(42e9), st.Btime)
	assert.Equal(t, int64(42e9), e.stat(RootIno).Mtime)

	got, created, err := e.fs.Open(m, RootIno, newPath("/old"), unix.O_CREAT|unix.O_RDWR, 0o600)
	require.Equal(t, ok, err)
	assert.False(t, created)
	assert.Equal(t, old, got)
	_, _, err = e.fs.Open(m, RootIno, newPath("/old"), unix.O_CREAT|unix.O_EXCL|unix.O_RDWR, 0o600)
	assert.Equal(t, EEXIST, err)
	m.Now = 43e9
	_, _, err = e.fs.Open(m, RootIno, newPath("/old"), unix.O_WRONLY|unix.O_TRUNC, 0)
	assert.Equal(t, ok, err, "a truncation beside others: under the file's data lock (Truncate)")
	assert.Zero(t, e.stat(old).Size)
	assert.Equal(t, int64(43e9), e.stat(old).Mtime)
	m.Now = 44e9
	_, _, err = e.fs.Open(m, RootIno, newPath("/new"), unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, 0)
	assert.Equal(t, ok, err)
	assert.Equal(t, int64(44e9), e.stat(ino).Mtime, "O_TRUNC of an empty file too stamps the times")
	_, _, err = e.fs.Open(m, RootIno, newPath("/"), unix.O_WRONLY|unix.O_TRUNC, 0)
	assert.Equal(t, EISDIR, err, "a directory's answer needs no truncation")
}

// TestCreateSharedNoInode: a create beside others that finds no free
// inode declines (orphans may hold them), and the one alone answers
// ENOSPC once Reclaim has found none to free.
func TestCreateSharedNoInode(t *testing.T) {
	e := newEnv(t, 64)
	for i := range MaxInodes - 2 {
		_, err := e.fs.newInode(e.m, unix.S_IFREG|0o644)
		require.Equal(t, ok, err, "inode %d", i)
	}
	_, _, err := e.fs.Open(e.sharedMem(1), RootIno, newPath("/x"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	assert.Equal(t, NeedsExclusive, err)
	_, _, err = e.fs.Open(e.m, RootIno, newPath("/x"), unix.O_CREAT|unix.O_WRONLY, 0o644)
	assert.Equal(t, ENOSPC, err)
	assert.Empty(t, e.list(RootIno)[2:], "nothing was made")
}

// TestNamespaceBeside runs creates, mkdirs, unlinks, lookups, listings
// and opens of one directory and of directories of their own side by
// side, as the kernel's files lock held shared lets them (each with its
// own Mem over one frame allocator, as kernel/fsys's calls): workers
// each own the names of one directory, make a directory of their own in
// a common one every 4th round, and contend for eight names of the
// common one with O_EXCL (a create that wins owns the name until its
// unlink); readers resolve, list and open the common names meanwhile;
// and a reclaimer frees the orphans whenever no call is under way, as a
// shared hold that ends alone does (kernel/vfs's Reclaim(true):
// it takes the list off, then counts the calls, and puts the list back
// if any runs), beside the calls that start after. A winner always reads
// back its own file under the name; a listing shows only the eight names
// and the workers' directories, each naming a live inode; the common
// directory's link count counts every mkdir; and once all have stopped,
// Reclaim, the last closes and the rmdirs leave a consistent file system
// (fsck) with only the directories. Run with -race (make race), the
// directories' data locks, the inodes' claims, the link counts' atomic
// adds and the orphan list are what keep it clean.
func TestNamespaceBeside(t *testing.T) {
	e := newEnv(t, 4000)
	common := e.mkdir("/common")
	const workers, rounds, names, looks = 4, 100, 8, 200
	var wg sync.WaitGroup
	b := e.newBeside()
	for w := range workers {
		own := e.mkdir(fmt.Sprintf("/w%d", w))
		wg.Go(func() {
			m := b.mem(int64(w + 1))
			tag := []byte{byte('A' + w)}
			for r := range rounds {
				if !b.call(func() bool { return e.ownRound(m, w, r, own, tag) }) {
					return
				}
				if !b.call(func() bool { return e.commonRound(m, r%names, common, tag) }) {
					return
				}
			}
		})
	}
	var readers sync.WaitGroup
	var heldMu sync.Mutex
	var held []Ino
	for range 2 {
		readers.Go(func() {
			m := b.mem(100)
			for k := range looks {
				b.call(func() bool {
					if ino, ok := e.lookCommon(m, k%names, common); ok {
						heldMu.Lock()
						held = append(held, ino)
						heldMu.Unlock()
					}
					return true
				})
			}
		})
	}
	wg.Wait()
	readers.Wait()
	b.end()
	for _, ino := range held {
		e.fs.Drop(e.m, ino) // the closes
	}
	assert.False(t, e.fs.HasOrphans())
	assert.Equal(t, uint32(2+workers*rounds/4), e.stat(common).Nlink, "each mkdir counted once")
	for w := range workers {
		for r := 0; r < rounds; r += 4 {
			require.Equal(t, ok, e.rmdir(fmt.Sprintf("/common/d%d-%d", w, r)))
		}
	}
	assert.Equal(t, []string{".", ".."}, e.list(common))
	for w := range workers {
		assert.Equal(t, []string{".", ".."}, e.list(e.ino(fmt.Sprintf("/w%d", w))))
	}
	assert.Equal(t, int64(1+1+workers), e.fs.InodesUsed, "the root and the directories")
	fsck(t, e.fs, e.m)
}

// ownRound is a worker's round in its own directory: it creates f(r%4)
// with O_EXCL, writes its tag and unlinks it; false on a failure.
func (e *env) ownRound(m *Mem, w, r int, own Ino, tag []byte) bool {
	t := e.t
	mine := fmt.Sprintf("/w%d/f%d", w, r%4)
	ino, created, err := e.fs.Open(m, RootIno, newPath(mine), unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY, 0o644)
	if !assert.Equal(t, ok, err, "create %s", mine) || !assert.True(t, created) {
		return false
	}
	e.fs.LockData(ino)
	_, werr := e.fs.Write(m, ino, 0, tag)
	e.fs.UnlockData(ino)
	if !assert.Equal(t, ok, werr) || !assert.Equal(t, ok, e.fs.Unlink(m, own, []byte(fmt.Sprintf("f%d", r%4)))) {
		return false
	}
	// Every 4th round a directory of its own in the common one (mkdir
	// beside others: the common directory's link count goes up beside
	// the others').
	if r%4 != 0 {
		return true
	}
	f, rerr := e.fs.ResolveEntry(m, RootIno, newPath(fmt.Sprintf("/common/d%d-%d", w, r)))
	_, err = e.fs.Create(m, f.Dir, f.Name, unix.S_IFDIR|0o755, 0)
	return assert.Equal(t, ok, rerr) && assert.Equal(t, ok, err, "mkdir")
}

// commonRound is a worker's try at the common name n(k): a create that
// wins writes its tag, finds its own file under the name, reads its tag
// back and unlinks it; one that loses answers EEXIST. False on a
// failure.
func (e *env) commonRound(m *Mem, k int, common Ino, tag []byte) bool {
	t := e.t
	name := fmt.Sprintf("n%d", k)
	ino, _, err := e.fs.Open(m, RootIno, newPath("/common/"+name), unix.O_CREAT|unix.O_EXCL|unix.O_RDWR, 0o644)
	if err == EEXIST {
		return true // another worker owns it now
	}
	if !assert.Equal(t, ok, err, "create %s", name) {
		return false
	}
	e.fs.LockData(ino)
	_, werr := e.fs.Write(m, ino, 0, tag)
	e.fs.UnlockData(ino)
	f, rerr := e.fs.Resolve(m, RootIno, newPath("/common/"+name), true)
	b := make([]byte, 1)
	_, berr := e.fs.Read(m, ino, 0, b)
	return assert.Equal(t, ok, werr) && assert.Equal(t, ok, rerr) &&
		assert.Equal(t, ino, f.Ino, "the winner finds its own file under the name") &&
		assert.Equal(t, ok, berr) && assert.Equal(t, tag, b) &&
		assert.Equal(t, ok, e.fs.Unlink(m, common, []byte(name)))
}

// lookCommon is a reader's look at the common name n(k): an open that
// finds it holds it (as a descriptor would: the caller closes it once
// all have stopped) and reads a worker's tag or nothing yet; then a
// listing of the common directory under its data lock, each entry one
// of the names and a live inode.
func (e *env) lookCommon(m *Mem, k int, common Ino) (Ino, bool) {
	t := e.t
	ino, _, err := e.fs.Open(m, RootIno, newPath(fmt.Sprintf("/common/n%d", k)), unix.O_RDONLY, 0)
	found := err == ok
	if found {
		e.fs.Hold(ino)
		b := make([]byte, 1)
		n, rerr := e.fs.Read(m, ino, 0, b)
		assert.Equal(t, ok, rerr)
		if n == 1 {
			assert.Contains(t, "ABCD", string(b), "a worker's tag")
		}
	} else {
		assert.Equal(t, ENOENT, err)
	}
	e.fs.RLockData(common)
	for pos := int64(2); ; {
		de, more := e.fs.ReadDir(m, common, pos)
		if !more {
			break
		}
		if de.Name[0] != 'd' && (len(de.Name) != 2 || de.Name[0] != 'n' || de.Name[1] < '0' || de.Name[1] > '7') {
			t.Errorf("listed %q: not one of the common names nor a worker's directory", de.Name)
		}
		assert.NotNil(t, e.fs.node(de.Ino), "a listed entry names a live inode")
		pos = de.Next
	}
	e.fs.RUnlockData(common)
	return ino, found
}
