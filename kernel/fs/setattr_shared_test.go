package fs

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestSetAttrShared: a chmod or chown beside others (Mem.Shared) changes
// the permission bits (the type bits stay) or the owner, under the
// file's data lock, stamping its own instant as the change time, but
// never one earlier than the file's (stampOf); KeepMode and -1 leave the
// mode and an owner unchanged, but for the set-id bits a chown of a file
// that is not a directory drops, as Linux's.
func TestSetAttrShared(t *testing.T) {
	e := newEnv(t, 32)
	f := e.create("/f", "x")
	m := e.sharedMem(40e9)
	require.Equal(t, ok, e.fs.SetAttr(m.Now, f, 0o4700, -1, -1))
	st := e.stat(f)
	assert.Equal(t, uint32(unix.S_IFREG|0o4700), st.Mode)
	assert.Equal(t, int64(40e9), st.Ctime, "the chmod's own instant")
	require.Equal(t, ok, e.fs.SetAttr(30e9, f, KeepMode, 1000, -1))
	st = e.stat(f)
	assert.Equal(t, uint32(unix.S_IFREG|0o700), st.Mode, "a chown drops set-user-ID")
	assert.Equal(t, uint32(1000), st.UID)
	assert.Zero(t, st.GID)
	assert.Equal(t, int64(40e9), st.Ctime, "an instant read before an earlier change does not stamp back")
	require.Equal(t, ok, e.fs.SetAttr(m.Now, f, 0o6750, -1, -1))
	require.Equal(t, ok, e.fs.SetAttr(m.Now, f, KeepMode, -1, -1))
	assert.Equal(t, uint32(unix.S_IFREG|0o750), e.fs.Mode(f), "and set-group-ID with group execute, even with no owner given")
	require.Equal(t, ok, e.fs.SetAttr(m.Now, f, 0o2740, -1, -1))
	require.Equal(t, ok, e.fs.SetAttr(m.Now, f, KeepMode, 5, 5))
	assert.Equal(t, uint32(unix.S_IFREG|0o2740), e.fs.Mode(f), "set-group-ID without group execute stays")
	d := e.mkdir("/d")
	require.Equal(t, ok, e.fs.SetAttr(m.Now, d, 0o6755, -1, -1))
	require.Equal(t, ok, e.fs.SetAttr(m.Now, d, KeepMode, 5, 5))
	assert.Equal(t, uint32(unix.S_IFDIR|0o6755), e.fs.Mode(d), "a directory keeps them")
	assert.Equal(t, ENOENT, e.fs.SetAttr(m.Now, 3000, 0o600, -1, -1))
}

// TestSetAttrBeside: chmods of a directory and of files in it run
// beside lookups through the directory, listings of it, stats and reads
// of a file, and a writer's writes, truncations, links, unlinks, renames
// and creates there, each of which must see the type bits unchanged (a chmod
// stores the mode word atomically under the file's data lock; the looks
// without the lock load it atomically). Run with -race (make race).
func TestSetAttrBeside(t *testing.T) {
	e := newEnv(t, 64)
	d := e.mkdir("/d")
	f := e.create("/d/f", "data")
	w := e.create("/d/w", "")
	const rounds = 4000
	b := e.newBeside()
	var wg sync.WaitGroup
	cm := b.mem(1)
	wg.Go(func() {
		for r := range rounds {
			b.call(func() bool {
				assert.Equal(t, ok, e.fs.SetAttr(cm.Now, d, uint32(0o700+r%8), -1, -1))
				assert.Equal(t, ok, e.fs.SetAttr(cm.Now, w, uint32(0o600+r%8), -1, -1))
				return assert.Equal(t, ok, e.fs.SetAttr(cm.Now, f, uint32(0o600+r%8), int32(r), -1))
			})
		}
	})
	wm := b.mem(5)
	wg.Go(func() {
		for r := range rounds / 4 {
			b.call(func() bool { return e.changeBeside(wm, d, w, r) })
		}
	})
	for k := range 2 {
		rm := b.mem(int64(10 + k))
		wg.Go(func() {
			buf := make([]byte, 4)
			for range rounds {
				b.call(func() bool {
					got, err := e.fs.Resolve(rm, RootIno, newPath("/d/f"), true)
					if assert.Equal(t, ok, err) && assert.Equal(t, f, got.Ino) {
						st, serr := e.fs.Stat(f)
						assert.Equal(t, ok, serr)
						assert.Equal(t, uint32(unix.S_IFREG), st.Mode&unix.S_IFMT)
						n, rerr := e.fs.Read(rm, f, 0, buf)
						assert.Equal(t, ok, rerr)
						assert.Equal(t, "data", string(buf[:n]))
					}
					assert.True(t, e.fs.IsDir(d), fmt.Sprintf("mode %o", e.fs.Mode(d)))
					e.fs.RLockData(d)
					_, more := e.fs.ReadDir(rm, d, 2)
					e.fs.RUnlockData(d)
					return assert.True(t, more, "the file is listed")
				})
			}
		})
	}
	wg.Wait()
	b.end()
	assert.Equal(t, uint32(unix.S_IFDIR|0o700+(rounds-1)%8), e.fs.Mode(d))
	assert.Equal(t, uint32(rounds-1), e.stat(f).UID)
	assert.Equal(t, int64(0), e.stat(w).Size, "the writer's last truncation")
	fsck(t, e.fs, e.m)
}

// changeBeside is TestSetAttrBeside's writer's round r on file w of
// directory d, whose modes a chmod changes beside it: it writes w,
// truncates it, links a second name for it and unlinks that, renames w
// within d and back, and creates and unlinks a file in d; each of these
// looks at a file's type without the file's data lock (it loads it
// atomically). False on a failure.
func (e *env) changeBeside(m *Mem, d, w Ino, r int) bool {
	t := e.t
	e.fs.LockData(w)
	_, werr := e.fs.Write(m, w, 0, []byte("abc"))
	e.fs.UnlockData(w)
	tmp := []byte(fmt.Sprintf("t%d", r%2))
	_, cerr := e.fs.Create(m, d, tmp, unix.S_IFREG|0o644, 0)
	return assert.Equal(t, ok, werr) && assert.Equal(t, ok, e.fs.Truncate(m, w, 0)) &&
		assert.Equal(t, ok, e.fs.Link(m, w, d, []byte("g"))) && assert.Equal(t, ok, e.fs.Unlink(m, d, []byte("g"))) &&
		assert.Equal(t, ok, e.fs.Rename(m, d, []byte("w"), d, []byte("w2"), 0)) &&
		assert.Equal(t, ok, e.fs.Rename(m, d, []byte("w2"), d, []byte("w"), 0)) &&
		assert.Equal(t, ok, cerr) && assert.Equal(t, ok, e.fs.Unlink(m, d, tmp))
}
