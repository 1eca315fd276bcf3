package fs

import (
	"encoding/binary"
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

func TestMkdirRmdirLinkCounts(t *testing.T) {
	e := newEnv(t, 64)
	assert.Equal(t, uint32(2), e.nlink("/"))
	a := e.mkdir("/a")
	assert.Equal(t, uint32(2), e.nlink("/a"))
	assert.Equal(t, uint32(3), e.nlink("/"))
	e.mkdir("/a/b")
	e.mkdir("/a/c")
	e.create("/a/f", "")
	assert.Equal(t, uint32(4), e.nlink("/a"), "files do not count, subdirectories do")
	assert.Equal(t, uint32(unix.S_IFDIR|0o755), e.fs.Mode(a))
	f, err := e.resolve(RootIno, "/a/b/..", true)
	require.Equal(t, ok, err)
	assert.Equal(t, a, f.Ino)

	tests := []struct {
		path string
		err  Errno
	}{
		{"/a", ENOTEMPTY},
		{"/a/f", ENOTDIR},
		{"/a/missing", ENOENT},
		{"/a/f/x", ENOTDIR}, // Found.Dir is 0: not a directory
	}
	for _, tc := range tests {
		f, _ := e.resolve(RootIno, tc.path, false)
		assert.Equal(t, tc.err, e.fs.Rmdir(e.m, f.Dir, f.Name), tc.path)
	}
	// "." and ".." (Found.Dir is 0 for those: the caller passes the directory)
	assert.Equal(t, EINVAL, e.fs.Rmdir(e.m, a, []byte(".")))
	assert.Equal(t, ENOTEMPTY, e.fs.Rmdir(e.m, e.ino("/a/b"), []byte("..")))
	assert.Equal(t, EISDIR, e.fs.Unlink(e.m, a, []byte(".")))
	assert.Equal(t, EISDIR, e.fs.Unlink(e.m, a, []byte("..")))
	_, err = e.fs.Create(e.m, a, []byte("b"), unix.S_IFDIR|0o700, 0)
	assert.Equal(t, EEXIST, err)
	_, err = e.fs.Create(e.m, a, []byte("."), unix.S_IFDIR|0o700, 0)
	assert.Equal(t, EEXIST, err)
	_, err = e.fs.Create(e.m, a, []byte(".."), unix.S_IFDIR|0o700, 0)
	assert.Equal(t, EEXIST, err)
	_, err = e.fs.Create(e.m, a, []byte(repeat("n", NameMax+1)), unix.S_IFDIR|0o700, 0)
	assert.Equal(t, ENAMETOOLONG, err)
	_, err = e.fs.Create(e.m, e.ino("/a/f"), []byte("x"), unix.S_IFDIR|0o700, 0)
	assert.Equal(t, ENOTDIR, err)

	require.Equal(t, ok, e.rmdir("/a/b"))
	assert.Equal(t, uint32(3), e.nlink("/a"))
	require.Equal(t, ok, e.rmdir("/a/c"))
	require.Equal(t, ok, e.unlink("/a/f"))
	assert.Equal(t, uint32(2), e.nlink("/a"))
	assert.Equal(t, EISDIR, e.unlink("/a"))
	require.Equal(t, ok, e.rmdir("/a"))
	assert.Equal(t, uint32(2), e.nlink("/"))
	e.empty()
}

func TestRmdirHeldDirectory(t *testing.T) {
	e := newEnv(t, 64)
	d := e.mkdir("/d")
	e.create("/d/f", "")
	e.fs.Hold(d)
	require.Equal(t, ok, e.unlink("/d/f"))
	require.Equal(t, ok, e.rmdir("/d"))
	st := e.stat(d)
	assert.Equal(t, uint32(0), st.Nlink)
	assert.Empty(t, e.list(d), "a removed directory lists nothing")
	_, err := e.fs.Create(e.m, d, []byte("x"), unix.S_IFREG|0o644, 0)
	assert.Equal(t, ENOENT, err, "nothing can be made in a removed directory")
	assert.Equal(t, ENOENT, e.fs.Link(e.m, e.create("/g", ""), d, []byte("x")))
	require.Equal(t, ok, e.unlink("/g"))
	e.fs.Drop(e.m, d)
	assert.Nil(t, e.fs.node(d))
	e.empty()
}

func TestReadDirOrder(t *testing.T) {
	e := newEnv(t, 64)
	d := e.mkdir("/d")
	f := e.create("/d/file", "")
	s := e.mkdir("/d/sub")
	l := e.symlink("/d/link", "file")
	c, err := e.fs.Create(e.m, d, []byte("tty"), unix.S_IFCHR|0o620, 4<<8|1)
	require.Equal(t, ok, err)
	type ent struct {
		name string
		ino  Ino
		typ  uint8
	}
	var got []ent
	for pos := int64(0); ; {
		de, more := e.fs.ReadDir(e.m, d, pos)
		if !more {
			break
		}
		assert.Greater(t, de.Next, pos)
		got = append(got, ent{string(de.Name), de.Ino, de.Type})
		pos = de.Next
	}
	assert.Equal(t, []ent{
		{".", d, unix.DT_DIR},
		{"..", RootIno, unix.DT_DIR},
		{"file", f, unix.DT_REG},
		{"sub", s, unix.DT_DIR},
		{"link", l, unix.DT_LNK},
		{"tty", c, unix.DT_CHR},
	}, got)
	assert.Equal(t, []string{".", ".."}, e.list(s))
	assert.Equal(t, uint32(4<<8|1), e.fs.Rdev(c))
	_, more := e.fs.ReadDir(e.m, f, 0)
	assert.False(t, more, "a file is not a directory")
	_, more = e.fs.ReadDir(e.m, 5000, 0)
	assert.False(t, more)
}

// TestReadDirWhileRemoving does what os.RemoveAll does: read a batch,
// remove what it named, read on from the saved position.
func TestReadDirWhileRemoving(t *testing.T) {
	for _, batch := range []int{1, 3, 10, 1000} {
		t.Run(fmt.Sprint(batch), func(t *testing.T) {
			e := newEnv(t, 256)
			d := e.mkdir("/d")
			const n = 100
			want := map[string]bool{}
			for i := range n {
				name := fmt.Sprintf("entry-%03d-%s", i, repeat("q", i%50))
				e.create("/d/"+name, "x")
				want[name] = true
			}
			e.fs.Hold(d) // open, as RemoveAll has it
			seen := map[string]bool{}
			pos := int64(0)
			for {
				var names []string
				for len(names) < batch {
					de, more := e.fs.ReadDir(e.m, d, pos)
					if !more {
						break
					}
					pos = de.Next
					if string(de.Name) != "." && string(de.Name) != ".." {
						names = append(names, string(de.Name))
					}
				}
				if len(names) == 0 {
					break
				}
				for _, name := range names {
					require.False(t, seen[name], "%s listed twice", name)
					seen[name] = true
					require.Equal(t, ok, e.fs.Unlink(e.m, d, []byte(name)))
				}
			}
			assert.Equal(t, want, seen, "every entry listed once")
			assert.Equal(t, []string{".", ".."}, e.list(d))
			assert.Positive(t, e.fs.inodes[d].pages, "kept while open: positions stay valid")
			e.fs.Drop(e.m, d)
			assert.Zero(t, e.fs.inodes[d].pages, "an emptied directory gives its pages back at the last close")
			require.Equal(t, ok, e.rmdir("/d"))
			e.empty()
		})
	}
}

func TestDirDeadRecordReuse(t *testing.T) {
	e := newEnv(t, 64)
	d := e.mkdir("/d")
	ip := &e.fs.inodes[d]
	e.create("/d/aaaaaaaaaaaaaaaa", "") // 24-byte record
	e.create("/d/b", "")                // 16
	e.create("/d/c", "")                // 16
	size := ip.size
	require.Equal(t, int64(56), size)
	require.Equal(t, ok, e.unlink("/d/aaaaaaaaaaaaaaaa"))
	e.create("/d/x", "") // fits in the dead 24-byte record
	assert.Equal(t, size, ip.size, "reused, not appended")
	assert.Equal(t, []string{".", "..", "x", "b", "c"}, e.list(d))
	require.Equal(t, ok, e.unlink("/d/b"))
	e.create("/d/"+repeat("y", 9), "") // needs 24 bytes: appended
	assert.Equal(t, size+24, ip.size)
	e.create("/d/z", "") // 16: the dead record of b
	assert.Equal(t, size+24, ip.size)
	assert.Equal(t, []string{".", "..", "x", "z", "c", repeat("y", 9)}, e.list(d))
	assert.Equal(t, int32(4), ip.entries)
}

func TestDirManyEntries(t *testing.T) {
	e := newEnv(t, 512)
	d := e.mkdir("/d")
	const n = 2000
	var want []string
	for i := range n {
		name := fmt.Sprintf("%04d-%s", i, repeat("w", i%240))
		want = append(want, name)
		e.create("/d/"+name, "")
	}
	ip := &e.fs.inodes[d]
	assert.Greater(t, ip.pages, int64(50), "the directory spans many pages")
	got := e.list(d)
	require.Len(t, got, n+2)
	sort.Strings(want)
	gotNames := append([]string(nil), got[2:]...)
	sort.Strings(gotNames)
	assert.Equal(t, want, gotNames)
	for _, name := range want { // every name resolves
		f, err := e.resolve(d, name, false)
		require.Equal(t, ok, err)
		require.NotZero(t, f.Ino, name)
	}
	// no record crosses a page
	for off := int64(0); off < ip.size; {
		r, good := recordAt(e.m, ip, off)
		require.True(t, good, "record at %d", off)
		require.LessOrEqual(t, off%PageSize+int64(r.length), int64(PageSize))
		off += int64(r.length)
	}
	for _, name := range want {
		require.Equal(t, ok, e.fs.Unlink(e.m, d, []byte(name)))
	}
	assert.Zero(t, ip.pages, "an emptied directory gives its pages back")
	require.Equal(t, ok, e.rmdir("/d"))
	e.empty()
}

func TestPutDirent64(t *testing.T) {
	tests := []struct {
		name   string
		reclen int
	}{
		{"", 24}, {"a", 24}, {"abcd", 24}, {"abcde", 32}, {repeat("n", 12), 32}, {repeat("n", 13), 40}, {repeat("n", 255), 280},
	}
	for _, tc := range tests {
		d := Dirent{Ino: 1234, Type: unix.DT_LNK, Name: []byte(tc.name), Next: 0x1122334455}
		b := make([]byte, 300)
		for i := range b {
			b[i] = 0xee
		}
		n := PutDirent64(b, &d)
		require.Equal(t, tc.reclen, n, "name %q", tc.name)
		assert.Zero(t, n%8)
		assert.Equal(t, uint64(1234), binary.LittleEndian.Uint64(b[0:]))
		assert.Equal(t, uint64(0x1122334455), binary.LittleEndian.Uint64(b[8:]))
		assert.Equal(t, uint16(n), binary.LittleEndian.Uint16(b[16:]))
		assert.Equal(t, uint8(unix.DT_LNK), b[18])
		assert.Equal(t, tc.name, string(b[19:19+len(tc.name)]))
		for i := 19 + len(tc.name); i < n; i++ {
			assert.Zero(t, b[i], "NUL and padding at %d", i)
		}
		assert.Equal(t, uint8(0xee), b[n], "nothing written past the record")
		// what the host's parser makes of it
		consumed, count, names := unix.ParseDirent(b[:n], 10, nil)
		assert.Equal(t, n, consumed)
		if tc.name != "" {
			assert.Equal(t, 1, count)
			assert.Equal(t, []string{tc.name}, names)
		}
		assert.Zero(t, PutDirent64(b[:n-1], &d), "too short")
	}
}

// TestGetdentsLoop fills a small buffer the way getdents64 does and
// checks that restarting from d_off continues without loss.
func TestGetdentsLoop(t *testing.T) {
	e := newEnv(t, 64)
	d := e.mkdir("/d")
	for i := range 50 {
		e.create(fmt.Sprintf("/d/file%02d", i), "")
	}
	var names []string
	pos := int64(0)
	for {
		buf := make([]byte, 100) // a few entries at a time
		used := 0
		for {
			de, more := e.fs.ReadDir(e.m, d, pos)
			if !more {
				break
			}
			n := PutDirent64(buf[used:], &de)
			if n == 0 {
				break
			}
			used += n
			pos = de.Next
		}
		if used == 0 {
			break
		}
		_, _, names = unix.ParseDirent(buf[:used], -1, names)
	}
	assert.Len(t, names, 50) // ParseDirent drops "." and ".."
	assert.Equal(t, "file00", names[0])
	assert.Equal(t, "file49", names[49])
}

// TestReadDirAnyPosition reads from every position, as a program may
// lseek a directory anywhere: no panic, and only real entries come back.
func TestReadDirAnyPosition(t *testing.T) {
	e := newEnv(t, 64)
	d := e.mkdir("/d")
	names := map[string]Ino{}
	for i := range 40 {
		name := fmt.Sprintf("%02d-%s", i, repeat("\xff", 150+i)) // names full of 0xff bytes
		names[name] = e.create("/d/"+name, "")
	}
	ip := &e.fs.inodes[d]
	require.Greater(t, ip.size, int64(PageSize))
	for pos := int64(-3); pos < ip.size+20; pos++ {
		var de Dirent
		var more bool
		require.NotPanics(t, func() { de, more = e.fs.ReadDir(e.m, d, pos) }, "pos %d", pos)
		if !more || pos < 2 {
			continue
		}
		ino, found := names[string(de.Name)]
		require.True(t, found, "pos %d gave a made-up entry %q", pos, de.Name)
		require.Equal(t, ino, de.Ino)
		require.Greater(t, de.Next, pos)
	}
}
