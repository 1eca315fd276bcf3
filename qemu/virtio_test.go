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

// TestVirtioNetProbe boots examples/netprobe (which only opens the NIC
// when given no server) with QEMU's user network on a modern virtio-net
// device: the kernel's PCI scan must list it, and the driver (kernel/ring3/knet)
// must map its configuration through /dev/mem, negotiate virtio 1.x
// features, set up both queues with MSI-X vectors, reach DRIVER_OK and
// log the MAC address and link state QEMU gives it.
func TestVirtioNetProbe(t *testing.T) {
	img := filepath.Join(t.TempDir(), "netprobe.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/netprobe", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Net: "user", Append: "nonet", Timeout: 60 * time.Second})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
	assert.Regexp(t, `pci 00:[0-9a-f]{2}\.0 1af4:1041 virtio-net .*msi-x`, string(res.KernelLog))
	assert.Regexp(t, `virtio-net 00:[0-9a-f]{2}\.0: MAC 52:54:00:12:34:56, link up, 3 queues, features 0x1000[0-9a-f]{5} \(offered 0x[0-9a-f]+\), rx/tx 128/128 descriptors, MSI-X vectors 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+`, string(res.KernelLog))
	assert.Equal(t, "nic: MAC 52:54:00:12:34:56\n"+
		"stats: rx 0 packets 0 bytes, tx 0 packets 0 bytes, rx malformed 0, tx ring full 0, tx too long 0, device errors 0, interrupts rx 0 tx 0 config 0\n", string(res.Output))
}

// TestPCIECAM checks the configuration-space access: q35 has an MCFG, so
// the scan goes through ECAM and follows a PCIe root port to bus 1, where
// a second virtio-net function sits; the i440fx machine ("pc") has no
// MCFG, and the scan falls back to port 0xCF8.
func TestPCIECAM(t *testing.T) {
	img := filepath.Join(t.TempDir(), "hello.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/hello", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	res, err := qemu.Run(t.Context(), qemu.Options{Image: img, Timeout: 60 * time.Second, Extra: []string{
		"-device", "pcie-root-port,id=rp1,chassis=1",
		"-netdev", "user,id=n1", "-device", "virtio-net-pci,bus=rp1,disable-legacy=on,netdev=n1"}})
	require.NoError(t, err)
	log := string(res.KernelLog)
	assert.Contains(t, log, "pci: configuration space through ECAM at 0xb0000000")
	assert.Regexp(t, `pci 00:[0-9a-f]{2}\.0 1b36:000c bridge`, log)
	assert.Contains(t, log, "pci 01:00.0 1af4:1041 virtio-net")

	res, err = qemu.Run(t.Context(), qemu.Options{Image: img, Timeout: 60 * time.Second, Extra: []string{"-machine", "pc"}})
	require.NoError(t, err)
	assert.Contains(t, string(res.KernelLog), "pci: configuration space through port 0xCF8 (no MCFG table)")
	assert.Contains(t, string(res.KernelLog), "pci 00:00.0 8086:1237 bridge")
}
