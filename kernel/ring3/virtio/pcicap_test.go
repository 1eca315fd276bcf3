package virtio

import (
	"testing"

	"github.com/gometal/gometal/drivers/pci"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeConfig is one function's configuration space as dwords.
type fakeConfig map[uint16]uint32

func (f fakeConfig) Read32(_ pci.Addr, off uint16) uint32     { return f[off] }
func (f fakeConfig) Write32(_ pci.Addr, off uint16, v uint32) { f[off] = v }

// vendorCap writes a virtio_pci_cap at off.
func (f fakeConfig) vendorCap(off uint16, typ, bar uint8, offset, length uint32) pci.Cap {
	f[off] = uint32(typ)<<24 | 16<<16 | pci.CapVendor
	f[off+4] = uint32(bar)
	f[off+8] = offset
	f[off+12] = length
	return pci.Cap{ID: pci.CapVendor, Off: off}
}

// qemuLike is laid out as QEMU's modern virtio-net-pci: everything in
// 16 KiB BAR 4, MSI-X in BAR 1.
func qemuLike() (fakeConfig, *pci.Device) {
	f := fakeConfig{}
	d := &pci.Device{Vendor: 0x1af4, DeviceID: 0x1041}
	d.BARs[1] = pci.BAR{Addr: 0xfebc0000, Size: 0x1000}
	d.BARs[4] = pci.BAR{Addr: 0xfebfc000, Size: 0x4000, Is64: true}
	d.Caps[0] = pci.Cap{ID: pci.CapMSIX, Off: 0x98}
	d.Caps[1] = f.vendorCap(0x84, CapPCI, 0, 0, 0)
	d.Caps[2] = f.vendorCap(0x70, CapNotify, 4, 0x3000, 0x1000)
	f[0x70+16] = 4
	d.Caps[3] = f.vendorCap(0x60, CapDevice, 4, 0x2000, 0x1000)
	d.Caps[4] = f.vendorCap(0x50, CapISR, 4, 0x1000, 0x1000)
	d.Caps[5] = f.vendorCap(0x40, CapCommon, 4, 0, 0x1000)
	d.Caps[6] = f.vendorCap(0xa0, CapCommon, 4, 0x800, 0x100) // a second one: ignored
	d.NCaps = 7
	return f, d
}

func TestReadCaps(t *testing.T) {
	f, d := qemuLike()
	c, err := ReadCaps(f, d)
	require.NoError(t, err)
	assert.Equal(t, Region{4, 0, 0x1000}, c.Common)
	assert.Equal(t, Region{4, 0x3000, 0x1000}, c.Notify)
	assert.Equal(t, Region{4, 0x1000, 0x1000}, c.ISR)
	assert.Equal(t, Region{4, 0x2000, 0x1000}, c.Device)
	assert.Equal(t, uint32(4), c.NotifyMultiplier)
	assert.Equal(t, uint32(1<<CapCommon|1<<CapNotify|1<<CapISR|1<<CapDevice), c.Found)

	f[0x60+8] = 0x3800 // the device configuration runs past the BAR
	_, err = ReadCaps(f, d)
	assert.Error(t, err)

	f, d = qemuLike()
	d.NCaps = 3 // no device or common configuration: a legacy device
	_, err = ReadCaps(f, d)
	assert.Error(t, err)
}

func TestNotifier(t *testing.T) {
	b := make([]byte, 16)
	n := NewNotifier(b, 4)
	at, err := n.Offset(1)
	require.NoError(t, err)
	assert.Equal(t, 4, at)
	n.Notify(at, 1)
	assert.Equal(t, []byte{0, 0, 0, 0, 1, 0}, b[:6])
	_, err = n.Offset(7) // 28 + 2 > 16
	assert.Error(t, err)
}
