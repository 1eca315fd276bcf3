package iso

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestConfig(t *testing.T) {
	cfg := Config("FOO=bar  GOMAXPROCS=1 -- -flag it's")
	assert.Contains(t, cfg, "set timeout=0\n")
	assert.Contains(t, cfg, "\tmultiboot2 /boot/kernel.img FOO=bar GOMAXPROCS=1 -- -flag 'it'\\''s'\n\tboot\n")
	assert.Contains(t, Config(""), "\tmultiboot2 /boot/kernel.img\n")
	assert.Contains(t, Config("A=b", InitrdPath), "\tmultiboot2 /boot/kernel.img A=b\n\tmodule2 /boot/initrd.cpio\n\tboot\n")
	assert.Equal(t, `'$x;y'`, quote("$x;y"))
	assert.Equal(t, "plain=word", quote("plain=word"))
}

func TestMissing(t *testing.T) {
	old := GRUBDir
	GRUBDir = t.TempDir()
	defer func() { GRUBDir = old }()
	var pkgs []string
	for _, r := range Missing() {
		pkgs = append(pkgs, r.Package)
	}
	assert.Subset(t, pkgs, []string{"grub-pc-bin", "grub-efi-amd64-bin"})
	msg := MissingMessage([]Requirement{{"xorriso", "xorriso"}, {"mformat", "mtools"}})
	assert.Contains(t, msg, "xorriso (package xorriso), mformat (package mtools)")
	assert.Contains(t, msg, "apt-get install -y xorriso mtools")
	assert.Contains(t, msg, "make deps-iso")
}

// TestBuild builds an ISO around examples/hello. It needs the tools: with
// one missing it fails, naming the Debian package.
func TestBuild(t *testing.T) {
	missing := Missing()
	require.Empty(t, missing, "%s", MissingMessage(missing))
	root, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	dir := t.TempDir()
	ctx := context.Background()
	for _, boot := range []string{image.BootBoth, image.BootPVH} {
		_, err := image.Build(ctx, image.BuildOptions{
			Pkg: "./examples/hello", Dir: root, Out: filepath.Join(dir, boot+".img"), Boot: boot,
		})
		require.NoError(t, err)
	}

	out := filepath.Join(dir, "hello.iso")
	require.NoError(t, Build(ctx, Options{Image: filepath.Join(dir, "both.img"), Out: out, Append: "A=b -- x"}))
	iso, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, []byte("CD001"), iso[0x8001:0x8006], "an ISO 9660 volume descriptor")
	assert.Equal(t, []byte{0x55, 0xaa}, iso[510:512], "a hybrid ISO has an MBR")
	assert.True(t, bytes.Contains(iso, []byte(Config("A=b -- x"))), "grub.cfg is in the ISO")

	err = Build(ctx, Options{Image: filepath.Join(dir, "pvh.img"), Out: out})
	assert.ErrorContains(t, err, "no multiboot2 header")
	assert.ErrorContains(t, Build(ctx, Options{Image: filepath.Join(dir, "none.img"), Out: out}), "none.img")
	assert.Error(t, Build(ctx, Options{Out: out}))
}
