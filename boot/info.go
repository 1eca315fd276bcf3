package boot

import "encoding/binary"

// Protocols and their magic numbers.
const (
	MultibootMagic  = 0x2badb002 // EAX at a multiboot v1 entry
	Multiboot2Magic = 0x36d76289 // EAX at a multiboot2 entry
	PVHMagic        = 0x336ec578 // hvm_start_info.magic
)

// Protocol says which boot protocol started the kernel.
type Protocol uint8

const (
	Unknown Protocol = iota
	PVH
	Multiboot
	Multiboot2
)

// MaxRegions bounds the memory map.
const MaxRegions = 64

// Region is a range of physical memory from the boot loader's map.
type Region struct {
	Base, Size uint64
	Type       uint32 // 1 = usable RAM (E820 numbering, as PVH and multiboot use)
}

// RegionRAM is the type of usable RAM.
const RegionRAM = 1

// MaxModules bounds the boot modules Info keeps.
const MaxModules = 8

// maxModuleEntries bounds how many entries of a boot loader's module list
// Parse looks at, so that a garbage count cannot keep it busy.
const maxModuleEntries = 256

// Module is a boot module, a file the boot loader loaded next to the
// kernel (QEMU's -initrd, GRUB's module2): [Base, Base+Size) of physical
// memory. The kernel treats each as an initramfs (cpio newc) archive.
type Module struct{ Base, Size uint64 }

// End returns the physical address just past the module.
// Context: any; does not allocate.
func (m Module) End() uint64 { return m.Base + m.Size }

// Info is what the boot loader handed over, copied into fixed storage.
type Info struct {
	Protocol   Protocol
	Mem        [MaxRegions]Region
	NMem       int
	Cmdline    [4096]byte
	CmdlineLen int
	RSDP       uint64 // physical address of the ACPI RSDP, 0 if not given
	FB         Framebuffer
	// Modules are the boot modules in the boot loader's order, the first
	// NModules of them valid.
	Modules  [MaxModules]Module
	NModules int
	// ModulesDropped says the boot loader passed more than MaxModules
	// modules (or a list longer than Parse reads): only the first are kept.
	ModulesDropped bool
	// BadModules counts module list entries Parse ignored: an end before
	// the start, a module at address 0, reaching past the end of RAM or
	// past 2^64, or an entry it could not read (the rest of the list is
	// then ignored too).
	BadModules int
}

// Framebuffer is a linear framebuffer the boot loader set up (multiboot2's
// framebuffer tag: GRUB passes the UEFI GOP's), zero if none.
type Framebuffer struct {
	Addr                      uint64 // physical address of the top-left pixel
	Pitch                     uint32 // bytes per row
	Width, Height             uint32 // pixels
	BPP                       uint8  // bits per pixel
	Type                      uint8  // 0 indexed, 1 direct RGB, 2 EGA text
	RedPos, GreenPos, BluePos uint8  // bit positions of the channels (RGB)
	Channels8                 bool   // RGB with 8-bit channels
}

// RGB reports whether f is a 24- or 32-bit direct-colour framebuffer with
// 8-bit channels, the kind the framebuffer console draws on.
func (f *Framebuffer) RGB() bool {
	return f.Addr != 0 && f.Type == 1 && f.Channels8 && (f.BPP == 24 || f.BPP == 32) && f.Width > 0 && f.Height > 0
}

// Error is a boot-information parse error; the zero value is success.
type Error uint8

const (
	OK Error = iota
	ErrProtocol
	ErrOutOfRange
	ErrNoMemoryMap
)

func (e Error) String() string {
	switch e {
	case OK:
		return "ok"
	case ErrProtocol:
		return "unknown boot protocol (neither PVH nor multiboot v1)"
	case ErrOutOfRange:
		return "boot information points outside readable memory"
	case ErrNoMemoryMap:
		return "boot loader gave no memory map"
	}
	return "boot information error"
}

// physMem is a window [base, base+len(b)) of physical memory.
type physMem struct {
	b    []byte
	base uint64
}

