package qemu_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/gometal/gometal/tools/iso"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// initrdFixture is what the initramfs boot tests share: a boot module (a
// small cpio newc archive) and the host files an image embeds.
type initrdFixture struct {
	root, dir string
	initrd    string   // the boot module's path
	initrdLen int      // its size
	files     []string // image.BuildOptions.Files
	embedded  int      // the size of the archive they make
}

// newInitrdFixture writes the boot module and the files to embed.
func newInitrdFixture(t *testing.T) initrdFixture {
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	f := initrdFixture{root: root, dir: t.TempDir()}
	host := filepath.Join(f.dir, "host")
	require.NoError(t, os.MkdirAll(filepath.Join(host, "etc"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(host, "etc", "motd"), []byte("from the image\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(f.dir, "module.txt"), []byte("from a boot module, not a multiple of 4 bytes\n"), 0o644))

	module, err := image.FilesArchive([]string{filepath.Join(f.dir, "module.txt") + ":/etc/module.txt"})
	require.NoError(t, err)
	f.initrd, f.initrdLen = filepath.Join(f.dir, "initrd.cpio"), len(module)
	require.NoError(t, os.WriteFile(f.initrd, module, 0o644))

	f.files = []string{host}
	embedded, err := image.FilesArchive(f.files)
	require.NoError(t, err)
	f.embedded = len(embedded)
	return f
}

// build builds examples/hello for the boot protocol, with the fixture's
// files embedded if embed.
func (f initrdFixture) build(t *testing.T, boot string, embed bool) string {
	out := filepath.Join(f.dir, "hello-"+boot+".img")
	o := image.BuildOptions{Pkg: "./examples/hello", Dir: f.root, Out: out, Boot: boot}
	if embed {
		o.Files = f.files
	}
	_, err := image.Build(t.Context(), o)
	require.NoError(t, err, "image build")
	return out
}

// run boots o and checks that hello ran and that the kernel logged the
// boot module with its exact size.
func (f initrdFixture) run(t *testing.T, o qemu.Options, protocol string) *qemu.Result {
	o.Mem = "64M"
	res, err := qemu.Run(t.Context(), o)
	if res != nil {
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("kernel log:\n%s", res.KernelLog)
			}
		})
	}
	require.NoError(t, err)
	log := string(res.KernelLog)
	assert.Contains(t, log, "[gometal] booting: "+protocol+",")
	assert.Regexp(t, fmt.Sprintf(`\[gometal\] initramfs module 0: %d bytes at 0x[0-9a-f]{16}\r?\n`, f.initrdLen), log)
	assert.NotContains(t, log, "initramfs module 1:")
	assert.Contains(t, string(res.Output), "hello, world")
	assert.Equal(t, 0, res.ExitCode)
	return res
}

// TestBootInitrd boots examples/hello with a boot module (QEMU's -initrd)
// through multiboot (the module list of the multiboot information), from
// an image that also embeds files (gometal build --files), and through
// PVH (hvm_start_info's module list), from an image without: the kernel
// logs each source with its exact size.
func TestBootInitrd(t *testing.T) {
	f := newInitrdFixture(t)
	t.Run("multiboot", func(t *testing.T) {
		img := f.build(t, image.BootBoth, true)
		res := f.run(t, qemu.Options{Image: img, Initrd: f.initrd}, "multiboot")
		assert.Regexp(t, fmt.Sprintf(`\[gometal\] initramfs: %d bytes embedded in the image\r?\n`, f.embedded), string(res.KernelLog))
	})
	t.Run("pvh", func(t *testing.T) {
		img := f.build(t, image.BootPVH, false)
		res := f.run(t, qemu.Options{Image: img, Initrd: f.initrd}, "PVH")
		assert.NotContains(t, string(res.KernelLog), "embedded in the image", "no files embedded")
	})
}

// TestBootISOInitrd boots a GRUB ISO whose grub.cfg loads a boot module
// (module2): the multiboot2 module tag. Like TestBootISO it needs
// grub-mkrescue and its helpers (make deps-iso).
func TestBootISOInitrd(t *testing.T) {
	missing := iso.Missing()
	require.Empty(t, missing, "%s", iso.MissingMessage(missing))
	f := newInitrdFixture(t)
	img := f.build(t, image.BootMultiboot, false)
	out := filepath.Join(f.dir, "hello.iso")
	require.NoError(t, iso.Build(t.Context(), iso.Options{Image: img, Out: out, Initrd: f.initrd}), "gometal iso")
	f.run(t, qemu.Options{ISO: out}, "multiboot2")
}

// TestBootInitrdFiles boots examples/files with its testdata embedded in
// the image and a boot module that replaces config.json: the program reads
// the module's version (a later archive overrides an earlier one) from its
// working directory (cwd=).
func TestBootInitrdFiles(t *testing.T) {
	f := newInitrdFixture(t)
	img := filepath.Join(f.dir, "files.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/files", Dir: f.root, Out: img,
		Files: []string{filepath.Join(f.root, "examples/files/testdata") + ":/srv/app"}})
	require.NoError(t, err, "image build")
	conf := filepath.Join(f.dir, "config.json")
	require.NoError(t, os.WriteFile(conf, []byte(`{"name": "from the module", "workers": 9}`), 0o644))
	module, err := image.FilesArchive([]string{conf + ":/srv/app/config.json"})
	require.NoError(t, err)
	initrd := filepath.Join(f.dir, "override.cpio")
	require.NoError(t, os.WriteFile(initrd, module, 0o644))

	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Initrd: initrd, Append: "cwd=/srv/app"})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode, "kernel log:\n%s", res.KernelLog)
	assert.Contains(t, string(res.Output), "config: {Name:from the module Listen: Workers:9 Tags:[]}\n")
	assert.Contains(t, string(res.Output), "conf.d/10-debug.conf: \"debug = true\\n\"\n", "the embedded files are still there")
	assert.Contains(t, string(res.KernelLog), "working directory /srv/app")
}

// TestBootInitrdMalformed boots with boot modules that are not cpio
// archives, or are cut short: the kernel names the problem and its byte
// offset, and stops with a panic report instead of starting the program
// without its files.
func TestBootInitrdMalformed(t *testing.T) {
	f := newInitrdFixture(t)
	img := f.build(t, image.BootBoth, false)
	good, err := os.ReadFile(f.initrd)
	require.NoError(t, err)
	for _, c := range []struct{ name, data, want string }{
		{"garbage", strings.Repeat("this is not an archive, just text\n", 8), "is malformed at byte 0: not a cpio newc header"},
		{"truncated", string(good[:60]), "is malformed at byte 0: archive ends inside an entry header"},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(f.dir, c.name+".cpio")
			require.NoError(t, os.WriteFile(path, []byte(c.data), 0o644))
			res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Initrd: path, Mem: "64M"})
			require.Error(t, err)
			require.NotNil(t, res)
			assert.True(t, res.Panic, "a panic report")
			assert.Contains(t, string(res.KernelLog), "initramfs: a boot module (-initrd) "+c.want)
			assert.NotContains(t, string(res.Output), "hello, world", "the program must not start")
		})
	}
}
