package pci

// Configuration header registers (type 0).
const (
	regID         = 0x00 // vendor (low), device (high)
	regCommand    = 0x04 // command (low), status (high)
	regClass      = 0x08 // revision, prog-if, subclass, class
	regHeader     = 0x0c // header type in bits 16-23
	regBAR0       = 0x10
	regCapPtr     = 0x34
	regInterrupt  = 0x3c
	regBusNumbers = 0x18 // type 1 (bridge): primary, secondary, subordinate bus

	statusCapList = 1 << 20 // in the dword at regCommand

	CommandIO        = 1 << 0
	CommandMemory    = 1 << 1
	CommandMaster    = 1 << 2
	CommandIntxOff   = 1 << 10
	headerMulti      = 0x80
	headerTypeMask   = 0x7f
	headerTypeBridge = 1

	// Capability IDs.
	CapMSI    = 0x05
	CapVendor = 0x09 // virtio's configuration structures
	CapPCIe   = 0x10
	CapMSIX   = 0x11
)

// MaxCaps bounds the capabilities kept per function.
const MaxCaps = 16

// BAR is a decoded base address register.
type BAR struct {
	Addr         uint64
	Size         uint64
	IO           bool // an I/O port range (else memory)
	Is64         bool // the memory BAR takes two registers
	Prefetchable bool
}

// Cap is a capability: its ID and offset in configuration space.
type Cap struct {
	ID  uint8
	Off uint16
}

// Device is one function found by Enumerate.
type Device struct {
	Addr                    Addr
	Vendor, DeviceID        uint16
	Class, Subclass, ProgIF uint8
	HeaderType              uint8
	IRQLine                 uint8
	BARs                    [6]BAR
	Caps                    [MaxCaps]Cap
	NCaps                   int
	// Assigned and Unassigned are set by Assigner.Assign: bit i when the
	// kernel gave BAR i its address, or when BAR i has a size but no
	// address (no room left, or behind a bridge).
	Assigned, Unassigned uint8
}

// Cap returns the offset of the first capability with id, or 0.
func (d *Device) Cap(id uint8) uint16 {
	for _, c := range d.Caps[:d.NCaps] {
		if c.ID == id {
			return c.Off
		}
	}
	return 0
}

// Probe reads the function at a, or reports false if nothing answers.
// Sizing the BARs briefly disables the function's decoding. Context: boot;
// does not allocate.
func Probe(cs ConfigSpace, a Addr, d *Device) bool {
	id := cs.Read32(a, regID)
	if id&0xffff == 0xffff || id&0xffff == 0 {
		return false
	}
	*d = Device{Addr: a, Vendor: uint16(id), DeviceID: uint16(id >> 16)}
	class := cs.Read32(a, regClass)
	d.Class, d.Subclass, d.ProgIF = uint8(class>>24), uint8(class>>16), uint8(class>>8)
	d.HeaderType = uint8(cs.Read32(a, regHeader) >> 16)
	d.IRQLine = uint8(cs.Read32(a, regInterrupt))
	if d.HeaderType&headerTypeMask == 0 {
		readBARs(cs, a, d)
	}
	if cs.Read32(a, regCommand)&statusCapList != 0 {
		readCaps(cs, a, d)
	}
	return true
}

// readBARs sizes each BAR: write all ones, read back the mask, restore.
// Context: boot or ring-3 kernel goroutine; does not allocate.
func readBARs(cs ConfigSpace, a Addr, d *Device) {
	cmd := cs.Read32(a, regCommand)
	cs.Write32(a, regCommand, cmd&^(CommandIO|CommandMemory))
	for i := 0; i < 6; i++ {
		off := uint16(regBAR0 + 4*i)
		orig := cs.Read32(a, off)
		cs.Write32(a, off, 0xffffffff)
		mask := cs.Read32(a, off)
		cs.Write32(a, off, orig)
		var origHi, maskHi uint32
		is64 := orig&1 == 0 && orig>>1&3 == 2
		if is64 && i < 5 {
			origHi = cs.Read32(a, off+4)
			cs.Write32(a, off+4, 0xffffffff)
			maskHi = cs.Read32(a, off+4)
			cs.Write32(a, off+4, origHi)
		}
		d.BARs[i] = DecodeBAR(orig, mask, origHi, maskHi)
		if d.BARs[i].Is64 {
			i++ // the next register is the upper half
		}
	}
	cs.Write32(a, regCommand, cmd)
}

