package image

import (
	"bytes"
	"context"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/u-root/u-root/pkg/cpio"
)

// mtime is the modification time the test trees get.
var mtime = time.Unix(1700000000, 0)

// writeTree creates files (path relative to dir: content) with mode perm
// and the test mtime.
func writeTree(t *testing.T, dir string, perm os.FileMode, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), perm))
		require.NoError(t, os.Chmod(p, perm)) // whatever the umask
		require.NoError(t, os.Chtimes(p, mtime, mtime))
	}
}

// readArchive reads a newc archive back: the records in order, each with
// its data.
func readArchive(t *testing.T, b []byte) ([]cpio.Info, map[string]string) {
	t.Helper()
	recs, err := cpio.ReadAllRecords(cpio.Newc.Reader(bytes.NewReader(b)))
	require.NoError(t, err)
	var infos []cpio.Info
	data := map[string]string{}
	for _, r := range recs {
		infos = append(infos, r.Info)
		if r.ReaderAt != nil {
			d, err := io.ReadAll(io.NewSectionReader(r.ReaderAt, 0, int64(r.FileSize)))
			require.NoError(t, err)
			data[r.Name] = string(d)
		}
	}
	return infos, data
}

func TestParseFileSpec(t *testing.T) {
	s, err := ParseFileSpec("rootfs")
	require.NoError(t, err)
	assert.Equal(t, FileSpec{Host: "rootfs", Guest: "/"}, s)
	s, err = ParseFileSpec("a/b.txt:/etc//x/../b.txt")
	require.NoError(t, err)
	assert.Equal(t, FileSpec{Host: "a/b.txt", Guest: "/etc/b.txt"}, s)
	s, err = ParseFileSpec("a:/with:colon")
	require.NoError(t, err)
	assert.Equal(t, FileSpec{Host: "a", Guest: "/with:colon"}, s, "split at the first colon")
	for _, bad := range []string{"", ":/x", "a:", "a:rel/x", "a:/x\x00"} {
		_, err := ParseFileSpec(bad)
		assert.Error(t, err, "%q", bad)
	}
}

