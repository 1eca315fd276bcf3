package fs

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/u-root/u-root/pkg/cpio"
	"golang.org/x/sys/unix"
)

// archive writes records as a newc archive with u-root's writer, with a
// trailer unless noTrailer.
func archive(t testing.TB, noTrailer bool, recs ...cpio.Record) []byte {
	var b bytes.Buffer
	w := cpio.Newc.Writer(&b)
	require.NoError(t, cpio.WriteRecords(w, recs))
	if !noTrailer {
		require.NoError(t, cpio.WriteTrailer(w))
	}
	return b.Bytes()
}

func file(name, data string, perm, mtime uint64) cpio.Record {
	return cpio.StaticRecord([]byte(data), cpio.Info{Name: name, Mode: cpio.S_IFREG | perm, MTime: mtime, UID: 1, GID: 2})
}

func dirRec(name string, perm, mtime uint64) cpio.Record {
	r := cpio.Directory(name, perm)
	r.MTime = mtime
	r.UID, r.GID = 3, 4
	return r
}

func linkRec(name, target string, mtime uint64) cpio.Record {
	r := cpio.Symlink(name, target)
	r.MTime = mtime
	return r
}

func TestUnpack(t *testing.T) {
	e := newEnv(t, 256)
	big := string(pattern(3*PageSize+17, 5))
	a := archive(t, false,
		dirRec(".", 0o700, 100),
		dirRec("etc", 0o755, 200),
		file("etc/passwd", "root:x:0:0::/root:/bin/sh\n", 0o644, 300),
		file("bin/tool", big, 0o755, 400), // bin made implicitly
		linkRec("bin/sh", "tool", 500),
		linkRec("abs", "/etc/passwd", 600),
		dirRec("var/empty", 0o711, 700),
		cpio.CharDev("dev/console", 0o600, 5, 1),
		cpio.Record{Info: cpio.Info{Name: "dev/fifo", Mode: cpio.S_IFIFO | 0o644}},
		cpio.Record{Info: cpio.Info{Name: "dev/sock", Mode: cpio.S_IFSOCK | 0o644}},
		cpio.Record{Info: cpio.Info{Name: "dev/sda", Mode: cpio.S_IFBLK | 0o644}},
		file("empty", "", 0o600, 800),
	)
	r := e.fs.Unpack(e.m, a)
	require.Empty(t, r.Err)
	assert.Equal(t, 9, r.Entries)
	assert.Equal(t, 3, r.Skipped)
	assert.Equal(t, 1, r.Archives)

	root := e.stat(RootIno)
	assert.Equal(t, uint32(unix.S_IFDIR|0o700), root.Mode)
	assert.Equal(t, uint32(3), root.UID)
	assert.Equal(t, int64(100e9), root.Mtime)

	etc := e.stat(e.ino("/etc"))
	assert.Equal(t, uint32(unix.S_IFDIR|0o755), etc.Mode)
	assert.Equal(t, int64(200e9), etc.Mtime, "a directory keeps its own time, not its children's")
	assert.Equal(t, uint32(3), etc.UID)
	assert.Equal(t, uint32(4), etc.GID)

	pw := e.ino("/etc/passwd")
	st := e.stat(pw)
	assert.Equal(t, uint32(unix.S_IFREG|0o644), st.Mode)
	assert.Equal(t, int64(300e9), st.Mtime)
	assert.Equal(t, uint32(1), st.UID)
	assert.Equal(t, uint32(2), st.GID)
	assert.Equal(t, "root:x:0:0::/root:/bin/sh\n", e.readAll(pw))

	bin := e.stat(e.ino("/bin"))
	assert.Equal(t, uint32(unix.S_IFDIR|0o755), bin.Mode, "implicit parents get 0755")
	tool := e.ino("/bin/tool")
	assert.Equal(t, big, e.readAll(tool))
	assert.Equal(t, uint32(unix.S_IFREG|0o755), e.fs.Mode(tool))

	sh := e.where("/bin/sh").Ino
	assert.Equal(t, uint32(unix.S_IFLNK|0o777), e.fs.Mode(sh))
	assert.Equal(t, int64(500e9), e.stat(sh).Mtime)
	assert.Equal(t, tool, e.ino("/bin/sh"))
	assert.Equal(t, pw, e.ino("/abs"))
	buf := make([]byte, 100)
	n, err := e.fs.Readlink(e.m, e.where("/abs").Ino, buf)
	require.Equal(t, ok, err)
	assert.Equal(t, "/etc/passwd", string(buf[:n]))

	assert.Equal(t, uint32(unix.S_IFDIR|0o711), e.fs.Mode(e.ino("/var/empty")))
	con := e.ino("/dev/console")
	assert.Equal(t, uint32(unix.S_IFCHR|0o600), e.fs.Mode(con))
	assert.Equal(t, uint32(5<<8|1), e.fs.Rdev(con))
	assert.Zero(t, e.where("/dev/fifo").Ino)
	assert.Zero(t, e.fs.Size(e.ino("/empty")))
	assert.Equal(t, []string{".", "..", "etc", "bin", "abs", "var", "dev", "empty"}, e.list(RootIno))
	fsck(t, e.fs, e.m)
}