// le32 and le64 read the little-endian words at b[i:], zero-extended.
// Context: boot, before the runtime; does not allocate.
//
// Not inlined: the parsers below read three dozen words, and one copy
// costs the image's line tables less than the inlined ones (issue 16's
// budget).
//
//go:noinline
func le32(b []byte, i uint64) uint64 { return uint64(binary.LittleEndian.Uint32(b[i:])) }

// le64: see le32. Context: boot, before the runtime; does not allocate.
//
//go:noinline
func le64(b []byte, i uint64) uint64 { return binary.LittleEndian.Uint64(b[i:]) }

// slice returns the n bytes at physical address addr, or nil where
// they are not all in the window. Context: boot; does not allocate.
// Not inlined: its copies at a dozen callers cost the image bytes
// (issue 16's budget).
//
//go:noinline
func (m *physMem) slice(addr, n uint64) []byte {
	if addr < m.base || n > uint64(len(m.b)) || addr-m.base > uint64(len(m.b))-n {
		return nil
	}
	return m.b[addr-m.base : addr-m.base+n]
}

// Parse fills out from the entry registers (eax, the physical address in
// ebx) and a window of physical memory mem starting at physical address
// base. Context: boot, before the runtime; does not allocate.
func Parse(eax uint32, infoAddr uint64, mem []byte, base uint64, out *Info) Error {
	m := physMem{mem, base}
	*out = Info{}
	if eax == MultibootMagic {
		out.Protocol = Multiboot
		return parseMultiboot(&m, infoAddr, out)
	}
	if eax == Multiboot2Magic {
		out.Protocol = Multiboot2
		return parseMultiboot2(&m, infoAddr, out)
	}
	hdr := m.slice(infoAddr, 56)
	if hdr == nil {
		return ErrOutOfRange
	}
	if le32(hdr, 0) != PVHMagic {
		return ErrProtocol
	}
	out.Protocol = PVH
	return parsePVH(&m, hdr, out)
}

// parsePVH reads the PVH start information h, an hvm_start_info (Xen
// public/arch-x86/hvm/start_info.h), version 1: the RSDP, the command
// line and the memory map. Context: boot, before the runtime; does not
// allocate.
func parsePVH(m *physMem, h []byte, out *Info) Error {
	version := le32(h, 4)
	out.RSDP = le64(h, 32)
	if e := out.copyCmdline(m, le64(h, 24)); e != OK {
		return e
	}
	if version < 1 {
		return ErrNoMemoryMap
	}
	mapAddr, n := le64(h, 40), le32(h, 48)
	for i := uint64(0); i < n; i++ {
		e := m.slice(mapAddr+24*i, 24)
		if e == nil {
			return ErrOutOfRange
		}
		out.addRegion(e, 0)
	}
	if out.NMem == 0 {
		return ErrNoMemoryMap
	}
	out.parseModules(m, le64(h, 16), le32(h, 12), pvhModuleEntry)
	return out.finishParse()
}

// parseModules reads a module list of n entries of entSize bytes at
// addr: PVH's hvm_modlist_entry records (pvhModuleEntry: paddr, size,
// cmdline_paddr, reserved; 8 bytes each) or multiboot v1's
// (mbModuleEntry: mod_start, mod_end (exclusive), string and a reserved
// word; 4 bytes each). Context: boot, before the runtime; does not
// allocate.
func (out *Info) parseModules(m *physMem, addr, n, entSize uint64) {
	for i := uint64(0); i < n; i++ {
		if i == maxModuleEntries {
			out.ModulesDropped = true
			return
		}
		e := m.slice(addr+entSize*i, entSize)
		if addr == 0 || addr+entSize*i < addr || e == nil {
			out.BadModules++
			return
		}
		start, end := le32(e, 0), le32(e, 4)
		if entSize == pvhModuleEntry {
			base, size := le64(e, 0), le64(e, 8)
			if base+size < base {
				out.BadModules++
				continue
			}
			start, end = base, base+size
		}
		out.addModule(start, end)
	}
}

// The module list entries' sizes (parseModules).
const (
	pvhModuleEntry = 32
	mbModuleEntry  = 16
)

