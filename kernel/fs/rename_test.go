package fs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// renameTree makes /d1/{f1 "one", sub/{inner}, empty/}, /d2/{f2 "two",
// full/{x}}, /d1/hard and /d2/hard (hard links to f1).
func renameTree(t *testing.T) *env {
	e := newEnv(t, 128)
	e.mkdir("/d1")
	e.mkdir("/d2")
	f1 := e.create("/d1/f1", "one")
	e.create("/d2/f2", "two")
	e.mkdir("/d1/sub")
	e.create("/d1/sub/inner", "")
	e.mkdir("/d1/empty")
	e.mkdir("/d2/full")
	e.create("/d2/full/x", "")
	require.Equal(t, ok, e.fs.Link(e.m, f1, e.ino("/d1"), []byte("hard")))
	require.Equal(t, ok, e.fs.Link(e.m, f1, e.ino("/d2"), []byte("hard")))
	return e
}

func TestRenameErrors(t *testing.T) {
	tests := []struct {
		from, to string
		flags    uint32
		err      Errno
	}{
		{"/d1/missing", "/d2/x", 0, ENOENT},
		{"/d1/f1", "/d2/full", 0, EISDIR},
		{"/d1/sub", "/d2/f2", 0, ENOTDIR},
		{"/d1/sub", "/d2/full", 0, ENOTEMPTY},
		{"/d1", "/d1/sub/x", 0, EINVAL},
		{"/d1", "/d1/empty", 0, EINVAL},
		{"/d1/sub", "/d1/sub/inner2", 0, EINVAL},
		{"/d1/sub/inner", "/d1", 0, EISDIR},
		{"/d1/f1", "/d2/f2", unix.RENAME_NOREPLACE, EEXIST},
		{"/d1/f1", "/d1/hard", unix.RENAME_NOREPLACE, EEXIST},
		{"/d1/f1", "/d2/new", unix.RENAME_EXCHANGE, ENOENT},
		{"/d1/f1", "/d2/f2", unix.RENAME_EXCHANGE | unix.RENAME_NOREPLACE, EINVAL},
		{"/d1/f1", "/d2/f2", 1 << 7, EINVAL},
		{"/d1", "/d1/sub", unix.RENAME_EXCHANGE, EINVAL},
		{"/d1/sub", "/d1", unix.RENAME_EXCHANGE, EINVAL},
	}
	for _, tc := range tests {
		t.Run(tc.from+"->"+tc.to, func(t *testing.T) {
			e := renameTree(t)
			used, held := e.fs.InodesUsed, e.fs.PagesHeld
			assert.Equal(t, tc.err, e.rename(tc.from, tc.to, tc.flags))
			assert.Equal(t, used, e.fs.InodesUsed)
			assert.Equal(t, held, e.fs.PagesHeld)
			assert.Equal(t, "one", e.readAll(e.ino("/d1/f1")), "nothing moved")
			assert.Equal(t, uint32(4), e.nlink("/d1"))
		})
	}
	e := renameTree(t)
	d1 := e.ino("/d1")
	assert.Equal(t, EBUSY, e.fs.Rename(e.m, d1, []byte("."), RootIno, []byte("x"), 0))
	assert.Equal(t, EBUSY, e.fs.Rename(e.m, d1, []byte("f1"), d1, []byte(".."), 0))
	assert.Equal(t, ENOTDIR, e.fs.Rename(e.m, e.ino("/d1/f1"), []byte("x"), d1, []byte("y"), 0))
	assert.Equal(t, ENAMETOOLONG, e.fs.Rename(e.m, d1, []byte("f1"), d1, []byte(repeat("n", NameMax+1)), 0))
	assert.Equal(t, uint32(3), e.nlink("/d1/f1"))
}

