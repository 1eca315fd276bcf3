package acpi

// Virtio-mmio transports declared in the DSDT: Device objects whose _HID
// is "LNRO0005" (the ID Linux matches for virtio-mmio), with a _CRS
// resource template holding the register window (Memory32Fixed) and the
// interrupt (Extended Interrupt). QEMU's microvm and Firecracker declare
// them so. This is a pattern search over the AML, not an interpreter: it
// reads Name objects with constant values, which is how those monitors
// write them.

// MaxMMIODevices bounds Tables.MMIO.
const MaxMMIODevices = 32

// MMIODevice is one virtio-mmio transport.
type MMIODevice struct {
	Base, Size uint64 // register window (physical)
	GSI        uint32 // its interrupt
	Level      bool   // level-triggered (else edge)
	ActiveLow  bool
}

// AML opcodes and resource descriptors used here.
const (
	amlExtOpPrefix  = 0x5b
	amlDeviceOp     = 0x82
	amlBufferOp     = 0x11
	amlStringPrefix = 0x0d

	resMemory32Fixed = 0x86 // large item, 9 data bytes
	resExtendedIRQ   = 0x89 // large item
	resEndTag        = 0x79 // small item, 1 data byte
	mmioHID          = "LNRO0005"
)

// findMMIODevices fills out with the virtio-mmio devices declared in the
// AML aml and returns how many it found (at most len(out)).
// Context: boot/trap; does not allocate.
func findMMIODevices(aml []byte, out *[MaxMMIODevices]MMIODevice) int {
	n := 0
	for i := 0; i+2 < len(aml) && n < len(out); i++ {
		if aml[i] != amlExtOpPrefix || aml[i+1] != amlDeviceOp {
			continue
		}
		length, _, ok := pkgLength(aml[i+2:])
		if !ok || length == 0 || i+2+length > len(aml) {
			continue
		}
		body := aml[i+2 : i+2+length]
		if !ownHID(body, mmioHID) {
			continue
		}
		if d, ok := mmioResources(body); ok {
			out[n] = d
			n++
		}
	}
	return n
}

// ownHID reports whether the device body declares Name(_HID, "hid")
// before any nested Device. Context: boot/trap; does not allocate.
func ownHID(body []byte, hid string) bool {
	for j := 0; j+6+len(hid) < len(body); j++ {
		if body[j] == amlExtOpPrefix && body[j+1] == amlDeviceOp && j > 0 {
			return false // a nested device: its _HID is its own
		}
		if body[j] == amlNameOp && string(body[j+1:j+5]) == "_HID" && body[j+5] == amlStringPrefix {
			s := body[j+6:]
			return len(s) > len(hid) && string(s[:len(hid)]) == hid && s[len(hid)] == 0
		}
	}
	return false
}

// mmioResources reads Name(_CRS, Buffer(){...}) in the device body: the
// first Memory32Fixed and Extended Interrupt descriptors. Context:
// boot/trap; does not allocate.
func mmioResources(body []byte) (MMIODevice, bool) {
	for j := 0; j+6 < len(body); j++ {
		if body[j] != amlNameOp || string(body[j+1:j+5]) != "_CRS" || body[j+5] != amlBufferOp {
			continue
		}
		length, size, ok := pkgLength(body[j+6:])
		if !ok || j+6+length > len(body) || size > length {
			return MMIODevice{}, false
		}
		buf := body[j+6+size : j+6+length]
		_, isize, ok := amlInteger(buf) // BufferSize
		if !ok {
			return MMIODevice{}, false
		}
		return parseResources(buf[isize:])
	}
	return MMIODevice{}, false
}

// parseResources walks a resource template (§6.4) for the register window
// and the interrupt. Context: boot/trap; does not allocate.
func parseResources(r []byte) (MMIODevice, bool) {
	var d MMIODevice
	haveMem, haveIRQ := false, false
	for k := 0; k < len(r); {
		tag := r[k]
		if tag&0x80 == 0 { // small item: length in bits 0-2
			if tag>>3&0xf == resEndTag>>3&0xf {
				break
			}
			k += 1 + int(tag&7)
			continue
		}
		if k+3 > len(r) {
			break
		}
		n := int(u16(r, k+1))
		data := r[k+3:]
		if n > len(data) {
			break
		}
		data = data[:n]
		switch {
		case tag == resMemory32Fixed && n >= 9 && !haveMem:
			d.Base, d.Size, haveMem = uint64(u32(data, 1)), uint64(u32(data, 5)), true
		case tag == resExtendedIRQ && n >= 6 && data[1] >= 1 && !haveIRQ:
			flags := data[0]
			d.GSI, d.Level, d.ActiveLow, haveIRQ = u32(data, 2), flags&2 == 0, flags&4 != 0, true
		}
		k += 3 + n
	}
	return d, haveMem && haveIRQ && d.Size != 0
}