// Multiboot v1 information structure.
const (
	mbFlagMods    = 1 << 3
	mbFlagCmdline = 1 << 2
	mbFlagMmap    = 1 << 6
)

// parseMultiboot reads a multiboot v1 information structure at addr: the
// command line and the memory map. Context: boot, before the runtime; does
// not allocate.
func parseMultiboot(m *physMem, addr uint64, out *Info) Error {
	h := m.slice(addr, 52)
	if h == nil {
		return ErrOutOfRange
	}
	flags := le32(h, 0)
	if flags&mbFlagCmdline != 0 {
		if e := out.copyCmdline(m, le32(h, 16)); e != OK {
			return e
		}
		out.dropFirstWord() // multiboot loaders pass "KERNEL-PATH args"
	}
	if flags&mbFlagMods != 0 {
		out.parseModules(m, le32(h, 24), le32(h, 20), mbModuleEntry)
	}
	if flags&mbFlagMmap == 0 {
		return ErrNoMemoryMap
	}
	length, p := le32(h, 44), le32(h, 48)
	for end := p + length; p < end; {
		e := m.slice(p, 24)
		if e == nil {
			return ErrOutOfRange
		}
		size := le32(e, 0)
		out.addRegion(e, 4)
		if size < 20 {
			break // malformed; stop rather than loop
		}
		p += size + 4
	}
	return out.finishParse()
}

// Multiboot2 information tags (Multiboot2 Specification 2.0, 3.6).
const (
	mb2TagEnd     = 0
	mb2TagCmdline = 1
	mb2TagModule  = 3
	mb2TagMmap    = 6
	mb2TagFB      = 8
	mb2TagACPIOld = 14
	mb2TagACPINew = 15
)

// parseMultiboot2 walks the tags: the command line (without the kernel's
// path, which GRUB leaves out), the modules, the memory map and the ACPI
// RSDP copies.
// Context: boot, before the runtime; does not allocate.
func parseMultiboot2(m *physMem, addr uint64, out *Info) Error {
	h := m.slice(addr, 8)
	if h == nil {
		return ErrOutOfRange
	}
	total := le32(h, 0)
	if total < 16 || m.slice(addr, total) == nil {
		return ErrOutOfRange
	}
	var oldRSDP uint64
	modules := 0
	for p := addr + 8; p+8 <= addr+total; {
		t := m.slice(p, 8)
		typ, size := le32(t, 0), le32(t, 4)
		if typ == mb2TagEnd || size < 8 || p+size > addr+total {
			break
		}
		switch typ {
		case mb2TagCmdline:
			if e := out.copyCmdline(m, p+8); e != OK {
				return e
			}
		case mb2TagMmap:
			if size < 16 {
				break // too short for its entry size: no region
			}
			b := m.slice(p, size)
			entSize := le32(b, 8)
			for off := uint64(16); entSize >= 24 && off+24 <= size; off += entSize {
				out.addRegion(b, off)
			}
		case mb2TagModule: // mod_start, mod_end (exclusive), then the module's string
			modules++
			if modules > maxModuleEntries {
				out.ModulesDropped = true
			} else if size < 16 {
				out.BadModules++
			} else {
				b := m.slice(p, 16)
				out.addModule(le32(b, 8), le32(b, 12))
			}
		case mb2TagFB:
			out.parseFramebuffer(m.slice(p, size))
		case mb2TagACPIOld:
			oldRSDP = p + 8
		case mb2TagACPINew:
			out.RSDP = p + 8
		}
		p += (size + 7) &^ 7
	}
	if out.RSDP == 0 {
		out.RSDP = oldRSDP
	}
	return out.finishParse()
}

