package fs

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestOpen compares Open with open(2) on Linux (the expectations were
// checked against a tmpfs on Linux 6.18).
func TestOpen(t *testing.T) {
	const (
		rd   = unix.O_RDONLY
		wr   = unix.O_WRONLY
		rdwr = unix.O_RDWR
		cr   = unix.O_CREAT
		ex   = unix.O_EXCL
		tr   = unix.O_TRUNC
		dir  = unix.O_DIRECTORY
		nof  = unix.O_NOFOLLOW
		path = unix.O_PATH
	)
	tests := []struct {
		name    string
		path    string
		flags   int
		err     Errno
		created bool
		is      string // the path the result must be (resolved with follow)
		size    int64  // of the result, when a regular file
	}{
		{name: "existing file", path: "/f", flags: rd, is: "/f", size: 5},
		{name: "missing", path: "/nope", flags: rd, err: ENOENT},
		{name: "missing dir on the way", path: "/nope/x", flags: rd | cr, err: ENOENT},
		{name: "creat new", path: "/new", flags: wr | cr, created: true, is: "/new"},
		{name: "creat existing", path: "/f", flags: wr | cr, is: "/f", size: 5},
		{name: "creat excl existing", path: "/f", flags: wr | cr | ex, err: EEXIST},
		{name: "creat excl new", path: "/new", flags: wr | cr | ex, created: true, is: "/new"},
		{name: "creat excl dangling link", path: "/dangle", flags: wr | cr | ex, err: EEXIST},
		{name: "creat excl link to file", path: "/lf", flags: wr | cr | ex, err: EEXIST},
		{name: "creat through dangling link", path: "/dangle", flags: wr | cr, created: true, is: "/target"},
		{name: "creat through link to file", path: "/lf", flags: wr | cr, is: "/f", size: 5},
		{name: "trunc", path: "/f", flags: wr | tr, is: "/f", size: 0},
		{name: "trunc rdwr", path: "/f", flags: rdwr | tr, is: "/f", size: 0},
		{name: "trunc read-only truncates too", path: "/f", flags: rd | tr, is: "/f", size: 0},
		{name: "trunc through link", path: "/lf", flags: wr | tr, is: "/f", size: 0},
		{name: "directory flag on file", path: "/f", flags: rd | dir, err: ENOTDIR},
		{name: "directory flag on link to file", path: "/lf", flags: rd | dir, err: ENOTDIR},
		{name: "directory flag on dir", path: "/d", flags: rd | dir, is: "/d"},
		{name: "directory flag on link to dir", path: "/ld", flags: rd | dir, is: "/d"},
		{name: "dir read-only", path: "/d", flags: rd, is: "/d"},
		{name: "dir for writing", path: "/d", flags: wr, err: EISDIR},
		{name: "dir rdwr", path: "/d", flags: rdwr, err: EISDIR},
		{name: "dir trunc", path: "/d", flags: rd | tr, err: EISDIR},
		{name: "dir creat", path: "/d", flags: rd | cr, err: EISDIR},
		{name: "root creat", path: "/", flags: rd | cr, err: EISDIR},
		{name: "dotdot creat", path: "/d/..", flags: rd | cr, err: EISDIR},
		{name: "nofollow on link", path: "/lf", flags: rd | nof, err: ELOOP},
		{name: "nofollow creat on link", path: "/dangle", flags: wr | cr | nof, err: ELOOP},
		{name: "nofollow on file", path: "/f", flags: rd | nof, is: "/f", size: 5},
		{name: "nofollow link in the middle", path: "/ld/x", flags: rd | nof, is: "/d/x"},
		{name: "path nofollow on link", path: "/lf", flags: path | nof, is: "/lf"},
		{name: "path ignores write and creat", path: "/d", flags: path | wr | cr | tr, is: "/d"},
		{name: "creat trailing slash missing", path: "/new/", flags: wr | cr, err: EISDIR},
		{name: "creat trailing slash dir", path: "/d/", flags: rd | cr, err: EISDIR},
		{name: "creat trailing slash file", path: "/f/", flags: wr | cr, err: EISDIR},
		{name: "creat trailing slash dangling", path: "/dangle/", flags: wr | cr, err: EISDIR},
		{name: "creat excl trailing slash dir", path: "/d/", flags: rd | cr | ex, err: EISDIR},
		{name: "creat trailing slash under file", path: "/f/x/", flags: wr | cr, err: ENOTDIR},
		{name: "creat trailing slash under missing", path: "/nope/x/", flags: wr | cr, err: ENOENT},
		{name: "trailing slash file", path: "/f/", flags: rd, err: ENOTDIR},
		{name: "trailing slash dir", path: "/d/", flags: rd, is: "/d"},
		{name: "creat directory new", path: "/new", flags: rd | cr | dir, err: EINVAL},
		{name: "creat directory existing dir", path: "/d", flags: rd | cr | dir, err: EINVAL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, 64)
			e.create("/f", "hello")
			e.mkdir("/d")
			x := e.create("/d/x", "")
			e.symlink("/lf", "f")
			e.symlink("/ld", "d")
			e.symlink("/dangle", "target")
			before := e.fs.InodesUsed
			ino, created, err := e.fs.Open(e.m, RootIno, newPath(tc.path), tc.flags, 0o640)
			require.Equal(t, tc.err, err)
			if err != ok {
				assert.False(t, created)
				assert.Equal(t, before, e.fs.InodesUsed, "a failed open creates nothing")
				assert.Equal(t, int64(5), e.fs.Size(e.ino("/f")), "a failed open truncates nothing")
				return
			}
			assert.Equal(t, tc.created, created)
			want := x
			if tc.is != "/d/x" {
				f, err := e.resolve(RootIno, tc.is, tc.flags&unix.O_PATH == 0)
				require.Equal(t, ok, err)
				want = f.Ino
			}
			assert.Equal(t, want, ino)
			if created {
				st := e.stat(ino)
				assert.Equal(t, uint32(unix.S_IFREG|0o640), st.Mode)
				assert.Equal(t, uint32(1), st.Nlink)
				assert.Equal(t, before+1, e.fs.InodesUsed)
			}
			if e.fs.Mode(ino)&unix.S_IFMT == unix.S_IFREG {
				assert.Equal(t, tc.size, e.fs.Size(ino))
			}
		})
	}
}

func TestOpenTruncFreesPages(t *testing.T) {
	e := newEnv(t, 64)
	f := e.create("/f", repeat("z", 3*PageSize))
	assert.Equal(t, int64(3), e.fs.PagesHeld-1) // and the root's page
	_, _, err := e.fs.Open(e.m, RootIno, newPath("/f"), unix.O_WRONLY|unix.O_TRUNC, 0)
	require.Equal(t, ok, err)
	assert.Equal(t, int64(0), e.fs.Size(f))
	assert.Equal(t, int64(1), e.fs.PagesHeld)
	require.Equal(t, ok, e.unlink("/f"))
	e.empty()
}

func TestOpenCreateModeMasksType(t *testing.T) {
	e := newEnv(t, 64)
	ino, created, err := e.fs.Open(e.m, RootIno, newPath("/x"), unix.O_CREAT|unix.O_WRONLY, unix.S_IFDIR|0o4755)
	require.Equal(t, ok, err)
	assert.True(t, created)
	assert.Equal(t, uint32(unix.S_IFREG|0o4755), e.fs.Mode(ino))
}
