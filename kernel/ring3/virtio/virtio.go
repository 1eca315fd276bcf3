// Package virtio implements the parts of a virtio 1.x driver (virtio spec
// 1.2) that do not depend on how the driver reaches its device: the split
// virtqueue, the modern PCI transport's common configuration registers and
// capabilities, feature negotiation, and the virtio-net packet header.
//
// Everything here works on byte slices: a queue is laid out in a []byte
// whose physical address the caller knows (the DMA pool), and registers
// are read and written through the []byte of a /dev/mem mapping, so tests
// run the device side on plain memory. It is ordinary Go for kernel
// goroutines (ring 3); none of it runs in trap context.
package virtio

import (
	"errors"
	"strings"
)

// Device status bits (spec 2.1).
const (
	StatusAcknowledge      = 1
	StatusDriver           = 2
	StatusDriverOK         = 4
	StatusFeaturesOK       = 8
	StatusDeviceNeedsReset = 64
	StatusFailed           = 128
)

// Feature bits independent of the device type (spec 6).
const (
	FeatureIndirectDesc = 1 << 28
	FeatureEventIdx     = 1 << 29
	FeatureVersion1     = 1 << 32
	FeatureAccessPlat   = 1 << 33
)

// Network device feature bits (spec 5.1.3).
const (
	NetFeatureCsum      = 1 << 0
	NetFeatureGuestCsum = 1 << 1
	NetFeatureMTU       = 1 << 3
	NetFeatureMAC       = 1 << 5
	NetFeatureMrgRxbuf  = 1 << 15
	NetFeatureStatus    = 1 << 16
	NetFeatureCtrlVQ    = 1 << 17
)

// featureNames names the feature bits FeatureNames knows.
var featureNames = []struct {
	bit  uint64
	name string
}{
	{NetFeatureCsum, "CSUM"},
	{NetFeatureGuestCsum, "GUEST_CSUM"},
	{NetFeatureMTU, "MTU"},
	{NetFeatureMAC, "MAC"},
	{NetFeatureMrgRxbuf, "MRG_RXBUF"},
	{NetFeatureStatus, "STATUS"},
	{NetFeatureCtrlVQ, "CTRL_VQ"},
	{FeatureIndirectDesc, "INDIRECT_DESC"},
	{FeatureEventIdx, "EVENT_IDX"},
	{FeatureVersion1, "VERSION_1"},
	{FeatureAccessPlat, "ACCESS_PLATFORM"},
}

// FeatureNames returns the names of the network and common feature bits
// set in f, in bit order and separated by spaces, as the spec spells them
// without their VIRTIO_NET_F_ or VIRTIO_F_ prefix; bits it does not know
// are left out. For log lines.
func FeatureNames(f uint64) string {
	var names []string
	for _, fn := range featureNames {
		if f&fn.bit != 0 {
			names = append(names, fn.name)
		}
	}
	return strings.Join(names, " ")
}

// NoVector is the MSI-X vector value meaning "no vector"; a device that
// rejects a vector reads back NoVector.
const NoVector = 0xffff

// Errors.
var (
	ErrQueueFull   = errors.New("virtio: virtqueue full")
	ErrBadUsed     = errors.New("virtio: device returned a descriptor that is not in flight")
	ErrNotVersion1 = errors.New("virtio: device does not offer VIRTIO_F_VERSION_1")
	ErrFeatures    = errors.New("virtio: device did not accept the features (FEATURES_OK clear)")
	ErrNoReset     = errors.New("virtio: device does not complete its reset")
)
