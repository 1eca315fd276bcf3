package fs

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestDropShared: the end of an unlinked file's last open beside others
// (Mem.Shared: kernel/vfs's Reclaim ending a description closed under
// the files lock held shared) puts the file on the orphan list rather
// than freeing it, since a call beside may have found it by a name just
// before the unlink; an unlink beside that found it without link or open
// too (its release) leaves it there once: without pushOrphan's claim the
// list would lead from the file back to itself. Reclaim frees it.
func TestDropShared(t *testing.T) {
	e := newEnv(t, 32)
	f := e.create("/f", "x")
	e.fs.Hold(f)
	m := e.sharedMem(1)
	require.Equal(t, ok, e.fs.Unlink(m, RootIno, []byte("f")))
	assert.Empty(t, e.orphanList(), "still open")
	e.fs.Drop(m, f)
	assert.Equal(t, []Ino{f}, e.orphanList(), "its last open ended beside others")
	assert.Equal(t, "x", e.readAll(f), "a call beside that found it still reads it")
	e.fs.release(m, f) // the unlink beside, which found it unlinked and closed as well
	assert.Equal(t, []Ino{f}, e.orphanList(), "on the list once")
	e.fs.Reclaim(e.m)
	assert.Nil(t, e.fs.node(f), "freed")
	assert.Empty(t, e.orphanList())
	e.m.Taken += m.Taken
	e.empty()
}

// TestDropDirBeside: a directory emptied while open drops its dead
// records at its last open's end (Drop), beside creates and unlinks in
// it on other CPUs and beside opens of it: Drop looks at the entries and
// truncates under the directory's data lock. Run with -race: without
// the lock the detector reports the truncation beside the creates. At
// the end the directory is empty, its dead records gone with its last
// open, and fsck finds the tree whole.
func TestDropDirBeside(t *testing.T) {
	e := newEnv(t, 400)
	d := e.mkdir("/d")
	const workers, rounds = 3, 1000
	var wg sync.WaitGroup
	b := e.newBeside()
	for w := range workers {
		m := b.mem(int64(w + 1))
		name := []byte(fmt.Sprintf("f%d", w))
		wg.Go(func() {
			for range rounds {
				if !b.call(func() bool { return e.dropDirRound(m, d, name) }) {
					return
				}
			}
		})
	}
	wg.Wait()
	b.end()
	assert.Equal(t, []string{".", ".."}, e.list(d))
	assert.Zero(t, e.stat(d).Size, "the dead records went with the last open")
	fsck(t, e.fs, e.m)
}

// dropDirRound is TestDropDirBeside's worker's round: it opens directory
// d, creates and unlinks its own name there, and ends its open. False on
// a failure (it asserts, never requires: it runs on a goroutine of its
// own).
func (e *env) dropDirRound(m *Mem, d Ino, name []byte) bool {
	e.fs.Hold(d)
	_, err := e.fs.Create(m, d, name, unix.S_IFREG|0o644, 0)
	if !assert.Equal(e.t, ok, err, "create %s", name) {
		return false
	}
	if !assert.Equal(e.t, ok, e.fs.Unlink(m, d, name), "unlink %s", name) {
		return false
	}
	e.fs.Drop(m, d)
	return true
}
