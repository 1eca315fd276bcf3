package fs

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tree makes:
//
//	/a/b/c (dir)   /a/f (file "data")   /top (file)
//	/a/lrel -> b   /a/labs -> /a/b   /a/lfile -> f   /a/dangle -> nowhere
//	/a/lup -> ../a/b/c   /a/self -> self   /a/ping -> pong -> ping
func tree(t *testing.T) (*env, map[string]Ino) {
	e := newEnv(t, 256)
	ids := map[string]Ino{"/": RootIno}
	ids["a"] = e.mkdir("/a")
	ids["b"] = e.mkdir("/a/b")
	ids["c"] = e.mkdir("/a/b/c")
	ids["f"] = e.create("/a/f", "data")
	ids["top"] = e.create("/top", "")
	ids["lrel"] = e.symlink("/a/lrel", "b")
	ids["labs"] = e.symlink("/a/labs", "/a/b")
	ids["lfile"] = e.symlink("/a/lfile", "f")
	ids["dangle"] = e.symlink("/a/dangle", "nowhere")
	ids["lup"] = e.symlink("/a/lup", "../a/b/c")
	ids["self"] = e.symlink("/a/self", "self")
	ids["ping"] = e.symlink("/a/ping", "pong")
	ids["pong"] = e.symlink("/a/pong", "ping")
	ids["lroot"] = e.symlink("/a/lroot", "/")
	return e, ids
}

func TestResolve(t *testing.T) {
	e, id := tree(t)
	long := repeat("x", NameMax+1)
	tests := []struct {
		path   string
		start  string // "" = root
		follow bool
		ino    string // expected Found.Ino ("" = none)
		dir    string // expected Found.Dir ("" = 0)
		name   string
		slash  bool
		err    Errno
	}{
		{path: "/", ino: "/", name: "."},
		{path: "///", ino: "/", name: "."},
		{path: "/a", ino: "a", dir: "/", name: "a"},
		{path: "a", start: "/", ino: "a", dir: "/", name: "a"},
		{path: "b/c", start: "a", ino: "c", dir: "b", name: "c"},
		{path: ".", start: "b", ino: "b", name: "."},
		{path: "..", start: "b", ino: "a", name: ".."},
		{path: "/..", ino: "/", name: ".."},
		{path: "/../../a", ino: "a", dir: "/", name: "a"},
		{path: "/a/./b/../b/c", ino: "c", dir: "b", name: "c"},
		{path: "//a///b//c", ino: "c", dir: "b", name: "c"},
		{path: "/a/b/", ino: "b", dir: "a", name: "b", slash: true},
		{path: "/a/b//", ino: "b", dir: "a", name: "b", slash: true},
		{path: "/a/f", ino: "f", dir: "a", name: "f"},
		{path: "/a/f/", err: ENOTDIR},
		{path: "/a/f/.", err: ENOTDIR},
		{path: "/a/f/x", err: ENOTDIR},
		{path: "/a/f/x/y", err: ENOTDIR},
		{path: "/a/new", dir: "a", name: "new"},
		{path: "/a/new/", dir: "a", name: "new", slash: true},
		{path: "/a/missing/x", err: ENOENT},
		{path: "/a/missing/x/", err: ENOENT},
		{path: "", err: ENOENT},
		{path: "x", start: "f", err: ENOTDIR},
		// links in the middle are always followed
		{path: "/a/lrel/c", ino: "c", dir: "b", name: "c"},
		{path: "/a/labs/c", ino: "c", dir: "b", name: "c"},
		{path: "/a/lup/..", ino: "b", name: ".."},
		{path: "/a/lroot/a/f", ino: "f", dir: "a", name: "f"},
		{path: "/a/lfile/x", err: ENOTDIR},
		{path: "/a/dangle/x", err: ENOENT},
		// at the end: followed only when asked (or forced by a slash)
		{path: "/a/lrel", ino: "lrel", dir: "a", name: "lrel"},
		{path: "/a/lrel", follow: true, ino: "b", dir: "a", name: "b"},
		{path: "/a/lrel/", ino: "b", dir: "a", name: "b", slash: true},
		{path: "/a/labs", follow: true, ino: "b", dir: "a", name: "b"},
		{path: "/a/lup", follow: true, ino: "c", dir: "b", name: "c"},
		{path: "/a/lroot", follow: true, ino: "/", name: "."},
		{path: "/a/lfile", follow: true, ino: "f", dir: "a", name: "f"},
		{path: "/a/lfile/", err: ENOTDIR},
		{path: "/a/dangle", ino: "dangle", dir: "a", name: "dangle"},
		{path: "/a/dangle", follow: true, dir: "a", name: "nowhere"},
		{path: "/a/dangle/", dir: "a", name: "nowhere", slash: true},
		{path: "/a/self", ino: "self", dir: "a", name: "self"},
		{path: "/a/self", follow: true, err: ELOOP},
		{path: "/a/self/x", err: ELOOP},
		{path: "/a/ping", follow: true, err: ELOOP},
		{path: "/a/pong/", err: ELOOP},
		// names over NAME_MAX, wherever they are
		{path: "/" + long, err: ENAMETOOLONG},
		{path: "/a/" + long + "/x", err: ENAMETOOLONG},
		{path: "/" + repeat("y", NameMax), dir: "/", name: repeat("y", NameMax)},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s/from-%s/follow-%v", tc.path, tc.start, tc.follow), func(t *testing.T) {
			start := RootIno
			if tc.start != "" {
				start = id[tc.start]
			}
			f, err := e.resolve(start, tc.path, tc.follow)
			require.Equal(t, tc.err, err)
			if err != ok {
				return
			}
			want := Ino(0)
			if tc.ino != "" {
				want = id[tc.ino]
			}
			assert.Equal(t, want, f.Ino, "Ino")
			wantDir := Ino(0)
			if tc.dir != "" {
				wantDir = id[tc.dir]
			}
			assert.Equal(t, wantDir, f.Dir, "Dir")
			assert.Equal(t, tc.name, string(f.Name), "Name")
			assert.Equal(t, tc.slash, f.Slash, "Slash")
		})
	}
}

