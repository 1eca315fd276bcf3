package pci

import (
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeFunc emulates one function's configuration space, BAR sizing
// included: a BAR register reads back its size mask after all ones are
// written.
type fakeFunc struct {
	regs    [64]uint32 // 256 bytes
	barMask [6]uint32  // the writable address bits of each BAR register
	probing [6]bool
}

type fakeBus map[Addr]*fakeFunc

func (b fakeBus) Read32(a Addr, off uint16) uint32 {
	f, ok := b[a]
	if !ok || off >= 256 {
		return 0xffffffff
	}
	if i := int(off-regBAR0) / 4; off >= regBAR0 && off < regBAR0+24 && f.probing[i] {
		return f.barMask[i] | f.regs[off/4]&0xf
	}
	return f.regs[off/4]
}

func (b fakeBus) Write32(a Addr, off uint16, v uint32) {
	f, ok := b[a]
	if !ok || off >= 256 {
		return
	}
	if i := int(off-regBAR0) / 4; off >= regBAR0 && off < regBAR0+24 {
		f.probing[i] = v == 0xffffffff
		if !f.probing[i] { // only the address bits take a value
			f.regs[off/4] = v&f.barMask[i] | f.regs[off/4]&^f.barMask[i]
		}
		return
	}
	f.regs[off/4] = v
}

// virtioNet builds a function like QEMU's modern virtio-net-pci: a 64-bit
// prefetchable memory BAR 4 (16 KiB), a 4 KiB MSI-X BAR 1, capabilities
// MSI-X -> vendor -> vendor.
func virtioNet() *fakeFunc {
	f := &fakeFunc{}
	f.regs[0] = 0x1041<<16 | 0x1af4
	f.regs[1] = statusCapList
	f.regs[2] = 0x02000001 // class 02 (network), subclass 00, rev 1
	f.regs[5] = 0xfebd1000 // BAR1: 32-bit memory
	f.barMask[1] = 0xfffff000
	f.regs[8] = 0xfe000000 | 0xc // BAR4: 64-bit prefetchable
	f.barMask[4] = 0xffffc000
	f.regs[9] = 0x00000001 // BAR5: upper half
	f.barMask[5] = 0xffffffff
	f.regs[regCapPtr/4] = 0x98
	f.regs[0x98/4] = 0x84<<8 | CapMSIX
	f.regs[0x84/4] = 0x70<<8 | CapVendor
	f.regs[0x70/4] = 0x00<<8 | CapVendor
	f.regs[regInterrupt/4] = 11
	return f
}

func TestProbeVirtioNet(t *testing.T) {
	bus := fakeBus{{0, 2, 0}: virtioNet()}
	var d Device
	require.True(t, Probe(bus, Addr{0, 2, 0}, &d))
	assert.Equal(t, uint16(0x1af4), d.Vendor)
	assert.Equal(t, uint16(0x1041), d.DeviceID)
	assert.Equal(t, uint8(2), d.Class)
	assert.Equal(t, BAR{Addr: 0xfebd1000, Size: 4096}, d.BARs[1])
	assert.Equal(t, BAR{Addr: 0x1fe000000, Size: 16384, Is64: true, Prefetchable: true}, d.BARs[4])
	assert.Equal(t, BAR{}, d.BARs[5], "the upper half is not a BAR of its own")
	assert.Equal(t, []Cap{{CapMSIX, 0x98}, {CapVendor, 0x84}, {CapVendor, 0x70}}, d.Caps[:d.NCaps])
	assert.Equal(t, uint16(0x98), d.Cap(CapMSIX))
	assert.Equal(t, uint16(0), d.Cap(CapMSI))
	assert.Equal(t, uint8(11), d.IRQLine)
	assert.Equal(t, uint32(0xfebd1000), bus[Addr{0, 2, 0}].regs[5], "BARs restored after sizing")
}

func TestDecodeBARIO(t *testing.T) {
	assert.Equal(t, BAR{Addr: 0xc040, Size: 32, IO: true}, DecodeBAR(0xc041, 0xffffffe1, 0, 0))
	assert.Equal(t, BAR{}, DecodeBAR(0, 0, 0, 0), "unimplemented BAR")
}

func TestCapabilityLoopIsBounded(t *testing.T) {
	f := virtioNet()
	f.regs[0x70/4] = 0x98<<8 | CapVendor // back to the first: a loop
	var d Device
	require.True(t, Probe(fakeBus{{0, 3, 0}: f}, Addr{0, 3, 0}, &d))
	assert.Equal(t, MaxCaps, d.NCaps)
}

func TestEnumerateMultifunction(t *testing.T) {
	host := &fakeFunc{}
	host.regs[0] = 0x29c0<<16 | 0x8086
	host.regs[3] = headerMulti << 16
	fn1 := &fakeFunc{}
	fn1.regs[0] = 0x2918<<16 | 0x8086
	single := &fakeFunc{}
	single.regs[0] = 0x1234<<16 | 0x1111
	hidden := &fakeFunc{} // fn 1 of a single-function device: never probed
	hidden.regs[0] = 0x5678<<16 | 0x2222
	bus := fakeBus{{0, 0, 0}: host, {0, 0, 1}: fn1, {0, 5, 0}: single, {0, 5, 1}: hidden, {0, 6, 0}: virtioNet()}
	var b Bus
	Enumerate(bus, 0, 0, &b)
	require.Equal(t, 4, b.N)
	assert.Equal(t, Addr{0, 0, 1}, b.Devices[1].Addr)
	assert.Equal(t, Addr{0, 6, 0}, b.Devices[3].Addr)
	assert.False(t, b.Overflow)
}

// TestECAMAddressing checks the ECAM layout on a window that is only page
// aligned, as a /dev/mem mapping in the program is: function (bus, dev, fn)
// register off lives at Base + (bus-StartBus)<<20 + dev<<15 + fn<<12 + off.
func TestECAMAddressing(t *testing.T) {
	mem := make([]byte, 2<<20+4096)
	win := mem[4096-uintptr(unsafe.Pointer(&mem[0]))%4096:]
	e := &ECAM{Base: uintptr(unsafe.Pointer(&win[0])), StartBus: 4, EndBus: 5}
	e.Write32(Addr{Bus: 5, Dev: 3, Fn: 2}, 0x10, 0xdeadbeef)
	off := 1<<20 + 3<<15 + 2<<12 + 0x10
	assert.Equal(t, []byte{0xef, 0xbe, 0xad, 0xde}, win[off:off+4])
	assert.Equal(t, uint32(0xdeadbeef), e.Read32(Addr{Bus: 5, Dev: 3, Fn: 2}, 0x10))
	assert.Equal(t, uint32(0xffffffff), e.Read32(Addr{Bus: 6}, 0), "a bus outside the window reads as absent")
	assert.Equal(t, uint32(0xffffffff), e.Read32(Addr{Bus: 3}, 0))
}

// TestEnumerateTree follows bridges: bus 0 has a bridge to bus 3, which
// has a bridge to bus 7; a device on bus 9, which no bridge leads to, is
// not probed, and buses without bridges are never touched.
func TestEnumerateTree(t *testing.T) {
	bridge := func(sec uint8) *fakeFunc {
		f := &fakeFunc{}
		f.regs[0] = 0x0001<<16 | 0x1b36
		f.regs[3] = headerTypeBridge << 16
		f.regs[regBusNumbers/4] = uint32(sec)<<8 | 0xff<<16
		return f
	}
	leaf := &fakeFunc{}
	leaf.regs[0] = 0x1041<<16 | 0x1af4
	stray := &fakeFunc{}
	stray.regs[0] = 0x1111<<16 | 0x2222
	bus := fakeBus{{0, 1, 0}: bridge(3), {3, 0, 0}: bridge(7), {7, 2, 0}: leaf, {9, 0, 0}: stray}
	touched := map[uint8]bool{}
	var b Bus
	EnumerateTree(recorder{bus, touched}, 0, &b)
	require.Equal(t, 3, b.N)
	assert.Equal(t, Addr{7, 2, 0}, b.Devices[2].Addr)
	assert.Equal(t, map[uint8]bool{0: true, 3: true, 7: true}, touched)
}

// recorder notes which buses a scan reads.
type recorder struct {
	fakeBus
	buses map[uint8]bool
}

func (r recorder) Read32(a Addr, off uint16) uint32 {
	r.buses[a.Bus] = true
	return r.fakeBus.Read32(a, off)
}

// TestDescribe names functions as the boot log does: virtio by device ID,
// the rest by class, "" for a class without a name.
func TestDescribe(t *testing.T) {
	for _, c := range []struct {
		vendor, device uint16
		class          uint8
		want           string
	}{
		{0x1af4, 0x1000, 0x02, "virtio-net"},
		{0x1af4, 0x1041, 0x02, "virtio-net"},
		{0x1af4, 0x1042, 0x01, "virtio-blk"},
		{0x1af4, 0x1003, 0x07, "virtio"},
		{0x8086, 0x2922, 0x01, "storage"},
		{0x8086, 0x10d3, 0x02, "network"},
		{0x1234, 0x1111, 0x03, "display"},
		{0x8086, 0x29c0, 0x06, "bridge"},
		{0x8086, 0x2930, 0x0c, "serial-bus"},
		{0x8086, 0x2918, 0x08, ""},
	} {
		d := Device{Vendor: c.vendor, DeviceID: c.device, Class: c.class}
		assert.Equal(t, c.want, Describe(&d), "%04x:%04x class %#x", c.vendor, c.device, c.class)
	}
}