func TestRenameSameDir(t *testing.T) {
	e := renameTree(t)
	f1 := e.ino("/d1/f1")
	e.fs.Now = 9e9
	require.Equal(t, ok, e.rename("/d1/f1", "/d1/g", 0))
	assert.Equal(t, f1, e.ino("/d1/g"))
	assert.Zero(t, e.where("/d1/f1").Ino)
	assert.Equal(t, uint32(3), e.nlink("/d1/g"))
	assert.Equal(t, int64(9e9), e.stat(f1).Ctime)
	assert.Equal(t, int64(9e9), e.stat(e.ino("/d1")).Mtime)
	// a directory within its parent: no link count change
	require.Equal(t, ok, e.rename("/d1/sub", "/d1/sub2", 0))
	assert.Equal(t, uint32(4), e.nlink("/d1"))
	assert.Equal(t, e.ino("/d1"), e.ino("/d1/sub2/.."))
	// onto itself
	require.Equal(t, ok, e.rename("/d1/g", "/d1/g", 0))
	assert.Equal(t, f1, e.ino("/d1/g"))
}

func TestRenameAcrossDirs(t *testing.T) {
	e := renameTree(t)
	sub := e.ino("/d1/sub")
	require.Equal(t, ok, e.rename("/d1/sub", "/d2/moved", 0))
	assert.Equal(t, sub, e.ino("/d2/moved"))
	assert.Equal(t, uint32(3), e.nlink("/d1"))
	assert.Equal(t, uint32(4), e.nlink("/d2"))
	assert.Equal(t, e.ino("/d2"), e.ino("/d2/moved/.."), `".." follows the move`)
	assert.Equal(t, []string{".", "..", "inner"}, e.list(sub))
	de, _ := e.fs.ReadDir(e.m, sub, 1)
	assert.Equal(t, e.ino("/d2"), de.Ino, `ReadDir's ".."`)
	require.Equal(t, ok, e.rename("/d1/f1", "/d2/f1", 0))
	assert.Equal(t, "one", e.readAll(e.ino("/d2/f1")))
}

func TestRenameOverFile(t *testing.T) {
	e := renameTree(t)
	f2 := e.ino("/d2/f2")
	f1 := e.ino("/d1/f1")
	e.fs.Hold(f2)
	require.Equal(t, ok, e.rename("/d1/f1", "/d2/f2", 0))
	assert.Equal(t, f1, e.ino("/d2/f2"))
	assert.Equal(t, uint32(0), e.stat(f2).Nlink)
	assert.Equal(t, "two", e.readAll(f2), "the replaced file lives while held")
	held := e.fs.PagesHeld
	e.fs.Drop(e.m, f2)
	assert.Nil(t, e.fs.node(f2))
	assert.Equal(t, held-1, e.fs.PagesHeld)
	de := entryType(e, "/d2", "f2")
	assert.Equal(t, uint8(unix.DT_REG), de)
	// over a symlink: the entry's type follows
	e.symlink("/d2/ln", "x")
	require.Equal(t, ok, e.rename("/d2/full", "/d2/ln2", 0))
	require.Equal(t, ok, e.rename("/d2/ln", "/d2/f2", 0))
	assert.Equal(t, uint8(unix.DT_LNK), entryType(e, "/d2", "f2"))
	assert.Equal(t, uint32(2), e.stat(f1).Nlink, "f1 lost its /d2/f2 name")
}

func entryType(e *env, dir, name string) uint8 {
	for pos := int64(0); ; {
		de, more := e.fs.ReadDir(e.m, e.ino(dir), pos)
		if !more {
			return 0xff
		}
		if string(de.Name) == name {
			return de.Type
		}
		pos = de.Next
	}
}

func TestRenameDirOverEmptyDir(t *testing.T) {
	e := renameTree(t)
	sub, empty := e.ino("/d1/sub"), e.ino("/d1/empty")
	require.Equal(t, ok, e.rename("/d1/sub", "/d1/empty", 0))
	assert.Nil(t, e.fs.node(empty))
	assert.Equal(t, sub, e.ino("/d1/empty"))
	assert.Equal(t, uint32(3), e.nlink("/d1"))
	// and across directories
	e.mkdir("/d2/target")
	require.Equal(t, ok, e.rename("/d1/empty", "/d2/target", 0))
	assert.Equal(t, uint32(2), e.nlink("/d1"))
	assert.Equal(t, uint32(4), e.nlink("/d2"))
	assert.Equal(t, e.ino("/d2"), e.ino("/d2/target/.."))
	assert.Equal(t, []string{".", "..", "inner"}, e.list(sub))
}