// TestResolveSymlinkLimit checks Linux's MAXSYMLINKS: a chain of 40 links
// resolves, 41 give ELOOP.
func TestResolveSymlinkLimit(t *testing.T) {
	e := newEnv(t, 256)
	target := e.create("/target", "x")
	// l0 -> l1 -> ... -> l40 -> target
	for i := 0; i <= 40; i++ {
		next := "target"
		if i < 40 {
			next = fmt.Sprintf("l%d", i+1)
		}
		e.symlink(fmt.Sprintf("/l%d", i), next)
	}
	f, err := e.resolve(RootIno, "/l1", true) // 40 links
	require.Equal(t, ok, err)
	assert.Equal(t, target, f.Ino)
	_, err = e.resolve(RootIno, "/l0", true) // 41 links
	assert.Equal(t, ELOOP, err)
	_, err = e.resolve(RootIno, "/l0/", false)
	assert.Equal(t, ELOOP, err)
	f, err = e.resolve(RootIno, "/l0", false) // not followed: the link itself
	require.Equal(t, ok, err)
	assert.Equal(t, "l0", string(f.Name))
}

// TestResolveLongTarget checks that a link whose target with the rest of
// the path overflows PATH_MAX fails cleanly.
func TestResolveLongTarget(t *testing.T) {
	e := newEnv(t, 256)
	e.mkdir("/d")
	name := repeat("n", 200)
	target := "/d/" + repeat(name+"/", 19) // 3 + 19*201 = 3822 bytes
	e.symlink("/long", target)
	_, err := e.resolve(RootIno, "/long/"+repeat("z", 250)+"/"+repeat("z", 250), false)
	assert.Equal(t, ENAMETOOLONG, err)
	_, err = e.resolve(RootIno, "/long/x", false) // fits: the first component is missing
	assert.Equal(t, ENOENT, err)
}

func TestResolveRemovedCwd(t *testing.T) {
	e := newEnv(t, 64)
	d := e.mkdir("/d")
	e.fs.Hold(d)
	require.Equal(t, ok, e.rmdir("/d"))
	f, err := e.resolve(d, "new", false) // the walk works; creating fails
	require.Equal(t, ok, err)
	_, err = e.fs.Create(e.m, f.Dir, f.Name, 0o100644, 0)
	assert.Equal(t, ENOENT, err)
	e.fs.Drop(e.m, d)
	e.empty()
}