// TestFilesArchive builds an archive from a root directory, a single file
// at a deep guest path and a directory at a guest path, and reads it back.
func TestFilesArchive(t *testing.T) {
	tmp := t.TempDir()
	root := filepath.Join(tmp, "root")
	writeTree(t, root, 0o644, map[string]string{"etc/hosts": "127.0.0.1 localhost\n", "empty": ""})
	writeTree(t, root, 0o755, map[string]string{"bin/tool": "#!tool\n"})
	require.NoError(t, os.Symlink("etc/hosts", filepath.Join(root, "hosts")))
	require.NoError(t, os.Mkdir(filepath.Join(root, "private"), 0o700))
	require.NoError(t, os.Chmod(filepath.Join(root, "private"), os.ModeSticky|0o700))
	writeTree(t, tmp, 0o600, map[string]string{"config.json": "{}", "srv/data/a.txt": "A"})
	for _, d := range []string{"root", "root/etc", "root/bin", "root/private", "srv", "srv/data"} {
		require.NoError(t, os.Chtimes(filepath.Join(tmp, d), mtime, mtime))
	}

	files := []string{
		root,
		filepath.Join(tmp, "config.json") + ":/opt/app/config.json",
		filepath.Join(tmp, "srv") + ":/srv/",
		root + "/etc/hosts:/etc/hosts", // the same host file again: fine
	}
	b, err := FilesArchive(files)
	require.NoError(t, err)
	again, err := FilesArchive(files)
	require.NoError(t, err)
	assert.Equal(t, b, again, "deterministic")

	infos, data := readArchive(t, b)
	var names []string
	modes := map[string]uint64{}
	for _, i := range infos {
		names = append(names, i.Name)
		modes[i.Name] = i.Mode
		assert.Zero(t, i.UID, i.Name)
		assert.Zero(t, i.GID, i.Name)
		if i.Name != "opt" && i.Name != "opt/app" && i.Name != "hosts" { // made-up parents; a link has its own mtime
			assert.EqualValues(t, mtime.Unix(), i.MTime, "mtime of %s", i.Name)
		}
	}
	assert.Equal(t, []string{
		"bin", "bin/tool", "empty", "etc", "etc/hosts", "hosts",
		"opt", "opt/app", "opt/app/config.json", "private",
		"srv", "srv/data", "srv/data/a.txt",
	}, names, "sorted, parents first, no record for the root")
	assert.True(t, bytes.HasSuffix(bytes.TrimRight(b, "\x00"), []byte(cpio.Trailer)), "ends with the trailer")
	assert.Equal(t, map[string]uint64{
		"bin": cpio.S_IFDIR | 0o755, "bin/tool": cpio.S_IFREG | 0o755,
		"empty": cpio.S_IFREG | 0o644, "etc": cpio.S_IFDIR | 0o755,
		"etc/hosts": cpio.S_IFREG | 0o644, "hosts": cpio.S_IFLNK | 0o777,
		"opt": cpio.S_IFDIR | 0o755, "opt/app": cpio.S_IFDIR | 0o755,
		"opt/app/config.json": cpio.S_IFREG | 0o600, "private": cpio.S_IFDIR | 0o1700,
		"srv": cpio.S_IFDIR | 0o755, "srv/data": cpio.S_IFDIR | 0o755,
		"srv/data/a.txt": cpio.S_IFREG | 0o600,
	}, modes)
	assert.Equal(t, "127.0.0.1 localhost\n", data["etc/hosts"])
	assert.Equal(t, "#!tool\n", data["bin/tool"])
	assert.Equal(t, "", data["empty"])
	assert.Equal(t, "etc/hosts", data["hosts"], "a symbolic link's data is its target")
	assert.Equal(t, "{}", data["opt/app/config.json"])
	assert.Equal(t, "A", data["srv/data/a.txt"])
	assert.Zero(t, infos[6].MTime, "a made-up parent has mtime 0")
}

// TestFilesArchiveMerge: two directories that both hold etc/ merge; a
// symbolic link given as HOST is followed.
func TestFilesArchiveMerge(t *testing.T) {
	tmp := t.TempDir()
	writeTree(t, filepath.Join(tmp, "a"), 0o644, map[string]string{"etc/a": "a"})
	writeTree(t, filepath.Join(tmp, "b"), 0o644, map[string]string{"etc/b": "b", "f": "file"})
	require.NoError(t, os.Symlink(filepath.Join(tmp, "b", "f"), filepath.Join(tmp, "link")))
	b, err := FilesArchive([]string{filepath.Join(tmp, "a"), filepath.Join(tmp, "b"), filepath.Join(tmp, "link") + ":/x"})
	require.NoError(t, err)
	infos, data := readArchive(t, b)
	var names []string
	for _, i := range infos {
		names = append(names, i.Name)
	}
	assert.Equal(t, []string{"etc", "etc/a", "etc/b", "f", "x"}, names)
	assert.Equal(t, "file", data["x"], "HOST itself is followed")
	assert.EqualValues(t, cpio.S_IFREG|0o644, infos[4].Mode)
}