// DecodeBAR decodes a BAR from its value and the mask read back after
// writing all ones (and the upper halves of a 64-bit BAR). Context: any;
// does not allocate.
func DecodeBAR(orig, mask, origHi, maskHi uint32) BAR {
	if mask == 0 || mask == 0xffffffff && orig == 0xffffffff {
		return BAR{}
	}
	if orig&1 == 1 {
		size := uint64(^(mask&^3)&0xffff) + 1
		return BAR{Addr: uint64(orig &^ 3), Size: size, IO: true}
	}
	b := BAR{Addr: uint64(orig &^ 0xf), Prefetchable: orig&8 != 0}
	m := uint64(mask &^ 0xf)
	if orig>>1&3 == 2 {
		b.Is64 = true
		b.Addr |= uint64(origHi) << 32
		m |= uint64(maskHi) << 32
	} else {
		m |= 0xffffffff00000000
	}
	if m&^0xf == 0 {
		return BAR{}
	}
	b.Size = ^m + 1
	return b
}

// readCaps walks the capability list, guarding against loops.
// Context: boot or ring-3 kernel goroutine; does not allocate.
func readCaps(cs ConfigSpace, a Addr, d *Device) {
	off := uint16(cs.Read32(a, regCapPtr) & 0xfc)
	for steps := 0; off >= 0x40 && off < 256 && steps < 48; steps++ {
		v := cs.Read32(a, off)
		if d.NCaps < MaxCaps {
			d.Caps[d.NCaps] = Cap{ID: uint8(v), Off: off}
			d.NCaps++
		}
		off = uint16(v>>8) & 0xfc
	}
}

// Bus is the result of Enumerate.
type Bus struct {
	Devices  [MaxDevices]Device
	N        int
	Overflow bool
}

// MaxDevices bounds the functions Enumerate keeps.
const MaxDevices = 64

// Enumerate probes every function of buses first..last. Context: boot.
func Enumerate(cs ConfigSpace, first, last uint8, out *Bus) {
	out.N, out.Overflow = 0, false
	for bus := int(first); bus <= int(last); bus++ {
		for dev := uint8(0); dev < 32; dev++ {
			fns := uint8(1)
			for fn := uint8(0); fn < fns; fn++ {
				var d Device
				if !Probe(cs, Addr{uint8(bus), dev, fn}, &d) {
					continue
				}
				if fn == 0 && d.HeaderType&headerMulti != 0 {
					fns = 8
				}
				if out.N == MaxDevices {
					out.Overflow = true
					continue
				}
				out.Devices[out.N] = d
				out.N++
			}
		}
	}
}

// EnumerateTree probes bus root and, through the PCI-to-PCI bridges found
// on it, every bus below (each bridge's secondary bus), rather than all 256
// bus numbers: with ECAM that touches only the buses that exist.
// Context: boot (the kernel's list, kernel/pcilist.go) or ring-3 kernel
// goroutine; does not allocate (the work list is fixed-size, no recursion).
func EnumerateTree(cs ConfigSpace, root uint8, out *Bus) {
	out.N, out.Overflow = 0, false
	var seen [256]bool
	var todo [256]uint8
	n := 0
	todo[n], seen[root] = root, true
	n++
	for n > 0 {
		n--
		bus := todo[n]
		for dev := uint8(0); dev < 32; dev++ {
			fns := uint8(1)
			for fn := uint8(0); fn < fns; fn++ {
				var d Device
				a := Addr{bus, dev, fn}
				if !Probe(cs, a, &d) {
					continue
				}
				if fn == 0 && d.HeaderType&headerMulti != 0 {
					fns = 8
				}
				if d.HeaderType&headerTypeMask == headerTypeBridge {
					if sec := uint8(cs.Read32(a, regBusNumbers) >> 8); sec > bus && !seen[sec] {
						seen[sec] = true
						todo[n] = sec
						n++
					}
				}
				if out.N == MaxDevices {
					out.Overflow = true
					continue
				}
				out.Devices[out.N] = d
				out.N++
			}
		}
	}
}

// EnableMaster turns on memory and I/O decoding and bus mastering (DMA),
// and masks legacy INTx when the device will use MSI-X.
func EnableMaster(cs ConfigSpace, a Addr, intxOff bool) {
	cmd := cs.Read32(a, regCommand) & 0xffff
	cmd |= CommandIO | CommandMemory | CommandMaster
	if intxOff {
		cmd |= CommandIntxOff
	}
	cs.Write32(a, regCommand, cmd)
}

// Describe names a function for the boot log: by what it is for virtio
// (virtio-net, virtio-blk, or virtio), else by its class (storage,
// network, display, bridge, serial-bus), or "" for another class: the
// caller then names the class number. (No table of names: the kernel calls
// this before any package initializer has run.)
// Context: any; does not allocate.
func Describe(d *Device) string {
	if d.Vendor == 0x1af4 {
		switch d.DeviceID {
		case 0x1000, 0x1041:
			return "virtio-net"
		case 0x1001, 0x1042:
			return "virtio-blk"
		}
		return "virtio"
	}
	switch d.Class {
	case 0x01:
		return "storage"
	case 0x02:
		return "network"
	case 0x03:
		return "display"
	case 0x06:
		return "bridge"
	case 0x0c:
		return "serial-bus"
	}
	return ""
}
