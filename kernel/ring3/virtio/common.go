package virtio

import (
	"fmt"
	"time"
)

// Offsets in struct virtio_pci_common_cfg (spec 4.1.4.3).
const (
	ccDeviceFeatureSelect = 0x00
	ccDeviceFeature       = 0x04
	ccDriverFeatureSelect = 0x08
	ccDriverFeature       = 0x0c
	ccConfigMSIXVector    = 0x10
	ccNumQueues           = 0x12
	ccDeviceStatus        = 0x14
	ccConfigGeneration    = 0x15
	ccQueueSelect         = 0x16
	ccQueueSize           = 0x18
	ccQueueMSIXVector     = 0x1a
	ccQueueEnable         = 0x1c
	ccQueueNotifyOff      = 0x1e
	ccQueueDesc           = 0x20
	ccQueueDriver         = 0x28
	ccQueueDevice         = 0x30

	// CommonCfgSize is the size of the registers this package uses.
	CommonCfgSize = 0x38
)

// CommonCfg is the common configuration structure of a modern virtio PCI
// function, mapped as a []byte (little-endian registers). The queue
// registers act on the queue chosen by SelectQueue. One goroutine at a
// time may use it.
type CommonCfg struct{ b []byte }

// NewCommonCfg wraps the mapped structure b.
func NewCommonCfg(b []byte) (CommonCfg, error) {
	if len(b) < CommonCfgSize {
		return CommonCfg{}, fmt.Errorf("virtio: common configuration of %d bytes, want %d", len(b), CommonCfgSize)
	}
	return CommonCfg{b}, nil
}

// DeviceFeatures reads the 64 feature bits the device offers.
func (c CommonCfg) DeviceFeatures() uint64 {
	var f uint64
	for sel := uint32(0); sel < 2; sel++ {
		write32(c.b, ccDeviceFeatureSelect, sel)
		f |= uint64(read32(c.b, ccDeviceFeature)) << (32 * sel)
	}
	return f
}

// SetDriverFeatures writes the 64 feature bits the driver accepts.
func (c CommonCfg) SetDriverFeatures(f uint64) {
	for sel := uint32(0); sel < 2; sel++ {
		write32(c.b, ccDriverFeatureSelect, sel)
		write32(c.b, ccDriverFeature, uint32(f>>(32*sel)))
	}
}

// Status reads the device status.
func (c CommonCfg) Status() uint8 { return read8(c.b, ccDeviceStatus) }

// SetStatus writes the device status (0 resets the device).
func (c CommonCfg) SetStatus(s uint8) { write8(c.b, ccDeviceStatus, s) }

// ConfigGeneration reads the configuration generation counter.
func (c CommonCfg) ConfigGeneration() uint8 { return read8(c.b, ccConfigGeneration) }

// NumQueues reads how many virtqueues the device has.
func (c CommonCfg) NumQueues() uint16 { return read16(c.b, ccNumQueues) }

// SetConfigMSIXVector asks for configuration-change interrupts on MSI-X
// table entry v and returns what the device kept (NoVector: rejected).
func (c CommonCfg) SetConfigMSIXVector(v uint16) uint16 {
	write16(c.b, ccConfigMSIXVector, v)
	return read16(c.b, ccConfigMSIXVector)
}

// SelectQueue chooses the queue the queue registers act on.
func (c CommonCfg) SelectQueue(q uint16) { write16(c.b, ccQueueSelect, q) }

// QueueSize reads the selected queue's size (its maximum until the driver
// writes a smaller one; 0: the queue does not exist).
func (c CommonCfg) QueueSize() uint16 { return read16(c.b, ccQueueSize) }

// SetQueueSize writes the selected queue's size.
func (c CommonCfg) SetQueueSize(n uint16) { write16(c.b, ccQueueSize, n) }

// SetQueueMSIXVector asks for the selected queue's interrupts on MSI-X
// table entry v and returns what the device kept (NoVector: rejected).
func (c CommonCfg) SetQueueMSIXVector(v uint16) uint16 {
	write16(c.b, ccQueueMSIXVector, v)
	return read16(c.b, ccQueueMSIXVector)
}

// QueueNotifyOff reads the selected queue's offset, in units of the
// notify capability's multiplier, in the notification area.
func (c CommonCfg) QueueNotifyOff() uint16 { return read16(c.b, ccQueueNotifyOff) }

// SetQueueAddrs writes the physical addresses of the selected queue's
// descriptor table, driver (available) area and device (used) area, as
// pairs of 32-bit writes (spec 4.1.3.1).
func (c CommonCfg) SetQueueAddrs(desc, driver, device uint64) {
	for _, r := range []struct {
		off int
		v   uint64
	}{{ccQueueDesc, desc}, {ccQueueDriver, driver}, {ccQueueDevice, device}} {
		write32(c.b, r.off, uint32(r.v))
		write32(c.b, r.off+4, uint32(r.v>>32))
	}
}

// EnableQueue marks the selected queue ready for the device.
func (c CommonCfg) EnableQueue() { write16(c.b, ccQueueEnable, 1) }

// QueueEnabled reads the selected queue's enable register.
func (c CommonCfg) QueueEnabled() bool { return read16(c.b, ccQueueEnable) == 1 }

// Reset writes 0 to the status and waits (up to a second) until the
// device reads back 0, as the spec requires before reinitialising it.
func (c CommonCfg) Reset() error {
	c.SetStatus(0)
	for i := 0; c.Status() != 0; i++ {
		if i == 1000 {
			return ErrNoReset
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// Negotiate runs the start of device initialisation (spec 3.1.1): reset,
// ACKNOWLEDGE, DRIVER, read the offered features, accept those of want
// the device offers, FEATURES_OK, and check that the device kept
// FEATURES_OK. VIRTIO_F_VERSION_1 is required. It returns the features
// offered and those accepted. On failure it sets FAILED (except when the
// reset itself fails).
func (c CommonCfg) Negotiate(want uint64) (offered, accepted uint64, err error) {
	return negotiate(c, want)
}

// transport is what negotiate needs of a transport.
type transport interface {
	Reset() error
	Status() uint8
	SetStatus(uint8)
	DeviceFeatures() uint64
	SetDriverFeatures(uint64)
	Fail()
}

// negotiate runs Negotiate on either transport.
func negotiate(c transport, want uint64) (offered, accepted uint64, err error) {
	if err := c.Reset(); err != nil {
		return 0, 0, err
	}
	c.SetStatus(StatusAcknowledge)
	c.SetStatus(StatusAcknowledge | StatusDriver)
	offered = c.DeviceFeatures()
	if offered&FeatureVersion1 == 0 {
		c.Fail()
		return offered, 0, ErrNotVersion1
	}
	accepted = offered & (want | FeatureVersion1)
	c.SetDriverFeatures(accepted)
	c.SetStatus(StatusAcknowledge | StatusDriver | StatusFeaturesOK)
	if c.Status()&StatusFeaturesOK == 0 {
		c.Fail()
		return offered, 0, ErrFeatures
	}
	return offered, accepted, nil
}

// Fail adds FAILED to the device status: the driver gave up on the device.
func (c CommonCfg) Fail() { c.SetStatus(c.Status() | StatusFailed) }
