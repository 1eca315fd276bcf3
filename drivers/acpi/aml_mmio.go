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
// AML aml and returns how many it found (at most len(out)): Device
// objects whose body declares Name(_HID, "LNRO0005") before any nested
// Device, with the resources mmioResources reads.
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
		ownHID := false
		for j := 0; j+6+len(mmioHID) < len(body); j++ {
			if body[j] == amlExtOpPrefix && body[j+1] == amlDeviceOp && j > 0 {
				break // a nested device: its _HID is its own
			}
			if body[j] == amlNameOp && string(body[j+1:j+5]) == "_HID" && body[j+5] == amlStringPrefix {
				s := body[j+6:]
				ownHID = len(s) > len(mmioHID) && string(s[:len(mmioHID)]) == mmioHID && s[len(mmioHID)] == 0
				break
			}
		}
		if ownHID && mmioResources(body, &out[n]) {
			n++
		}
	}
	return n
}

// mmioResources reads Name(_CRS, Buffer(){...}) in the device body into d,
// walking its resource template (§6.4) for the first Memory32Fixed
// (register window) and Extended Interrupt descriptors; false, d
// untouched, when either is missing or the window is empty.
// Context: boot/trap; does not allocate.
func mmioResources(body []byte, d *MMIODevice) bool {
	for j := 0; j+6 < len(body); j++ {
		if body[j] != amlNameOp || string(body[j+1:j+5]) != "_CRS" || body[j+5] != amlBufferOp {
			continue
		}
		length, size, ok := pkgLength(body[j+6:])
		if !ok || j+6+length > len(body) || size > length {
			return false
		}
		r := body[j+6+size : j+6+length]
		_, isize, ok := amlInteger(r) // BufferSize
		if !ok {
			return false
		}
		r = r[isize:]
		var dev MMIODevice
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
				dev.Base, dev.Size, haveMem = uint64(u32(data, 1)), uint64(u32(data, 5)), true
			case tag == resExtendedIRQ && n >= 6 && data[1] >= 1 && !haveIRQ:
				flags := data[0]
				dev.GSI, dev.Level, dev.ActiveLow, haveIRQ = u32(data, 2), flags&2 == 0, flags&4 != 0, true
			}
			k += 3 + n
		}
		if !haveMem || !haveIRQ || dev.Size == 0 {
			return false
		}
		*d = dev
		return true
	}
	return false
}