// parseFramebuffer reads a framebuffer tag: address, pitch, width,
// height, bpp, type and, for RGB, each channel's bit position and size.
// Context: boot, before the runtime; does not allocate.
func (out *Info) parseFramebuffer(b []byte) {
	// type, size, addr, pitch, width, height, bpp, type, 2 reserved bytes,
	// then red, green, blue (position, size) pairs.
	if len(b) < 30 {
		return
	}
	le := binary.LittleEndian // inlined: calls here would cost more code than they save
	out.FB = Framebuffer{
		Addr: le.Uint64(b[8:]), Pitch: le.Uint32(b[16:]), Width: le.Uint32(b[20:]), Height: le.Uint32(b[24:]),
		BPP: b[28], Type: b[29],
	}
	if b[29] == 1 && len(b) >= 38 && b[33] == 8 && b[35] == 8 && b[37] == 8 {
		out.FB.RedPos, out.FB.GreenPos, out.FB.BluePos, out.FB.Channels8 = b[32], b[34], b[36], true
	}
}

// addModule appends the module [start, end) unless it is malformed (at
// address 0, or ending before it starts: BadModules) or the list is full
// (ModulesDropped). Context: boot, before the runtime; does not allocate.
// Not inlined: one copy is smaller than its three (issue 16's budget).
//
//go:noinline
func (out *Info) addModule(start, end uint64) {
	switch {
	case start == 0 || end < start:
		out.BadModules++
	case out.NModules == MaxModules:
		out.ModulesDropped = true
	default:
		out.Modules[out.NModules] = Module{start, end - start}
		out.NModules++
	}
}

// finishParse ends a parse: with no memory map it returns
// ErrNoMemoryMap; otherwise it drops the modules that reach past the end
// of usable RAM (RAMTop), counting them in BadModules: whatever the
// loader claims, memory that the kernel does not map cannot hold an
// archive. Context: boot, before the runtime, after the memory map is
// read; does not allocate.
func (out *Info) finishParse() Error {
	if out.NMem == 0 {
		return ErrNoMemoryMap
	}
	top := out.RAMTop()
	n := 0
	for _, md := range out.Modules[:out.NModules] {
		if md.End() > top {
			out.BadModules++
			continue
		}
		out.Modules[n] = md
		n++
	}
	for i := n; i < out.NModules; i++ {
		out.Modules[i] = Module{}
	}
	out.NModules = n
	return OK
}

// addRegion appends the memory map entry at e[i:] (base and size, 8
// bytes each, then the 4-byte type: the layout all three protocols
// share), unless it is empty or the map is full. Context: boot, before
// the runtime; does not allocate.
// Not inlined: one copy is smaller than its three (issue 16's budget).
//
//go:noinline
func (out *Info) addRegion(e []byte, i uint64) {
	e = e[i:]
	_ = e[19]                 // one bounds check for the three reads
	le := binary.LittleEndian // inlined: calls here would cost more code than they save
	base, size, typ := le.Uint64(e), le.Uint64(e[8:]), le.Uint32(e[16:])
	if out.NMem < MaxRegions && size > 0 {
		out.Mem[out.NMem] = Region{base, size, typ}
		out.NMem++
	}
}

// copyCmdline copies the NUL-terminated string at addr (0 = none).
// Context: boot, before the runtime; does not allocate.
func (out *Info) copyCmdline(m *physMem, addr uint64) Error {
	if addr == 0 {
		return OK
	}
	for out.CmdlineLen < len(out.Cmdline)-1 {
		b := m.slice(addr+uint64(out.CmdlineLen), 1)
		if b == nil {
			return ErrOutOfRange
		}
		if b[0] == 0 {
			break
		}
		out.Cmdline[out.CmdlineLen] = b[0]
		out.CmdlineLen++
	}
	return OK
}

// dropFirstWord removes the first word of the command line and the blanks
// after it.
func (out *Info) dropFirstWord() {
	c := out.Cmdline[:out.CmdlineLen]
	i := 0
	for i < len(c) && c[i] != ' ' {
		i++
	}
	for i < len(c) && c[i] == ' ' {
		i++
	}
	out.CmdlineLen = copy(out.Cmdline[:], c[i:])
}

// RAMTop returns the end of the highest usable RAM region. Context:
// boot. Not inlined: its copies cost the image bytes (issue 16's
// budget).
//
//go:noinline
func (out *Info) RAMTop() uint64 {
	var top uint64
	for _, r := range out.Mem[:out.NMem] {
		if r.Type == RegionRAM && r.Base+r.Size > top {
			top = r.Base + r.Size
		}
	}
	return top
}
