package virtio

import (
	"fmt"

	"github.com/gometal/gometal/drivers/pci"
)

// Modern PCI transport capability types (virtio_pci_cap.cfg_type, spec
// 4.1.4).
const (
	CapCommon = 1
	CapNotify = 2
	CapISR    = 3
	CapDevice = 4
	CapPCI    = 5
)

// Region is where one configuration structure lies: in BAR Bar, at Offset,
// Length bytes.
type Region struct {
	Bar    uint8
	Offset uint32
	Length uint32
}

// Caps are the configuration structures of a modern virtio function.
type Caps struct {
	Common, Notify, ISR, Device Region
	// NotifyMultiplier scales a queue's notify offset in the notify region.
	NotifyMultiplier uint32
	// Found has bit 1<<type set for each structure found.
	Found uint32
}

// ReadCaps reads the vendor capabilities of d (already probed through cs)
// and returns the first structure of each type, as the spec asks drivers
// to prefer. The common, notify and device structures are required; each
// must lie inside a memory BAR of d.
func ReadCaps(cs pci.ConfigSpace, d *pci.Device) (Caps, error) {
	var c Caps
	for _, pc := range d.Caps[:d.NCaps] {
		if pc.ID != pci.CapVendor {
			continue
		}
		typ := uint8(cs.Read32(d.Addr, pc.Off) >> 24)
		r := Region{
			Bar:    uint8(cs.Read32(d.Addr, pc.Off+4)),
			Offset: cs.Read32(d.Addr, pc.Off+8),
			Length: cs.Read32(d.Addr, pc.Off+12),
		}
		if typ < CapCommon || typ > CapDevice || c.Found&(1<<typ) != 0 {
			continue
		}
		if r.Bar > 5 {
			continue // reserved BAR numbers: skip, as the spec says
		}
		b := d.BARs[r.Bar]
		if b.Size == 0 || b.IO || uint64(r.Offset)+uint64(r.Length) > b.Size {
			return Caps{}, fmt.Errorf("virtio: capability type %d points outside memory BAR %d", typ, r.Bar)
		}
		switch typ {
		case CapCommon:
			c.Common = r
		case CapNotify:
			c.Notify = r
			c.NotifyMultiplier = cs.Read32(d.Addr, pc.Off+16)
		case CapISR:
			c.ISR = r
		case CapDevice:
			c.Device = r
		}
		c.Found |= 1 << typ
	}
	for _, typ := range []uint8{CapCommon, CapNotify, CapDevice} {
		if c.Found&(1<<typ) == 0 {
			return Caps{}, fmt.Errorf("virtio: no capability of type %d (not a modern virtio device)", typ)
		}
	}
	return c, nil
}

// Notifier writes queue notifications into the mapped notify region.
type Notifier struct {
	b          []byte
	multiplier uint32
}

// NewNotifier wraps the mapped notify region b.
func NewNotifier(b []byte, multiplier uint32) Notifier { return Notifier{b, multiplier} }

// Offset is where queue notifications for a queue whose queue_notify_off
// is off go, or an error if that is outside the region.
func (n Notifier) Offset(off uint16) (int, error) {
	at := uint64(off) * uint64(n.multiplier)
	if at+2 > uint64(len(n.b)) {
		return 0, fmt.Errorf("virtio: notify offset %d x %d outside the %d-byte region", off, n.multiplier, len(n.b))
	}
	return int(at), nil
}

// Notify tells the device that queue q (whose notification address is at
// offset at, from Offset) has new buffers.
func (n Notifier) Notify(at int, q uint16) { write16(n.b, at, q) }

// ISR reads (and so clears) the ISR status byte; with MSI-X the driver
// does not need it.
func ISR(b []byte) uint8 { return read8(b, 0) }

// DeviceConfig runs read, which reads fields of the device-specific
// configuration, until the configuration generation is the same before
// and after it: the fields then form a consistent snapshot (spec
// 4.1.4.3.1).
func DeviceConfig(c CommonCfg, read func()) {
	for {
		g := c.ConfigGeneration()
		read()
		if c.ConfigGeneration() == g {
			return
		}
	}
}

// Read8 and Read16 read a register of the mapped device-specific
// configuration b.
func Read8(b []byte, off int) uint8   { return read8(b, off) }
func Read16(b []byte, off int) uint16 { return read16(b, off) }