func TestRenameHardLinksNoop(t *testing.T) {
	e := renameTree(t)
	f1 := e.ino("/d1/f1")
	require.Equal(t, ok, e.rename("/d1/f1", "/d2/hard", 0))
	assert.Equal(t, f1, e.ino("/d1/f1"), "both names stay")
	assert.Equal(t, f1, e.ino("/d2/hard"))
	assert.Equal(t, uint32(3), e.stat(f1).Nlink)
}

func TestRenameExchange(t *testing.T) {
	e := renameTree(t)
	f1, sub := e.ino("/d1/f1"), e.ino("/d1/sub")
	full := e.ino("/d2/full")
	require.Equal(t, ok, e.rename("/d1/f1", "/d2/full", unix.RENAME_EXCHANGE))
	assert.Equal(t, full, e.ino("/d1/f1"))
	assert.Equal(t, f1, e.ino("/d2/full"))
	assert.Equal(t, e.ino("/d1"), e.ino("/d1/f1/.."))
	assert.Equal(t, uint32(5), e.nlink("/d1"), "d1 gained a directory")
	assert.Equal(t, uint32(2), e.nlink("/d2"), "d2 lost one")
	assert.Equal(t, uint8(unix.DT_DIR), entryType(e, "/d1", "f1"))
	assert.Equal(t, uint8(unix.DT_REG), entryType(e, "/d2", "full"))
	// two directories, non-empty ones too
	require.Equal(t, ok, e.rename("/d1/sub", "/d1/f1", unix.RENAME_EXCHANGE))
	assert.Equal(t, sub, e.ino("/d1/f1"))
	assert.Equal(t, full, e.ino("/d1/sub"))
	assert.Equal(t, uint32(5), e.nlink("/d1"))
	// hard links to the same file
	require.Equal(t, ok, e.rename("/d1/hard", "/d2/hard", unix.RENAME_EXCHANGE))
	assert.Equal(t, f1, e.ino("/d1/hard"))
}

func TestRenameIntoRemovedDir(t *testing.T) {
	e := renameTree(t)
	d := e.ino("/d1/empty")
	e.fs.Hold(d)
	require.Equal(t, ok, e.rmdir("/d1/empty"))
	assert.Equal(t, ENOENT, e.fs.Rename(e.m, e.ino("/d1"), []byte("f1"), d, []byte("x"), 0))
	e.fs.Drop(e.m, d)
}

func TestRenameFreesEverything(t *testing.T) {
	e := newEnv(t, 64)
	e.mkdir("/a")
	e.create("/a/f", repeat("x", 5000))
	e.create("/g", repeat("y", 5000))
	require.Equal(t, ok, e.rename("/a/f", "/g", 0))
	require.Equal(t, ok, e.unlink("/g"))
	require.Equal(t, ok, e.rmdir("/a"))
	e.empty()
}

