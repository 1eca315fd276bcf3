package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/u-root/u-root/pkg/cpio"
)

// fakeModules writes a module tree as DebianKernel.Modules leaves it in
// the cache next to vmlinuz.
func fakeModules(t *testing.T, dir string) {
	rel := filepath.Join(dir, "modules-virtio_pci+virtio_net", "lib", "modules", "6.1.0-test-amd64")
	dep := `kernel/drivers/virtio/virtio.ko:
kernel/drivers/virtio/virtio_ring.ko:
kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
kernel/drivers/net/virtio_net.ko: kernel/drivers/virtio/virtio_ring.ko kernel/drivers/virtio/virtio.ko
`
	for _, line := range strings.Split(strings.TrimSpace(dep), "\n") {
		mod, _, _ := strings.Cut(line, ":")
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(rel, mod)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(rel, mod), []byte("module "+mod), 0o644))
	}
	require.NoError(t, os.WriteFile(filepath.Join(rel, "modules.dep"), []byte(dep), 0o644))
}

func TestModulesFromCache(t *testing.T) {
	dir := t.TempDir()
	fakeModules(t, dir)
	k := DebianKernel{Package: "linux-image-test", Vmlinuz: filepath.Join(dir, "vmlinuz")}
	m, err := k.Modules(t.Context(), NetModules)
	require.NoError(t, err, "a cached tree needs no .deb")
	assert.Equal(t, "6.1.0-test-amd64", m.Release)
	assert.Equal(t, []string{
		"kernel/drivers/virtio/virtio.ko", "kernel/drivers/virtio/virtio_ring.ko",
		"kernel/drivers/virtio/virtio_pci.ko", "kernel/drivers/net/virtio_net.ko",
	}, m.Order)

	// A tree that lacks a module is not used; without a .deb that is an error.
	require.NoError(t, os.Remove(filepath.Join(m.Root, "lib/modules/6.1.0-test-amd64/kernel/drivers/virtio/virtio.ko")))
	_, err = k.Modules(t.Context(), NetModules)
	assert.ErrorContains(t, err, "no .deb")
}

func TestWriteNetInitramfs(t *testing.T) {
	dir := t.TempDir()
	fakeModules(t, dir)
	m, err := readModules(filepath.Join(dir, "modules-virtio_pci+virtio_net"), NetModules)
	require.NoError(t, err)
	initBin, server := filepath.Join(dir, "netinit"), filepath.Join(dir, "httpd")
	require.NoError(t, os.WriteFile(initBin, []byte("init"), 0o755))
	require.NoError(t, os.WriteFile(server, []byte("server"), 0o755))
	img := filepath.Join(dir, "net.cpio")
	require.NoError(t, WriteNetInitramfs(img, initBin, server, m))

	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	rr, err := cpio.Newc.NewFileReader(f)
	require.NoError(t, err)
	recs, err := cpio.ReadAllRecords(rr)
	require.NoError(t, err)
	byName := map[string]cpio.Record{}
	for _, r := range recs {
		byName[r.Name] = r
	}
	for _, name := range []string{"dev/console", "dev/port", "proc", "init", ServerPath,
		"lib", "lib/modules", "lib/modules/6.1.0-test-amd64", "lib/modules/6.1.0-test-amd64/modules.dep",
		"lib/modules/6.1.0-test-amd64/kernel/drivers/net/virtio_net.ko"} {
		assert.Contains(t, byName, name)
	}
	assert.Equal(t, uint64(cpio.S_IFREG|0o755), byName[ServerPath].Mode)
	assert.Equal(t, uint64(cpio.S_IFDIR|0o755), byName["lib/modules"].Mode)
	// Every directory comes before what it holds.
	seen := map[string]bool{}
	for _, r := range recs {
		if d := filepath.Dir(r.Name); d != "." {
			assert.True(t, seen[d], "%s comes before its directory", r.Name)
		}
		seen[r.Name] = true
	}
}
