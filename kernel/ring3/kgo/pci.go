package kgo

import (
	"strings"

	"github.com/gometal/gometal/drivers/pci"
)

// pciBus is what the scan found; drivers pick their devices from it.
var pciBus pci.Bus

// scanPCI enumerates bus 0 and the buses behind its bridges (through
// ECAM, or configuration mechanism #1: see ConfigSpace) and logs each
// function.
func scanPCI() {
	pci.EnumerateTree(ConfigSpace(), 0, &pciBus)
	logf("pci: configuration space through %s", configHow)
	for i := 0; i < pciBus.N; i++ {
		d := &pciBus.Devices[i]
		var b strings.Builder
		for j, bar := range d.BARs {
			if bar.Size == 0 {
				continue
			}
			kind := "mem"
			if bar.IO {
				kind = "io"
			}
			b.WriteString(" bar" + string(rune('0'+j)) + "=" + kind + ":" + hex(bar.Addr) + "+" + hex(bar.Size))
		}
		if d.Cap(pci.CapMSIX) != 0 {
			b.WriteString(" msi-x")
		}
		logf("pci %02x:%02x.%d %04x:%04x %s%s", d.Addr.Bus, d.Addr.Dev, d.Addr.Fn, d.Vendor, d.DeviceID, describe(d), b.String())
	}
	if pciBus.Overflow {
		logf("pci: more than %d functions; the rest are ignored", pci.MaxDevices)
	}
}

func hex(v uint64) string {
	const digits = "0123456789abcdef"
	if v == 0 {
		return "0x0"
	}
	var b [18]byte
	i := len(b)
	for v != 0 {
		i--
		b[i] = digits[v&15]
		v >>= 4
	}
	return "0x" + string(b[i:])
}

// describe names a function by its class, or by what it is for virtio.
func describe(d *pci.Device) string {
	if d.Vendor == 0x1af4 {
		switch d.DeviceID {
		case 0x1000, 0x1041:
			return "virtio-net"
		case 0x1001, 0x1042:
			return "virtio-blk"
		}
		return "virtio"
	}
	switch d.Class {
	case 0x01:
		return "storage"
	case 0x02:
		return "network"
	case 0x03:
		return "display"
	case 0x06:
		return "bridge"
	case 0x0c:
		return "serial-bus"
	}
	return "class " + hex(uint64(d.Class))
}