// TestFilesArchiveErrors: bad specs are rejected with an error naming them.
func TestFilesArchiveErrors(t *testing.T) {
	tmp := t.TempDir()
	writeTree(t, tmp, 0o644, map[string]string{"a.txt": "a", "b.txt": "b", "d/x": "x"})
	require.NoError(t, syscall.Mkfifo(filepath.Join(tmp, "d", "fifo"), 0o644))
	a, b := filepath.Join(tmp, "a.txt"), filepath.Join(tmp, "b.txt")
	for _, tc := range []struct {
		name  string
		files []string
		want  string
	}{
		{"missing host path", []string{filepath.Join(tmp, "nope") + ":/x"}, "no such file"},
		{"missing directory", []string{filepath.Join(tmp, "nope")}, "no such file"},
		{"relative guest", []string{a + ":x"}, "not absolute"},
		{"empty spec", []string{""}, "no host path"},
		{"same guest path, different files", []string{a + ":/x", b + ":/x"}, "comes from both"},
		{"file and directory at one guest path", []string{a + ":/d", tmp + ":/"}, "comes from both"},
		{"file as a parent", []string{a + ":/x", b + ":/x/y"}, "needs /x to be a directory"},
		{"file as the root", []string{a}, "not a directory"},
		{"unsupported file type", []string{filepath.Join(tmp, "d") + ":/d"}, "unsupported file type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FilesArchive(tc.files)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestOverlaySourceFiles(t *testing.T) {
	src := overlaySource("main", EmbeddedArchiveSymbol, KernelPackage)
	assert.Contains(t, src, "package main\n\nimport _ \""+KernelPackage+"\"\nimport _ \"embed\"\nimport _ \"unsafe\"\n")
	assert.Contains(t, src, "//go:embed zz_gometal_files.cpio\n"+
		"//go:linkname gometalFiles github.com/gometal/gometal/kernel/fs.embeddedArchive\n"+
		"var gometalFiles string\n")
	assert.NotContains(t, overlaySource("main", "", KernelPackage), "embed")
}

// TestOverlaySourceNetAndFiles: with the network stack and a files
// archive both (a test image whose tests import net), every import comes
// before the first declaration, each once, and the file parses.
func TestOverlaySourceNetAndFiles(t *testing.T) {
	src := overlaySource("bufio_test", EmbeddedArchiveSymbol, KernelPackage, NetPackage)
	f, err := parser.ParseFile(token.NewFileSet(), "zz.go", src, parser.ParseComments)
	require.NoError(t, err, src)
	var paths []string
	for _, imp := range f.Imports {
		paths = append(paths, imp.Path.Value)
	}
	assert.Equal(t, []string{strconv.Quote(KernelPackage), strconv.Quote(NetPackage), `"unsafe"`, `"embed"`}, paths)
	assert.Equal(t, "bufio_test", f.Name.Name)
	assert.Contains(t, src, "var gometalFiles string\n")
	assert.Contains(t, src, "gometalknet.SetExitHookAdder(")
}

// TestBuildFiles builds the stand-in with an embedded archive: the
// archive's bytes are in the image and its string variable is linked. A
// bad spec fails before the go command runs.
func TestBuildFiles(t *testing.T) {
	tmp := t.TempDir()
	writeTree(t, tmp, 0o644, map[string]string{"motd": "embedded-file-marker\n"})
	files := []string{filepath.Join(tmp, "motd") + ":/etc/motd"}
	archive, err := FilesArchive(files)
	require.NoError(t, err)

	out := filepath.Join(tmp, "hello.elf")
	_, err = build(context.Background(), BuildOptions{Pkg: "./hello", Dir: stubRoot(t), Out: out, Files: files}, stubTarget(t))
	require.NoError(t, err)
	img, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.True(t, bytes.Contains(img, archive), "the archive is in the image")
	assert.NotZero(t, symbolAddr(t, debugOf(t, out), stubKernel+".embeddedArchive"))
	assert.NoFileExists(t, filepath.Join(stubRoot(t), "hello", FilesArchiveFile), "the source tree is untouched")

	// A test binary: the archive goes into the package under test.
	testBin := filepath.Join(tmp, "lib.test")
	_, err = build(context.Background(), BuildOptions{Pkg: "./lib", Dir: stubRoot(t), Out: testBin, Test: true, Files: files}, stubTarget(t))
	require.NoError(t, err)
	img, err = os.ReadFile(testBin)
	require.NoError(t, err)
	assert.True(t, bytes.Contains(img, archive), "the archive is in the test binary")

	bad := filepath.Join(tmp, "bad.elf")
	_, err = build(context.Background(), BuildOptions{Pkg: "./hello", Dir: stubRoot(t), Out: bad, Files: []string{"x:relative"}}, stubTarget(t))
	require.ErrorContains(t, err, "not absolute")
	assert.NoFileExists(t, bad)
}