func TestUnpackHardLinks(t *testing.T) {
	e := newEnv(t, 64)
	// newc carries the data with the last of the links (as GNU cpio writes)
	first := cpio.Record{Info: cpio.Info{Name: "a", Mode: cpio.S_IFREG | 0o644, Ino: 77, NLink: 3}}
	second := cpio.Record{Info: cpio.Info{Name: "d/b", Mode: cpio.S_IFREG | 0o644, Ino: 77, NLink: 3}}
	third := cpio.StaticRecord([]byte("shared"), cpio.Info{Name: "c", Mode: cpio.S_IFREG | 0o644, Ino: 77, NLink: 3})
	other := cpio.StaticRecord([]byte("other"), cpio.Info{Name: "o", Mode: cpio.S_IFREG | 0o644, Ino: 78, NLink: 1})
	r := e.fs.Unpack(e.m, archive(t, false, first, second, third, other))
	require.Empty(t, r.Err)
	assert.Equal(t, 4, r.Entries)
	a := e.ino("/a")
	assert.Equal(t, a, e.ino("/d/b"))
	assert.Equal(t, a, e.ino("/c"))
	assert.Equal(t, uint32(3), e.stat(a).Nlink)
	assert.Equal(t, "shared", e.readAll(a))
	assert.NotEqual(t, a, e.ino("/o"))
	fsck(t, e.fs, e.m)
}

func TestUnpackOverrides(t *testing.T) {
	e := newEnv(t, 64)
	one := archive(t, false,
		file("f", "first version, longer", 0o644, 1),
		file("g", "g", 0o644, 1),
		dirRec("d", 0o700, 1),
		file("d/x", "x", 0o644, 1),
		linkRec("l", "f", 1),
		dirRec("emptydir", 0o700, 1),
	)
	two := archive(t, false,
		file("f", "second", 0o600, 2),      // a file replaces a file
		linkRec("g", "f", 2),               // a link replaces a file
		dirRec("d", 0o755, 2),              // a directory updates a directory
		file("l", "now a file", 0o644, 2),  // a file replaces a link
		file("emptydir", "file", 0o644, 2), // and an empty directory
	)
	// concatenated, with zero padding between, as the kernel takes them
	all := append(append(append([]byte{}, one...), make([]byte, 512)...), two...)
	all = append(all, make([]byte, 3)...) // and trailing zeros of any length
	r := e.fs.Unpack(e.m, all)
	require.Empty(t, r.Err, "%+v", r)
	assert.Equal(t, 2, r.Archives)
	assert.Equal(t, 11, r.Entries)
	f := e.ino("/f")
	assert.Equal(t, "second", e.readAll(f))
	assert.Equal(t, uint32(unix.S_IFREG|0o600), e.fs.Mode(f))
	assert.Equal(t, uint32(1), e.stat(f).Nlink)
	assert.Equal(t, f, e.ino("/g"))
	assert.Equal(t, uint32(unix.S_IFDIR|0o755), e.fs.Mode(e.ino("/d")))
	assert.Equal(t, "x", e.readAll(e.ino("/d/x")), "a directory entry keeps the contents")
	assert.Equal(t, "now a file", e.readAll(e.ino("/l")))
	assert.Equal(t, "file", e.readAll(e.ino("/emptydir")))
	fsck(t, e.fs, e.m)

	// a non-empty directory cannot be replaced by a file
	r = e.fs.Unpack(e.m, archive(t, false, file("d", "no", 0o644, 3)))
	assert.NotEmpty(t, r.Err)
	assert.Equal(t, ENOTEMPTY, r.Errno)
	assert.Zero(t, r.Offset)
	fsck(t, e.fs, e.m)
}

