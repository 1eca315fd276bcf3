package qemu_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVirtioNetProbe boots hello with QEMU's user network on a modern
// virtio-net device: the kernel's driver goroutine must find it on the PCI
// bus, map its configuration through /dev/mem, negotiate virtio 1.x
// features and read the MAC address and link state QEMU gives it.
func TestVirtioNetProbe(t *testing.T) {
	img := filepath.Join(t.TempDir(), "hello.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/hello", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Net: "user", Timeout: 60 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Regexp(t, `pci 00:[0-9a-f]{2}\.0 1af4:1041 virtio-net .*msi-x`, string(res.KernelLog))
	assert.Regexp(t, `virtio-net 00:[0-9a-f]{2}\.0: MAC 52:54:00:12:34:56, link up, 3 queues, features 0x1000[0-9a-f]{5}`, string(res.KernelLog))
	assert.Contains(t, string(res.Output), "hello, world")
}
