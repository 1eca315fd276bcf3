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

// TestLinkShared: a link beside others (Mem.Shared) adds a name for a
// file, stamping its own instant on the file and the directory; it
// answers Linux's errors for a name that exists, a directory, a file
// whose last link went (an orphan, which gains none) and a directory
// removed beside it, and EMLINK at the link limit; the file then goes on
// the orphan list once, with its last link.
func TestLinkShared(t *testing.T) {
	e := newEnv(t, 64)
	a, b := e.mkdir("/a"), e.mkdir("/b")
	f := e.create("/a/f", "x")
	gone := e.create("/a/gone", "y")
	dead := e.mkdir("/dead")
	m := e.sharedMem(30e9)

	require.Equal(t, ok, e.fs.Link(m, f, b, []byte("g")))
	assert.Equal(t, f, e.ino("/b/g"))
	st := e.stat(f)
	assert.Equal(t, uint32(2), st.Nlink)
	assert.Equal(t, int64(30e9), st.Ctime, "the link's own instant")
	assert.Equal(t, int64(30e9), e.stat(b).Mtime)

	require.Equal(t, ok, e.fs.Unlink(m, a, []byte("gone")))
	require.Equal(t, ok, e.rmdirShared(m, "/dead"))
	for _, c := range []struct {
		ino  Ino
		dir  Ino
		name string
		want Errno
	}{
		{f, b, "g", EEXIST},
		{a, b, "dir", EPERM},
		{gone, b, "back", ENOENT},
		{f, dead, "in", ENOENT},
		{f, b, ".", EEXIST},
		{f, f, "x", ENOTDIR},
	} {
		assert.Equal(t, c.want, e.fs.Link(m, c.ino, c.dir, []byte(c.name)), "%s", c.name)
	}
	assert.Equal(t, []string{".", "..", "g"}, e.list(b), "a declined link adds nothing")
	assert.Zero(t, e.stat(gone).Nlink, "the orphan gained no link")
	e.fs.inodes[f].nlink = maxLinks
	assert.Equal(t, EMLINK, e.fs.Link(m, f, b, []byte("many")))
	e.fs.inodes[f].nlink = 2

	require.Equal(t, ok, e.fs.Unlink(m, a, []byte("f")))
	assert.Equal(t, []Ino{dead, gone}, e.orphanList(), "one link left: not an orphan")
	require.Equal(t, ok, e.fs.Unlink(m, b, []byte("g")))
	assert.Equal(t, []Ino{f, dead, gone}, e.orphanList(), "with its last link")
	e.fs.Reclaim(e.m)
	e.m.Taken += m.Taken
	fsck(t, e.fs, e.m)
}

// TestSymlinkShared: a symbolic link made beside others (Mem.Shared)
// holds its target (that no lookup beside finds it without, from the
// start, is TestLinksBeside's readers'); one whose pages do not fit makes
// nothing, its inode freed and no name added (ENOSPC, which kernel/fsys
// turns into a try alone).
func TestSymlinkShared(t *testing.T) {
	e := newEnv(t, 64)
	d := e.mkdir("/d")
	m := e.sharedMem(5e9)
	ln, err := e.fs.Symlink(m, d, []byte("l"), []byte("target"))
	require.Equal(t, ok, err)
	buf := make([]byte, 16)
	n, err := e.fs.Readlink(m, ln, buf)
	require.Equal(t, ok, err)
	assert.Equal(t, "target", string(buf[:n]))
	assert.Equal(t, int64(5e9), e.stat(ln).Btime)

	used := e.fs.InodesUsed
	poor := &Mem{Frames: e.m.Frames, Budget: 0, Now: 6e9}
	_, err = e.fs.Symlink(poor, d, []byte("l2"), []byte("target"))
	assert.Equal(t, ENOSPC, err)
	assert.Equal(t, used, e.fs.InodesUsed, "its inode was freed")
	assert.Equal(t, []string{".", "..", "l"}, e.list(d))
	e.m.Taken += m.Taken + poor.Taken
	fsck(t, e.fs, e.m)
}

// TestLinkWaits: a link that found its directory and its file alive and
// then waits for their data locks looks again under them: where the
// directory was removed meanwhile, or the file's last link went (here
// the test holds the lock shared, and, once the link's claim shows,
// makes Rmdir's or Unlink's change, being the only other party), it
// answers ENOENT and adds nothing.
func TestLinkWaits(t *testing.T) {
	e := newEnv(t, 64)
	p, d := e.mkdir("/p"), e.mkdir("/p/d")
	f := e.create("/f", "x")
	m := e.sharedMem(1)
	link := func(dir Ino) chan Errno {
		done := make(chan Errno)
		go func() { done <- e.fs.Link(e.sharedMem(2), f, dir, []byte("late")) }()
		return done
	}

	e.fs.RLockData(d)
	done := link(d)
	waitClaim(&e.fs.inodes[d])
	e.removeUnder(m, p, d, "d")
	e.fs.RUnlockData(d)
	assert.Equal(t, ENOENT, <-done, "the directory went")
	assert.Zero(t, e.stat(d).Size, "nothing was added to it")
	e.fs.release(m, d)

	fp := &e.fs.inodes[f]
	e.fs.RLockData(f)
	done = link(RootIno)
	waitClaim(fp)
	fp.nlink = 0 // an unlink beside took its last link, under its lock (its name's removal, under the directory's, which the link holds now, is left out)
	e.fs.RUnlockData(f)
	assert.Equal(t, ENOENT, <-done, "an orphan gains no link")
	assert.Zero(t, e.where("/late").Ino)
	fp.nlink = 1
	e.fs.Reclaim(e.m)
	e.m.Taken += m.Taken
	fsck(t, e.fs, e.m)
}