func TestUnpackNames(t *testing.T) {
	e := newEnv(t, 64)
	raw := func(name string, mode uint64, data string) []byte {
		h := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			1, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name)+1, 0)
		b := append([]byte(h), name...)
		b = append(b, 0)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		b = append(b, data...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	var a []byte
	a = append(a, raw("./dot/a", cpio.S_IFREG|0o644, "1")...)
	a = append(a, raw("/abs/b", cpio.S_IFREG|0o644, "22")...)
	a = append(a, raw("x//y/./z", cpio.S_IFREG|0o644, "333")...)
	a = append(a, raw("slash/", cpio.S_IFDIR|0o701, "")...)
	a = append(a, raw("up/../../top", cpio.S_IFREG|0o644, "4")...)
	a = append(a, raw(cpioTrailer, 0, "")...)
	r := e.fs.Unpack(e.m, a)
	require.Empty(t, r.Err, "%+v", r)
	assert.Equal(t, "1", e.readAll(e.ino("/dot/a")))
	assert.Equal(t, "22", e.readAll(e.ino("/abs/b")))
	assert.Equal(t, "333", e.readAll(e.ino("/x/y/z")))
	assert.Equal(t, uint32(unix.S_IFDIR|0o701), e.fs.Mode(e.ino("/slash")))
	assert.Equal(t, "4", e.readAll(e.ino("/top")), `".." stops at the root`)
	fsck(t, e.fs, e.m)
}

func TestUnpackMalformed(t *testing.T) {
	good := archive(t, false, file("aaa", "hello", 0o644, 1), file("bbb", "world", 0o644, 2))
	// offsets in good: entry 0 at 0, header 110, name "aaa\0" → 114 (aligned 116), data 5 → 124
	second := 124
	require.Equal(t, "070701", string(good[second:second+6]))
	mod := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	tests := []struct {
		name   string
		input  []byte
		offset int
		errno  Errno
	}{
		{"truncated first header", good[:50], 0, ok},
		{"truncated second header", good[:second+109], second, ok},
		{"bad magic", mod(func(b []byte) []byte { b[0] = '1'; return b }), 0, ok},
		{"old binary magic", mod(func(b []byte) []byte { copy(b, "070707"); return b }), 0, ok},
		{"bad magic in second", mod(func(b []byte) []byte { b[second+5] = '3'; return b }), second, ok},
		{"bad hex", mod(func(b []byte) []byte { b[6+8*6+3] = 'g'; return b }), 0, ok},
		{"space in hex", mod(func(b []byte) []byte { b[second+6+8*11] = ' '; return b }), second, ok},
		{"name without NUL", mod(func(b []byte) []byte { b[110+3] = 'x'; return b }), 0, ok},
		{"zero name size", mod(func(b []byte) []byte { copy(b[6+8*11:], "00000000"); return b }), 0, ok},
		{"huge name size", mod(func(b []byte) []byte { copy(b[6+8*11:], "FFFFFFFF"); return b }), 0, ok},
		{"data past the end", good[:second-4], 0, ok},
		{"padding past the end", good[:second-2], second - 2, ok},
		{"huge data size", mod(func(b []byte) []byte { copy(b[6+8*6:], "FFFFFFFF"); return b }), 0, ok},
		{"missing trailer", archive(t, true, file("aaa", "hello", 0o644, 1)), second, ok},
		{"garbage after the trailer", append(append([]byte(nil), good...), "junk"...), len(good), ok},
		{"unaligned archive after zeros", append(append(append([]byte(nil), good...), 0), good...), len(good), ok},
		{"a link with no target", archive(t, false, cpio.Record{Info: cpio.Info{Name: "l", Mode: cpio.S_IFLNK | 0o777}}), 0, ENOENT},
		{"name too long", archive(t, false, file(repeat("n", NameMax+1), "", 0o644, 1)), 0, ENAMETOOLONG},
		{"parent is a file", archive(t, false, file("f", "", 0o644, 1), file("f/g", "", 0o644, 1)), 112, ENOTDIR},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 64)
			var r UnpackResult
			require.NotPanics(t, func() { r = e.fs.Unpack(e.m, tc.input) })
			assert.NotEmpty(t, r.Err)
			assert.Equal(t, tc.offset, r.Offset, "%s", r.Err)
			assert.Equal(t, tc.errno, r.Errno)
			fsck(t, e.fs, e.m)
		})
	}
}

