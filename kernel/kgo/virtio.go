package kgo

import (
	"encoding/binary"
	"fmt"
	"os"
	"time"
	"unsafe"

	"github.com/gometal/gometal/drivers/pci"
	"golang.org/x/sys/unix"
)

// The virtio 1.x modern PCI transport (virtio spec 1.2, 4.1): the device's
// vendor capabilities point into its BARs at the common configuration,
// the notification area, the ISR status and the device-specific
// configuration. This file finds and maps them and negotiates features;
// the virtqueues and the network driver on top are future work
// (docs/networking.md).

// Vendor capability types (virtio_pci_cap.cfg_type).
const (
	capCommon = 1
	capNotify = 2
	capISR    = 3
	capDevice = 4
)

// Common configuration registers (struct virtio_pci_common_cfg).
const (
	ccDeviceFeatureSelect = 0x00
	ccDeviceFeature       = 0x04
	ccDriverFeatureSelect = 0x08
	ccDriverFeature       = 0x0c
	ccNumQueues           = 0x12
	ccDeviceStatus        = 0x14
)

// Device status bits.
const (
	statusAcknowledge = 1
	statusDriver      = 2
	statusFeaturesOK  = 8
	statusFailed      = 128
)

// Feature bits.
const (
	featureVersion1  = 1 << 32
	netFeatureMAC    = 1 << 5
	netFeatureStatus = 1 << 16
)

// virtioDevice is a virtio function with its configuration structures
// mapped.
type virtioDevice struct {
	dev    *pci.Device
	common []byte // the common configuration
	device []byte // the device-specific configuration
}

// mapVirtio maps, through /dev/mem, the BARs that hold d's common and
// device-specific configuration.
func mapVirtio(d *pci.Device) (*virtioDevice, error) {
	mem, err := os.OpenFile("/dev/mem", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer mem.Close()
	raw, err := mem.SyscallConn()
	if err != nil {
		return nil, err
	}
	var fd int
	raw.Control(func(u uintptr) { fd = int(u) })
	pci.EnableMaster(pci.PortIO{}, d.Addr, true)
	bars := map[uint8][]byte{}
	v := &virtioDevice{dev: d}
	for _, c := range d.Caps[:d.NCaps] {
		if c.ID != pci.CapVendor {
			continue
		}
		w0 := pci.PortIO{}.Read32(d.Addr, c.Off)
		typ := uint8(w0 >> 24)
		bar := uint8(pci.PortIO{}.Read32(d.Addr, c.Off+4))
		off := pci.PortIO{}.Read32(d.Addr, c.Off+8)
		length := pci.PortIO{}.Read32(d.Addr, c.Off+12)
		if typ != capCommon && typ != capDevice {
			continue
		}
		if bar > 5 || d.BARs[bar].Size == 0 || d.BARs[bar].IO || uint64(off)+uint64(length) > d.BARs[bar].Size {
			return nil, fmt.Errorf("capability %d points outside BAR %d", typ, bar)
		}
		m, ok := bars[bar]
		if !ok {
			m, err = unix.Mmap(fd, int64(d.BARs[bar].Addr), int(d.BARs[bar].Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
			if err != nil {
				return nil, fmt.Errorf("map BAR %d: %w", bar, err)
			}
			bars[bar] = m
		}
		switch typ {
		case capCommon:
			v.common = m[off : off+length]
		case capDevice:
			v.device = m[off : off+length]
		}
	}
	if v.common == nil || v.device == nil {
		return nil, fmt.Errorf("no common or device configuration capability")
	}
	return v, nil
}

func (v *virtioDevice) r8(off int) uint8 { return *(*uint8)(unsafe.Pointer(&v.common[off])) }
func (v *virtioDevice) w8(off int, x uint8) {
	*(*uint8)(unsafe.Pointer(&v.common[off])) = x
}
func (v *virtioDevice) r32(off int) uint32 { return *(*uint32)(unsafe.Pointer(&v.common[off])) }
func (v *virtioDevice) w32(off int, x uint32) {
	*(*uint32)(unsafe.Pointer(&v.common[off])) = x
}

// negotiate resets the device and agrees on features: it accepts those of
// want that the device offers, and fails without VIRTIO_F_VERSION_1.
func (v *virtioDevice) negotiate(want uint64) (uint64, error) {
	v.w8(ccDeviceStatus, 0)
	for i := 0; v.r8(ccDeviceStatus) != 0; i++ {
		if i == 1000 {
			return 0, fmt.Errorf("device does not reset")
		}
		time.Sleep(time.Millisecond)
	}
	v.w8(ccDeviceStatus, statusAcknowledge)
	v.w8(ccDeviceStatus, statusAcknowledge|statusDriver)
	var offered uint64
	for sel := uint32(0); sel < 2; sel++ {
		v.w32(ccDeviceFeatureSelect, sel)
		offered |= uint64(v.r32(ccDeviceFeature)) << (32 * sel)
	}
	if offered&featureVersion1 == 0 {
		v.w8(ccDeviceStatus, statusFailed)
		return 0, fmt.Errorf("device is not virtio 1.x (features %#x)", offered)
	}
	got := offered & want
	for sel := uint32(0); sel < 2; sel++ {
		v.w32(ccDriverFeatureSelect, sel)
		v.w32(ccDriverFeature, uint32(got>>(32*sel)))
	}
	v.w8(ccDeviceStatus, statusAcknowledge|statusDriver|statusFeaturesOK)
	if v.r8(ccDeviceStatus)&statusFeaturesOK == 0 {
		v.w8(ccDeviceStatus, statusFailed)
		return 0, fmt.Errorf("device refused features %#x", got)
	}
	return got, nil
}

// probeVirtioNet finds virtio-net functions, negotiates their features and
// logs each one's MAC address and link state.
func probeVirtioNet() {
	for i := 0; i < pciBus.N; i++ {
		d := &pciBus.Devices[i]
		if d.Vendor != 0x1af4 || d.DeviceID != 0x1041 {
			continue
		}
		name := fmt.Sprintf("virtio-net %02x:%02x.%d", d.Addr.Bus, d.Addr.Dev, d.Addr.Fn)
		v, err := mapVirtio(d)
		if err != nil {
			logf("%s: %v: skipped", name, err)
			continue
		}
		feat, err := v.negotiate(featureVersion1 | netFeatureMAC | netFeatureStatus)
		if err != nil {
			logf("%s: %v: skipped", name, err)
			continue
		}
		mac := "unknown"
		if feat&netFeatureMAC != 0 {
			b := make([]byte, 6)
			for k := range b {
				b[k] = *(*byte)(unsafe.Pointer(&v.device[k]))
			}
			mac = fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
		}
		link := "unknown"
		if feat&netFeatureStatus != 0 {
			var s [2]byte
			s[0], s[1] = *(*byte)(unsafe.Pointer(&v.device[6])), *(*byte)(unsafe.Pointer(&v.device[7]))
			if binary.LittleEndian.Uint16(s[:])&1 != 0 {
				link = "up"
			} else {
				link = "down"
			}
		}
		nq := *(*uint16)(unsafe.Pointer(&v.common[ccNumQueues]))
		logf("%s: MAC %s, link %s, %d queues, features %#x (no driver yet: queues are future work)", name, mac, link, nq, feat)
	}
}
