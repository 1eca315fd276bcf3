package virtio

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"
	"unsafe"
)

// Register access on a mapped []byte. The functions are not inlined, so
// the compiler cannot merge or drop repeated accesses to the same register
// (a status poll); 32-bit accesses are atomic. The device mapping is
// uncached and x86 orders stores, so each access reaches the device in
// program order.

//go:noinline
func read8(b []byte, off int) uint8 { return *(*uint8)(unsafe.Pointer(&b[off])) }

//go:noinline
func write8(b []byte, off int, v uint8) { *(*uint8)(unsafe.Pointer(&b[off])) = v }

//go:noinline
func read16(b []byte, off int) uint16 {
	_ = b[off+1]
	return *(*uint16)(unsafe.Pointer(&b[off]))
}

//go:noinline
func write16(b []byte, off int, v uint16) {
	_ = b[off+1]
	*(*uint16)(unsafe.Pointer(&b[off])) = v
}

func read32(b []byte, off int) uint32 {
	_ = b[off+3]
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[off])))
}

func write32(b []byte, off int, v uint32) {
	_ = b[off+3]
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b[off])), v)
}

// The virtio-mmio transport (spec 4.2.2), version 2 only: its registers,
// mapped as a []byte. Every register is 32 bits wide and must be accessed
// so (QEMU ignores narrower accesses); the device-specific configuration
// from MMIOConfig on may be read in any width.
const (
	mmioMagicValue        = 0x000
	mmioVersion           = 0x004
	mmioDeviceID          = 0x008
	mmioVendorID          = 0x00c
	mmioDeviceFeatures    = 0x010
	mmioDeviceFeaturesSel = 0x014
	mmioDriverFeatures    = 0x020
	mmioDriverFeaturesSel = 0x024
	mmioQueueSel          = 0x030
	mmioQueueNumMax       = 0x034
	mmioQueueNum          = 0x038
	mmioQueueReady        = 0x044
	mmioQueueNotify       = 0x050
	mmioInterruptStatus   = 0x060
	mmioInterruptACK      = 0x064
	mmioStatus            = 0x070
	mmioQueueDescLow      = 0x080
	mmioQueueDriverLow    = 0x090
	mmioQueueDeviceLow    = 0x0a0
	mmioConfigGeneration  = 0x0fc

	// MMIOConfig is where the device-specific configuration starts.
	MMIOConfig = 0x100
	// MMIOMagic is MagicValue's value, "virt" in little-endian.
	MMIOMagic = 0x74726976
	// DeviceNet is the device ID of a network card.
	DeviceNet = 1
)

// Interrupt status bits of a virtio-mmio device.
const (
	MMIOUsedBuffer   = 1 << 0
	MMIOConfigChange = 1 << 1
)

// MMIO is one virtio-mmio device's registers. The queue registers act on
// the queue chosen by SelectQueue. One goroutine at a time may use it,
// except for Notify, InterruptStatus and AckInterrupt.
type MMIO struct{ b []byte }

// NewMMIO wraps the mapped register window b, checking the magic value
// and that the device speaks version 2 (virtio 1.x). A transport with no
// device behind it (device ID 0) is ErrNoDevice.
func NewMMIO(b []byte) (MMIO, error) {
	if len(b) < MMIOConfig {
		return MMIO{}, fmt.Errorf("virtio-mmio: register window of %d bytes, want at least %#x", len(b), MMIOConfig)
	}
	m := MMIO{b}
	if v := read32(b, mmioMagicValue); v != MMIOMagic {
		return MMIO{}, fmt.Errorf("virtio-mmio: magic value %#x, want %#x", v, MMIOMagic)
	}
	if m.DeviceID() == 0 {
		return MMIO{}, ErrNoDevice
	}
	if v := read32(b, mmioVersion); v != 2 {
		return MMIO{}, fmt.Errorf("virtio-mmio: version %d (legacy) not supported, want 2 (QEMU: -global virtio-mmio.force-legacy=false)", v)
	}
	return m, nil
}

// ErrNoDevice is NewMMIO's error for an empty transport.
var ErrNoDevice = errors.New("virtio-mmio: no device on this transport")

