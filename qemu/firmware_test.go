package qemu

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFirmwareChoice: qboot for -kernel boots on q35 and pc when QEMU has
// it; SeaBIOS for ISO boots, a display device, a PCI bridge, Options.BIOS =
// SeaBIOS or a QEMU without qboot; microvm's own; an explicit BIOS as
// given.
func TestFirmwareChoice(t *testing.T) {
	const rom = "/q/share/qemu/qboot.rom"
	withQboot(t, rom)
	for _, c := range []struct {
		name string
		o    Options
		want []string
	}{
		{"q35 default", Options{Image: "x"}, []string{"-bios", rom}},
		{"pc", Options{Image: "x", Machine: "pc"}, []string{"-bios", rom}},
		{"q35 with properties", Options{Image: "x", Machine: "q35,smm=off"}, []string{"-bios", rom}},
		{"microvm", Options{Image: "x", Machine: "microvm"}, nil},
		{"ISO", Options{ISO: "x.iso"}, nil},
		{"ISO under OVMF", Options{ISO: "x.iso", BIOS: "/fw/OVMF.fd"}, []string{"-bios", "/fw/OVMF.fd"}},
		{"SeaBIOS asked for", Options{Image: "x", BIOS: SeaBIOS}, nil},
		{"explicit file", Options{Image: "x", BIOS: "qboot.rom"}, []string{"-bios", "qboot.rom"}},
		{"VGA card", Options{Image: "x", Extra: []string{"-device", "VGA"}}, nil},
		{"bochs-display", Options{Image: "x", Extra: []string{"-device", "bochs-display,xres=800"}}, nil},
		{"-vga std", Options{Image: "x", Extra: []string{"-vga", "std"}}, nil},
		{"-vga none", Options{Image: "x", Extra: []string{"-vga", "none"}}, []string{"-bios", rom}},
		{"a NIC is no display", Options{Image: "x", Extra: []string{"-device", "e1000"}}, []string{"-bios", rom}},
		{"PCIe root port", Options{Image: "x", Extra: []string{"-device", "pcie-root-port,id=rp1,chassis=1"}}, nil},
		{"PCI bridge", Options{Image: "x", Extra: []string{"-device", "pci-bridge,chassis_nr=1"}}, nil},
	} {
		assert.Equal(t, c.want, c.o.withDefaults().firmwareArgs(), c.name)
	}
	args := Options{Image: "x"}.Args()
	assert.Equal(t, []string{"-bios", rom, "-kernel", "x"}, args[8:12], "before -kernel")

	assert.Equal(t, rom, Options{Image: "x"}.Firmware())
	assert.Equal(t, "SeaBIOS", Options{Image: "x", BIOS: SeaBIOS}.Firmware())
	assert.Equal(t, "qboot (microvm's bios-microvm.bin)", Options{Image: "x", Machine: "microvm"}.Firmware())

	withQboot(t, "")
	assert.Nil(t, Options{Image: "x"}.withDefaults().firmwareArgs(), "no qboot: SeaBIOS")
	assert.Equal(t, "SeaBIOS", Options{Image: "x"}.Firmware())
}

// TestFindQboot finds qboot.rom in the data directory beside the binary
// (its links resolved), notes once when that directory lacks it, and says
// nothing for a binary without one.
func TestFindQboot(t *testing.T) {
	root := t.TempDir()
	bin := filepath.Join(root, "prefix", "bin", "qemu-system-x86_64")
	require.NoError(t, os.MkdirAll(filepath.Dir(bin), 0o755))
	require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755))
	data := filepath.Join(root, "prefix", "share", "qemu")
	require.NoError(t, os.MkdirAll(data, 0o755))
	link := filepath.Join(root, "elsewhere", "qemu")
	require.NoError(t, os.MkdirAll(filepath.Dir(link), 0o755))
	require.NoError(t, os.Symlink(bin, link))

	var note bytes.Buffer
	assert.Equal(t, "", findQboot(link, &note), "no qboot.rom yet")
	assert.Contains(t, note.String(), data+" has no qboot.rom: booting with SeaBIOS")

	require.NoError(t, os.WriteFile(filepath.Join(data, "qboot.rom"), make([]byte, 64<<10), 0o644))
	note.Reset()
	assert.Equal(t, filepath.Join(data, "qboot.rom"), findQboot(link, &note), "through the link")
	assert.Equal(t, filepath.Join(data, "qboot.rom"), findQboot(bin, &note))
	assert.Empty(t, note.String())

	fakeBin := filepath.Join(root, "fake", "qemu")
	require.NoError(t, os.MkdirAll(filepath.Dir(fakeBin), 0o755))
	require.NoError(t, os.WriteFile(fakeBin, []byte("#!/bin/sh\n"), 0o755))
	assert.Equal(t, "", findQboot(fakeBin, &note))
	assert.Equal(t, "", findQboot(filepath.Join(root, "missing"), &note))
	assert.Empty(t, note.String(), "no data directory: no note")
}
