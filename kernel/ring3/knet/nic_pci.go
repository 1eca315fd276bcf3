package knet

import (
	"errors"
	"fmt"
	"github.com/gometal/gometal/kernel/ring3/kgo"

	"github.com/gometal/gometal/drivers/pci"
	"github.com/gometal/gometal/kernel/ring3/virtio"
	"golang.org/x/sys/unix"
)

// Finding the virtio-net function on the PCI bus and mapping the BARs its
// configuration structures and MSI-X table live in through /dev/mem.

// errNoDevice is OpenNIC's error when there is no virtio-net function.
var errNoDevice = errors.New("no virtio-net device (vendor 1af4, device 1041, or 1000 with modern capabilities)")

// findVirtioNet enumerates the PCI bus and returns the first virtio-net
// function with the modern transport's capabilities.
func findVirtioNet() (*pci.Device, virtio.Caps, error) {
	var bus pci.Bus
	pci.EnumerateTree(kgo.ConfigSpace(), 0, &bus)
	for i := 0; i < bus.N; i++ {
		d := &bus.Devices[i]
		if d.Vendor != 0x1af4 || d.DeviceID != 0x1041 && d.DeviceID != 0x1000 {
			continue
		}
		caps, err := virtio.ReadCaps(kgo.ConfigSpace(), d)
		if err != nil {
			if d.DeviceID == 0x1000 {
				continue // a legacy-only transitional device
			}
			return nil, virtio.Caps{}, fmt.Errorf("virtio-net %s: %w", addrString(d.Addr), err)
		}
		dev := *d
		return &dev, caps, nil
	}
	return nil, virtio.Caps{}, errNoDevice
}

func addrString(a pci.Addr) string { return fmt.Sprintf("%02x:%02x.%d", a.Bus, a.Dev, a.Fn) }

// barMaps maps each BAR of one function at most once.
type barMaps struct {
	mem  int // the /dev/mem descriptor
	dev  *pci.Device
	bars [6][]byte
}

// region returns the mapped bytes [off, off+n) of BAR bar.
func (m *barMaps) region(bar uint8, off, n uint64) ([]byte, error) {
	if bar > 5 {
		return nil, fmt.Errorf("BAR %d does not exist", bar)
	}
	b := m.dev.BARs[bar]
	if b.Size == 0 || b.IO || off+n > b.Size {
		return nil, fmt.Errorf("[%#x, %#x) is not inside memory BAR %d", off, off+n, bar)
	}
	if m.bars[bar] == nil {
		// Map whole pages: a BAR smaller than a page still starts on one
		// (mapping the rest of that page is harmless: we touch only the BAR).
		start := b.Addr &^ 0xfff
		size := (b.Addr + b.Size - start + 0xfff) &^ 0xfff
		mm, err := unix.Mmap(m.mem, int64(start), int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
		if err != nil {
			return nil, fmt.Errorf("map BAR %d: %w", bar, err)
		}
		m.bars[bar] = mm[b.Addr-start:]
	}
	return m.bars[bar][off : off+n : off+n], nil
}

// virtioRegion maps one configuration structure.
func (m *barMaps) virtioRegion(r virtio.Region) ([]byte, error) {
	return m.region(r.Bar, uint64(r.Offset), uint64(r.Length))
}