func TestLinkUnlink(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "data")
	d := e.mkdir("/d")
	e.fs.Now = 3e9
	require.Equal(t, ok, e.fs.Link(e.m, f, d, []byte("g")))
	assert.Equal(t, uint32(2), e.stat(f).Nlink)
	assert.Equal(t, int64(3e9), e.stat(f).Ctime)
	assert.Equal(t, f, e.ino("/d/g"))
	assert.Equal(t, uint8(unix.DT_REG), entryType(e, "/d", "g"))
	tests := []struct {
		ino  Ino
		dir  Ino
		name string
		err  Errno
	}{
		{f, d, "g", EEXIST},
		{f, d, ".", EEXIST},
		{f, d, "..", EEXIST},
		{d, RootIno, "dd", EPERM},
		{f, f, "x", ENOTDIR},
		{f, d, repeat("n", NameMax+1), ENAMETOOLONG},
		{4000, d, "x", ENOENT},
	}
	for _, tc := range tests {
		assert.Equal(t, tc.err, e.fs.Link(e.m, tc.ino, tc.dir, []byte(tc.name)), tc.name)
	}
	require.Equal(t, ok, e.unlink("/f"))
	assert.Equal(t, uint32(1), e.stat(f).Nlink)
	assert.Equal(t, "data", e.readAll(e.ino("/d/g")))
	assert.Equal(t, ENOENT, e.unlink("/f"))
	assert.Equal(t, ENOTDIR, e.fs.Unlink(e.m, f, []byte("x")))
	require.Equal(t, ok, e.unlink("/d/g"))
	assert.Nil(t, e.fs.node(f))
	require.Equal(t, ok, e.rmdir("/d"))
	e.empty()
}

func TestSymlinkReadlink(t *testing.T) {
	e := newEnv(t, 64)
	l := e.symlink("/l", "some/where")
	st := e.stat(l)
	assert.Equal(t, uint32(unix.S_IFLNK|0o777), st.Mode)
	assert.Equal(t, int64(10), st.Size)
	buf := make([]byte, 100)
	n, err := e.fs.Readlink(e.m, l, buf)
	require.Equal(t, ok, err)
	assert.Equal(t, "some/where", string(buf[:n]))
	n, err = e.fs.Readlink(e.m, l, buf[:4])
	require.Equal(t, ok, err)
	assert.Equal(t, "some", string(buf[:n]), "readlink truncates")
	_, err = e.fs.Readlink(e.m, e.create("/f", ""), buf)
	assert.Equal(t, EINVAL, err)
	_, err = e.fs.Readlink(e.m, RootIno, buf)
	assert.Equal(t, EINVAL, err)
	_, err = e.fs.Readlink(e.m, 3000, buf)
	assert.Equal(t, ENOENT, err)

	_, err = e.fs.Symlink(e.m, RootIno, []byte("empty"), nil)
	assert.Equal(t, ENOENT, err)
	_, err = e.fs.Symlink(e.m, RootIno, []byte("l"), []byte("x"))
	assert.Equal(t, EEXIST, err)
	long := repeat("a/", PathMax/2)
	_, err = e.fs.Symlink(e.m, RootIno, []byte("long"), []byte(long[:PathMax]))
	assert.Equal(t, ENAMETOOLONG, err)
	ll, err := e.fs.Symlink(e.m, RootIno, []byte("long"), []byte(long[:PathMax-1]))
	require.Equal(t, ok, err)
	big := make([]byte, PathMax)
	n, err = e.fs.Readlink(e.m, ll, big)
	require.Equal(t, ok, err)
	assert.Equal(t, long[:PathMax-1], string(big[:n]))

	// out of pages: nothing is left behind
	e.m.Budget = e.m.Taken
	used := e.fs.InodesUsed
	_, err = e.fs.Symlink(e.m, RootIno, []byte("nospace"), []byte("x"))
	assert.Equal(t, ENOSPC, err)
	assert.Equal(t, used, e.fs.InodesUsed)
	assert.Zero(t, e.where("/nospace").Ino)
}