// TestLinksBeside: makers create a file, unlink the second name of last
// round's file (its last link), link a second name for the new one in
// another directory and unlink the first, round after round, beside
// linkers that link the makers' files by their second names under names
// of their own (ENOENT where the file's last link went first: an orphan
// gains no link) and unlink them, readers that resolve the symbolic links a symlinker makes
// and removes (never a link without its target), and a reclaimer that
// frees the orphans whenever no call is under way. Run with -race (make
// race). At the end no name names a freed inode and the link counts are
// right (fsck).
func TestLinksBeside(t *testing.T) {
	e := newEnv(t, 4000)
	x, y := e.mkdir("/x"), e.mkdir("/y")
	const makers, rounds = 2, 200
	b := e.newBeside()
	var wg sync.WaitGroup
	var lost atomic.Int32 // links that found their file's last link gone
	for w := range makers {
		m, lm := b.mem(int64(w+1)), b.mem(int64(w+10))
		first, second, mine := []byte(fmt.Sprintf("f%d", w)), []byte(fmt.Sprintf("s%d", w)), []byte(fmt.Sprintf("l%d", w))
		wg.Go(func() {
			for range rounds {
				if !b.call(func() bool { return e.makerRound(m, x, y, first, second) }) {
					return
				}
			}
		})
		wg.Go(func() {
			for range rounds {
				if !b.call(func() bool { return e.linkerRound(lm, y, second, mine, &lost) }) {
					return
				}
			}
		})
	}
	sm := b.mem(50)
	wg.Go(func() {
		for range rounds {
			if !b.call(func() bool {
				_, err := e.fs.Symlink(sm, y, []byte("sym"), []byte("/x/target"))
				return assert.Equal(t, ok, err) && assert.Equal(t, ok, e.fs.Unlink(sm, y, []byte("sym")))
			}) {
				return
			}
		}
	})
	var readers sync.WaitGroup
	rm := b.mem(60)
	readers.Go(func() {
		buf := make([]byte, 32)
		for range 4 * rounds {
			b.call(func() bool {
				if f, err := e.fs.Resolve(rm, RootIno, newPath("/y/sym"), false); assert.Equal(t, ok, err) && f.Ino != 0 {
					n, rerr := e.fs.Readlink(rm, f.Ino, buf)
					assert.Equal(t, ok, rerr)
					assert.Equal(t, "/x/target", string(buf[:n]), "a link holds its target once its name is there")
				}
				return true
			})
		}
	})
	wg.Wait()
	readers.Wait()
	b.end()
	t.Logf("links that found the file's last link gone: %d", lost.Load())
	assert.False(t, e.fs.HasOrphans())
	for w := range makers {
		for _, p := range []string{fmt.Sprintf("/y/s%d", w), fmt.Sprintf("/y/l%d", w)} {
			if f := e.where(p); f.Ino != 0 {
				require.Equal(t, ok, e.unlink(p))
			}
		}
	}
	assert.Equal(t, int64(1+2), e.fs.InodesUsed, "the root and the two directories")
	fsck(t, e.fs, e.m)
}

// makerRound is TestLinksBeside's maker's round: it creates first in x,
// links second in y for it (over last round's: unlinked first) and
// unlinks first. False on a failure (it asserts: it runs on a goroutine
// of its own).
func (e *env) makerRound(m *Mem, x, y Ino, first, second []byte) bool {
	t := e.t
	ino, err := e.fs.Create(m, x, first, unix.S_IFREG|0o644, 0)
	if !assert.Equal(t, ok, err, "create %s", first) {
		return false
	}
	runtime.Gosched() // let a linker in between
	if err := e.fs.Unlink(m, y, second); err != ok && !assert.Equal(t, ENOENT, err) {
		return false
	}
	return assert.Equal(t, ok, e.fs.Link(m, ino, y, second), "link %s", second) &&
		assert.Equal(t, ok, e.fs.Unlink(m, x, first), "unlink %s", first)
}

// linkerRound is TestLinksBeside's linker's round: it links mine in y
// for the maker's file second of y if it finds one, which the maker
// unlinks beside it (ENOENT where that took the file's last link first:
// an orphan gains none: counted in lost), checks the name and unlinks
// it. False on a failure.
func (e *env) linkerRound(m *Mem, y Ino, second, mine []byte, lost *atomic.Int32) bool {
	t := e.t
	ino := e.fs.child(m, y, second)
	if ino == 0 {
		return true
	}
	runtime.Gosched() // let the maker's unlink in between
	switch err := e.fs.Link(m, ino, y, mine); err {
	case ENOENT:
		lost.Add(1) // the maker unlinked its last link first
		return true
	case ok:
		return assert.Equal(t, ino, e.fs.child(m, y, mine)) && assert.Equal(t, ok, e.fs.Unlink(m, y, mine))
	default:
		return assert.Fail(t, "link", "%s: %d", mine, err)
	}
}
