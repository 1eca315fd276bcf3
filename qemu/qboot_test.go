package qemu_test

import (
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/image"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestQbootAssignsBARs boots examples/netprobe under QEMU's qboot
// firmware, which assigns no PCI BARs, on q35 and on pc with two CPUs, a
// virtio-net NIC and the virtio console: the kernel must give the NIC's
// and the console's BARs addresses (the boot log says so, and lists them
// non-zero), the console must carry the program's output and the kernel
// log, and the NIC must move data both ways with the host.
func TestQbootAssignsBARs(t *testing.T) {
	img := filepath.Join(t.TempDir(), "netprobe.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/netprobe", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	for _, machine := range []string{qemu.MachineQ35, qemu.MachinePC} {
		t.Run(machine, func(t *testing.T) {
			port, got := netprobeServer(t)
			res, err := qemu.Run(t.Context(), qemu.Options{
				Image: img, Machine: machine, BIOS: "qboot.rom", SMP: 2,
				Net: "user", VirtioConsole: true, Timeout: 90 * time.Second,
				Append: "slice=1ms nonet -- 10.0.2.2:" + strconv.Itoa(port),
			})
			require.NoError(t, err)
			log, out := string(res.KernelLog), string(res.Output)
			t.Logf("kernel log:\n%s\noutput:\n%s", log, out)
			assert.Equal(t, 0, res.ExitCode)
			assert.Regexp(t, `pci: the firmware left \d+ BARs unassigned; the kernel assigned \d+ in memory \[0xc0000000, 0xfec00000\)`, log)
			m := regexp.MustCompile(`pci 00:..\.0 1af4:1041 virtio-net bar1=mem:(0x[0-9a-f]+)\+0x1000 bar4=mem:(0x[0-9a-f]+)\+0x4000 msi-x`).FindStringSubmatch(log)
			require.NotNil(t, m, "the NIC's line")
			for _, a := range m[1:] {
				v, err := strconv.ParseUint(a[2:], 16, 64)
				require.NoError(t, err)
				assert.True(t, v >= 0xc0000000 && v < 0xfec00000, "BAR at %s: in the window", a)
			}
			assert.Regexp(t, `pci 00:..\.0 1af4:1003 virtio bar0=io:0xc[0-9a-f]+\+0x40 bar1=mem:0xc[0-9a-f]+\+0x1000 bar4=mem:0xc[0-9a-f]+\+0x4000 msi-x`, log, "the console's line")
			assert.NotContains(t, log, "left unassigned")
			assert.Contains(t, log, "virtio console: ports 1 2 3 4")
			select {
			case s := <-got:
				assert.Equal(t, `"hello from gometal\n" 131072 bytes ok`, s)
			default:
				t.Error("the host server got no connection")
			}
			assert.Contains(t, out, "reply: hello, gometal: got 131072 bytes ok\n", "through the virtio console's stdout port")
			assert.Contains(t, out, "received: 262144 bytes, pattern ok\n")
		})
	}
	// SeaBIOS assigns every BAR itself: the kernel writes none and says
	// nothing about it.
	t.Run("seabios", func(t *testing.T) {
		res, err := qemu.Run(t.Context(), qemu.Options{
			Image: img, BIOS: qemu.SeaBIOS, Net: "user", VirtioConsole: true, Timeout: 90 * time.Second,
			Append: "slice=1ms nonet -- 10.0.2.2:1",
		})
		require.NoError(t, err)
		log := string(res.KernelLog)
		assert.NotContains(t, log, "BARs unassigned", log)
		assert.Regexp(t, `pci 00:..\.0 1af4:1041 virtio-net bar1=mem:0xfe[0-9a-f]+\+0x1000 bar4=mem:0xfe[0-9a-f]+\+0x4000 msi-x`, log, "SeaBIOS's addresses")
		assert.Contains(t, log, "virtio console: ports 1 2 3 4")
	})
}

// TestQbootBARNoRoom boots examples/hello under qboot with an ivshmem
// device whose 1 GiB BAR cannot fit the kernel's window below the I/O APIC
// ([0xc0000000, 0xfec00000) is 1004 MiB): the boot log must name that BAR
// as left unassigned, its small register BAR must still be placed, and
// the program must run to its end.
func TestQbootBARNoRoom(t *testing.T) {
	img := filepath.Join(t.TempDir(), "hello.img")
	_, err := image.Build(t.Context(), image.BuildOptions{Pkg: "./examples/hello", Out: img, Dir: mustRoot(t)})
	require.NoError(t, err)
	res, err := qemu.Run(t.Context(), qemu.Options{
		Image: img, BIOS: "qboot.rom", Timeout: 60 * time.Second,
		Extra: []string{"-object", "memory-backend-ram,id=shm,size=1G", "-device", "ivshmem-plain,memdev=shm"},
	})
	require.NoError(t, err)
	log := string(res.KernelLog)
	assert.Equal(t, 0, res.ExitCode, log)
	assert.Regexp(t, `pci 00:..\.0 1af4:1110 virtio bar0=mem:0xc[0-9a-f]+\+0x100 bar2=mem:0x0\+0x40000000`, log)
	assert.Regexp(t, `pci 00:..\.0: bar2 \(mem, 0x40000000 bytes\) left unassigned: no room left in the window`, log)
	assert.Contains(t, string(res.Output), "hello, world\n")
}