// DeviceID returns the device type (DeviceNet, ...); 0: none.
func (m MMIO) DeviceID() uint32 { return read32(m.b, mmioDeviceID) }

// DeviceFeatures reads the 64 feature bits the device offers.
func (m MMIO) DeviceFeatures() uint64 {
	var f uint64
	for sel := uint32(0); sel < 2; sel++ {
		write32(m.b, mmioDeviceFeaturesSel, sel)
		f |= uint64(read32(m.b, mmioDeviceFeatures)) << (32 * sel)
	}
	return f
}

// SetDriverFeatures writes the 64 feature bits the driver accepts.
func (m MMIO) SetDriverFeatures(f uint64) {
	for sel := uint32(0); sel < 2; sel++ {
		write32(m.b, mmioDriverFeaturesSel, sel)
		write32(m.b, mmioDriverFeatures, uint32(f>>(32*sel)))
	}
}

// Status reads the device status.
func (m MMIO) Status() uint8 { return uint8(read32(m.b, mmioStatus)) }

// SetStatus writes the device status (0 resets the device).
func (m MMIO) SetStatus(s uint8) { write32(m.b, mmioStatus, uint32(s)) }

// ConfigGeneration reads the configuration generation counter.
func (m MMIO) ConfigGeneration() uint32 { return read32(m.b, mmioConfigGeneration) }

// SelectQueue chooses the queue the queue registers act on.
func (m MMIO) SelectQueue(q uint16) { write32(m.b, mmioQueueSel, uint32(q)) }

// QueueSizeMax returns the selected queue's largest size; 0: no such queue.
func (m MMIO) QueueSizeMax() uint16 { return uint16(read32(m.b, mmioQueueNumMax)) }

// SetQueueSize sets the selected queue's size.
func (m MMIO) SetQueueSize(n uint16) { write32(m.b, mmioQueueNum, uint32(n)) }

// SetQueueAddrs writes the physical addresses of the selected queue's
// descriptor table, driver (available) ring and device (used) ring.
func (m MMIO) SetQueueAddrs(desc, driver, device uint64) {
	for i, a := range [3]uint64{desc, driver, device} {
		off := mmioQueueDescLow + 0x10*i
		write32(m.b, off, uint32(a))
		write32(m.b, off+4, uint32(a>>32))
	}
}

// EnableQueue marks the selected queue ready.
func (m MMIO) EnableQueue() { write32(m.b, mmioQueueReady, 1) }

// QueueEnabled reports whether the selected queue is ready.
func (m MMIO) QueueEnabled() bool { return read32(m.b, mmioQueueReady) == 1 }

// Notify tells the device that queue q has new buffers (at is unused: the
// transport has one notification register).
func (m MMIO) Notify(at int, q uint16) { write32(m.b, mmioQueueNotify, uint32(q)) }

// InterruptStatus reads why the device interrupted (MMIOUsedBuffer,
// MMIOConfigChange).
func (m MMIO) InterruptStatus() uint32 { return read32(m.b, mmioInterruptStatus) }

// AckInterrupt acknowledges the interrupt causes in v, which lowers a
// level-triggered line once all are acknowledged.
func (m MMIO) AckInterrupt(v uint32) { write32(m.b, mmioInterruptACK, v) }

// Config returns the device-specific configuration.
func (m MMIO) Config() []byte { return m.b[MMIOConfig:] }

// Reset writes 0 to the status and waits (up to a second) until the
// device reads back 0.
func (m MMIO) Reset() error {
	m.SetStatus(0)
	for i := 0; m.Status() != 0; i++ {
		if i == 1000 {
			return ErrNoReset
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// Negotiate is CommonCfg.Negotiate for the MMIO transport.
func (m MMIO) Negotiate(want uint64) (offered, accepted uint64, err error) {
	return negotiate(m, want)
}

// Fail adds FAILED to the device status.
func (m MMIO) Fail() { m.SetStatus(m.Status() | StatusFailed) }

// DeviceConfig runs read until the configuration generation is the same
// before and after it (spec 4.2.2).
func (m MMIO) DeviceConfig(read func()) {
	for {
		g := m.ConfigGeneration()
		read()
		if m.ConfigGeneration() == g {
			return
		}
	}
}