func TestUnpackEmpty(t *testing.T) {
	e := newEnv(t, 64)
	r := e.fs.Unpack(e.m, nil)
	assert.Equal(t, UnpackResult{}, r)
	r = e.fs.Unpack(e.m, archive(t, false))
	assert.Equal(t, UnpackResult{Archives: 1}, r)
	e.empty()
}

func TestUnpackOutOfSpace(t *testing.T) {
	e := newEnv(t, 64)
	e.m.Budget = 4
	r := e.fs.Unpack(e.m, archive(t, false, file("a", string(pattern(10*PageSize, 1)), 0o644, 1)))
	assert.NotEmpty(t, r.Err)
	assert.Equal(t, ENOSPC, r.Errno)
	fsck(t, e.fs, e.m)
}

func FuzzUnpack(f *testing.F) {
	f.Add(archive(f, false, dirRec(".", 0o755, 1), dirRec("etc", 0o755, 2), file("etc/a", "hello", 0o644, 3), linkRec("l", "etc/a", 4)))
	f.Add(archive(f, false, cpio.Record{Info: cpio.Info{Name: "a", Mode: cpio.S_IFREG | 0o644, Ino: 7, NLink: 2}},
		cpio.StaticRecord([]byte("x"), cpio.Info{Name: "b", Mode: cpio.S_IFREG | 0o644, Ino: 7, NLink: 2})))
	f.Add(append(archive(f, false, file("f", "1", 0o644, 1)), archive(f, false, file("f", "22", 0o644, 1), dirRec("f", 0o700, 1))...))
	f.Add(archive(f, true, file("big", string(pattern(70000, 2)), 0o644, 1)))
	f.Add([]byte("070701"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, a []byte) {
		fsys := new(FS)
		fsys.Init()
		m := reusedRAM(t, 64)
		var r UnpackResult
		require.NotPanics(t, func() { r = fsys.Unpack(m, a) })
		if r.Err != "" {
			require.GreaterOrEqual(t, r.Offset, 0)
			require.LessOrEqual(t, r.Offset, len(a))
		}
		require.LessOrEqual(t, r.Archives, len(a)/cpioHeader+1)
		var p Path
		p.N = copy(p.Buf[:], "/")
		found, err := fsys.Resolve(m, RootIno, &p, true)
		require.Equal(t, ok, err)
		require.Equal(t, RootIno, found.Ino)
		fsck(t, fsys, m)
	})
}

func TestUnpackHardLinkOutOfSpace(t *testing.T) {
	e := newEnv(t, 64)
	first := cpio.Record{Info: cpio.Info{Name: "a", Mode: cpio.S_IFREG | 0o644, Ino: 9, NLink: 2}}
	last := cpio.StaticRecord(pattern(5*PageSize, 1), cpio.Info{Name: "b", Mode: cpio.S_IFREG | 0o644, Ino: 9, NLink: 2})
	e.m.Budget = 4
	r := e.fs.Unpack(e.m, archive(t, false, first, last))
	assert.NotEmpty(t, r.Err, "the data did not fit: %+v", r)
	assert.Equal(t, ENOSPC, r.Errno)
	fsck(t, e.fs, e.m)
}

func TestUnpackNameWithNUL(t *testing.T) {
	e := newEnv(t, 64)
	// as Linux reads it: the name ends at the first NUL
	r := e.fs.Unpack(e.m, archive(t, false, file("a\x00b", "x", 0o644, 1)))
	require.Empty(t, r.Err)
	assert.Equal(t, "x", e.readAll(e.ino("/a")))
	assert.Equal(t, []string{".", "..", "a"}, e.list(RootIno))
	fsck(t, e.fs, e.m)
}

func TestEmbeddedArchiveEmptyOnHost(t *testing.T) {
	assert.Empty(t, EmbeddedArchive(), "only the image build links an archive in")
}