func TestChmodChownSetTimes(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "")
	d := e.mkdir("/d")
	e.fs.Now = 2e9
	require.Equal(t, ok, e.fs.SetAttr(0, f, 0o4711|unix.S_IFDIR, -1, -1))
	assert.Equal(t, uint32(unix.S_IFREG|0o4711), e.fs.Mode(f), "the type bits stay")
	require.Equal(t, ok, e.fs.SetAttr(0, d, 0o1777, -1, -1))
	assert.Equal(t, uint32(unix.S_IFDIR|0o1777), e.fs.Mode(d))
	assert.Equal(t, int64(2e9), e.stat(f).Ctime)

	require.Equal(t, ok, e.fs.SetAttr(0, f, KeepMode, 1000, 100))
	require.Equal(t, ok, e.fs.SetAttr(0, f, KeepMode, -1, 200))
	st := e.stat(f)
	assert.Equal(t, uint32(1000), st.UID)
	assert.Equal(t, uint32(200), st.GID)
	require.Equal(t, ok, e.fs.SetAttr(0, f, KeepMode, 7, -1))
	st = e.stat(f)
	assert.Equal(t, uint32(7), st.UID)
	assert.Equal(t, uint32(200), st.GID)

	e.fs.Now = 4e9
	require.Equal(t, ok, e.fs.SetTimes(e.m, f, 11e9, Omit))
	st = e.stat(f)
	assert.Equal(t, int64(11e9), st.Atime)
	assert.Equal(t, int64(1e9), st.Mtime)
	assert.Equal(t, int64(4e9), st.Ctime)
	require.Equal(t, ok, e.fs.SetTimes(e.m, f, Omit, -5e8)) // before the epoch
	st = e.stat(f)
	assert.Equal(t, int64(11e9), st.Atime)
	assert.Equal(t, int64(-5e8), st.Mtime)
	e.fs.Now = 6e9
	require.Equal(t, ok, e.fs.SetTimes(e.m, f, Omit, Omit))
	assert.Equal(t, int64(4e9), e.stat(f).Ctime, "both omitted: nothing changes, not even ctime (as utimensat)")

	for _, err := range []Errno{e.fs.SetAttr(0, 3000, 0, -1, -1), e.fs.SetAttr(0, 3000, KeepMode, 0, 0), e.fs.SetTimes(e.m, 3000, 0, 0)} {
		assert.Equal(t, ENOENT, err)
	}
	_, err := e.fs.Stat(3000)
	assert.Equal(t, ENOENT, err)
}

func TestInodeTableFull(t *testing.T) {
	e := newEnv(t, 4096)
	// spread over directories, to keep the linear lookups short
	const ndirs = 64
	var dirs [ndirs]Ino
	for i := range dirs {
		dirs[i] = e.mkdir("/" + fmtName(i))
	}
	n := ndirs
	for ; ; n++ {
		_, err := e.fs.Create(e.m, dirs[n%ndirs], []byte(fmtName(n)), unix.S_IFREG|0o644, 0)
		if err != ok {
			assert.Equal(t, ENOSPC, err)
			break
		}
	}
	assert.Equal(t, MaxInodes-2, n, "every inode but 0 and the root")
	assert.Equal(t, int64(MaxInodes-1), e.fs.InodesUsed)
	require.Equal(t, ok, e.fs.Unlink(e.m, dirs[100%ndirs], []byte(fmtName(100))))
	_, err := e.fs.Create(e.m, RootIno, []byte("again"), unix.S_IFREG|0o644, 0)
	assert.Equal(t, ok, err, "a freed inode is reused")
}

func fmtName(i int) string {
	b := []byte("file-")
	for k := 0; k < 5; k++ {
		b = append(b, byte('0'+i%10))
		i /= 10
	}
	return string(b)
}

func TestLinkLimits(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", "")
	d := e.mkdir("/d")
	e.mkdir("/sub")
	e.fs.inodes[f].nlink = maxLinks
	assert.Equal(t, EMLINK, e.fs.Link(e.m, f, d, []byte("g")))
	e.fs.inodes[f].nlink = 1
	e.fs.inodes[d].nlink = maxLinks
	_, err := e.fs.Create(e.m, d, []byte("x"), unix.S_IFDIR|0o755, 0)
	assert.Equal(t, EMLINK, err, "no room for another \"..\"")
	_, err = e.fs.Create(e.m, d, []byte("x"), unix.S_IFREG|0o644, 0)
	assert.Equal(t, ok, err, "files do not count")
	assert.Equal(t, EMLINK, e.rename("/sub", "/d/sub", 0))
	e.fs.inodes[d].nlink = 2
	assert.Equal(t, ok, e.rename("/sub", "/d/sub", 0))
}
