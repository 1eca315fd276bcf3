package acpi

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// mmioDevice builds Device(name){Name(_HID, hid); Name(_CRS, Buffer(){res})}.
func mmioDevice(name, hid string, res []byte, nested []byte) []byte {
	body := []byte(name)
	body = append(body, amlNameOp, '_', 'H', 'I', 'D', amlStringPrefix)
	body = append(body, hid...)
	body = append(body, 0)
	buf := append([]byte{amlBytePrefix, byte(len(res))}, res...)
	body = append(body, amlNameOp, '_', 'C', 'R', 'S', amlBufferOp, byte(1+len(buf)))
	body = append(body, buf...)
	body = append(body, nested...)
	return append([]byte{amlExtOpPrefix, amlDeviceOp, byte(1 + len(body))}, body...)
}

var (
	mem32 = []byte{resMemory32Fixed, 9, 0, 1, 0x00, 0x0e, 0xb0, 0xfe, 0x00, 0x02, 0, 0} // 0xfeb00e00 + 0x200
	irq12 = []byte{resExtendedIRQ, 6, 0, 0x03, 1, 12, 0, 0, 0}                          // consumer, edge, active high
	irq5  = []byte{resExtendedIRQ, 6, 0, 0x05, 1, 5, 0, 0, 0}                           // consumer, level, active low
	end   = []byte{resEndTag, 0}
)

func TestFindMMIODevices(t *testing.T) {
	var out [MaxMMIODevices]MMIODevice
	aml := cat([]byte{0x10, 0x05, '_', 'S', 'B', '_'}, // a Scope prefix (length not checked here)
		mmioDevice("VR00", "LNRO0005", cat(mem32, irq12, end), nil),
		mmioDevice("COM1", "PNP0501", cat(mem32, irq12, end), nil),
		mmioDevice("VR01", "LNRO0005", cat([]byte{0x22, 0x20, 0x00}, irq5, mem32, end), nil), // an IRQ small item first
		mmioDevice("VR02", "LNRO0005", cat(mem32, end), nil),                                 // no interrupt: skipped
		mmioDevice("VR03", "LNRO00055", cat(mem32, irq12, end), nil),                         // another HID
	)
	n := findMMIODevices(aml, &out)
	assert.Equal(t, []MMIODevice{
		{Base: 0xfeb00e00, Size: 0x200, GSI: 12},
		{Base: 0xfeb00e00, Size: 0x200, GSI: 5, Level: true, ActiveLow: true},
	}, out[:n])

	// A parent device holding a virtio-mmio child is not one itself.
	child := mmioDevice("VR00", "LNRO0005", cat(mem32, irq12, end), nil)
	parent := cat([]byte{amlExtOpPrefix, amlDeviceOp, byte(1 + 4 + len(child))}, []byte("PRNT"), child)
	n = findMMIODevices(parent, &out)
	assert.Equal(t, 1, n)

	// Truncated or garbage input finds nothing and does not panic.
	for cut := 0; cut < len(aml); cut++ {
		findMMIODevices(aml[:cut], &out)
	}
	assert.Zero(t, findMMIODevices([]byte{amlExtOpPrefix, amlDeviceOp, 0xff, 0xff}, &out))
}
