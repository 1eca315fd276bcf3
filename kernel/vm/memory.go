// Package vm is the kernel's memory as the running machine has it: the
// virtual address space's layout (the direct map, the image, the
// program's mmap range and stack), the frame allocator and the program's
// memory areas (instances of kernel/mm's types, whose logic is host
// tested there), the commit accounting behind mmap, the boot modules'
// memory, and the boot step that builds the kernel's page table
// (mm.KPT) from the boot loader's memory map (Setup); demand faults and
// the checked copies to and from the program's memory (usermem.go), with
// the kernel-state table they refuse (kstate.go). A demand fault that
// finds no free frame records it (OutOfMemory) for package kernel, which
// ends the program. The kernel lock guards the variables once the program
// runs. Context: trap or boot; nothing here allocates.
package vm

import (
	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/x86"
)

// Virtual address space layout.
const (
	// DirectBase maps all physical memory (and the 32-bit MMIO hole),
	// supervisor-only, with 2 MiB pages: virtual = physical + DirectBase.
	DirectBase = abi.DirectBase
	// ImageBase is where the loader put the image's header page; the image
	// itself is mapped at its link addresses, identity, user-accessible.
	ImageBase = abi.ImageBase
	// UserMin..UserTop is what mmap hands out (top-down, below the stack).
	UserMin     = 0x10000
	StackTop    = 0x7ffffffff000
	StackSize   = 1 << 20
	MmapTop     = StackTop - StackSize - 1<<30
	UserTop     = 0x800000000000
	MMIOHoleLow = 0xc0000000 // from here to 4 GiB: device memory, uncached
)

var (
	// Frames is the physical frame allocator (all RAM but the image, the
	// boot modules and the first MiB).
	Frames mm.Frames
	// VMAs are the program's memory areas (mmap, the image, the stack).
	VMAs mm.VMASet

	ImageEnd    uintptr // end of the image's memory (bss included)
	CommitLimit uint64  // how much the commit charge may reach (SetCommitLimit, commit.go)
	RAMTop      uint64  // the end of RAM (boot.Info.RAMTop)
)

// ELF program header constants for reading our own headers.
const (
	ptLoad = 1
	pfX    = 1
	pfW    = 2
)

// phdr returns the i-th program header of the image (read from the loaded
// header page) and the number of headers.
// Context: boot; does not allocate.
func phdr(i int) (typ, flags uint32, vaddr, memsz uint64, n int) {
	h := uintptr(ImageBase)
	phoff := *(*uint64)(cpu.Pointer(h + 32))
	n = int(*(*uint16)(cpu.Pointer(h + 56)))
	size := uintptr(*(*uint16)(cpu.Pointer(h + 54)))
	p := h + uintptr(phoff) + uintptr(i)*size
	return *(*uint32)(cpu.Pointer(p)), *(*uint32)(cpu.Pointer(p + 4)), *(*uint64)(cpu.Pointer(p + 16)), *(*uint64)(cpu.Pointer(p + 40)), n
}

// Setup hands RAM to the frame allocator (less the image and the
// boot modules), builds the kernel's page table (direct map, the image
// with per-segment permissions, nothing at the null page), switches to
// it and logs the initramfs archives. Context: boot, on the stub's identity
// map of the first 1 GiB; does not allocate.
func Setup(info *boot.Info) {
	// The image's extent, from its own program headers.
	for i := 0; ; i++ {
		typ, _, va, memsz, n := phdr(i)
		if i >= n {
			break
		}
		if typ == ptLoad && uintptr(va+memsz) > ImageEnd {
			ImageEnd = uintptr(mm.PageRoundUp(va + memsz))
		}
	}
	RAMTop = info.RAMTop()
	for _, r := range info.Mem[:info.NMem] {
		if r.Type != boot.RegionRAM {
			continue
		}
		start := max(r.Base, 1<<20) // leave real-mode memory to the firmware
		if start < r.Base+r.Size {
			Frames.AddRange(start, r.Base+r.Size)
		}
	}
	Frames.Reserve(ImageBase, uint64(ImageEnd))
	copyModules(info)
	// The boot modules' pages leave the frame allocator before its first
	// allocation, so that neither page tables nor the program's memory
	// overwrite them.
	for _, m := range Modules() {
		if m.Size > 0 {
			Frames.Reserve(m.Base, m.End())
		}
	}
	Frames.DirectBase = 0 // identity while the stub's tables are live
	if !mm.KPT.Init(&Frames) {
		kpanic.Panic("no memory for the page table", nil)
	}
	top := max(mm.PageRoundUp(RAMTop), 4<<30)
	for _, m := range Modules() {
		top = max(top, m.End()) // below RAMTop already (boot.Parse); to be sure
	}
	top = (top + 1<<21 - 1) &^ (1<<21 - 1)
	for pa := uint64(0); pa < top; pa += 1 << 21 {
		flags := uint64(mm.PTEWrite | mm.PTENoExec)
		if pa >= MMIOHoleLow && pa < 4<<30 {
			flags |= mm.PTENoCache | mm.PTEWriteThr
		}
		if !mm.KPT.Map2M(&Frames, DirectBase+uintptr(pa), pa, flags) {
			kpanic.Panic("no memory for the direct map", nil)
		}
	}
	for i := 0; ; i++ {
		typ, pflags, va, memsz, n := phdr(i)
		if i >= n {
			break
		}
		if typ != ptLoad {
			continue
		}
		flags := uint64(mm.PTEUser)
		prot := uint8(mm.ProtRead)
		if pflags&pfW != 0 {
			flags |= mm.PTEWrite
			prot |= mm.ProtWrite
		}
		if pflags&pfX == 0 {
			flags |= mm.PTENoExec
		} else {
			prot |= mm.ProtExec
		}
		start, end := mm.PageRoundDown(va), mm.PageRoundUp(va+memsz)
		for a := start; a < end; a += mm.PageSize {
			if !mm.KPT.Map(&Frames, uintptr(a), a, flags) {
				kpanic.Panic("no memory to map the image", nil)
			}
		}
		if !VMAs.IsFree(uintptr(start), uintptr(end)) {
			VMAs.Remove(uintptr(start), uintptr(end)) // segments may share a page
		}
		VMAs.Insert(uintptr(start), uintptr(end), prot)
	}
	cpu.WriteCR3(mm.KPT.Root)
	Frames.DirectBase = DirectBase
	mm.KPT.DirectBase = DirectBase
	cpu.WriteCR0(cpu.ReadCR0() | x86.Cr0WP)

	// The embedded archive's size and one line per boot module, and
	// warnings about modules the boot information parse left out.
	var l klog.Line // one line, reset for each (klog.Line.Reset)
	if n := len(fs.EmbeddedArchive()); n > 0 {
		l.S("initramfs: ").U(uint64(n)).S(" bytes embedded in the image").Info()
	}
	for i, m := range Modules() {
		l.Reset()
		l.S("initramfs module ").U(uint64(i)).S(": ").U(m.Size).S(" bytes at ").X(m.Base).Info()
	}
	if info.ModulesDropped {
		l.Reset()
		l.S("warning: more than ").U(boot.MaxModules).S(" boot modules: only the first ").U(boot.MaxModules).S(" are used").Print()
	}
	if info.BadModules > 0 {
		l.Reset()
		l.S("warning: ").U(uint64(info.BadModules)).S(" malformed boot module entries ignored (outside RAM, or ending before they start)").Print()
	}
}

// SetCommitLimit fixes how much writable memory mmap may promise: every
// free frame, less a reserve for page tables. Called once the kernel's own
// allocations are done. Context: boot; does not allocate.
func SetCommitLimit() {
	free := Frames.FreeCount()
	reserve := free/256 + 64
	if free > reserve {
		CommitLimit = (free - reserve) * mm.PageSize
	}
}

// LogFootprint prints the memory line of the boot log: the RAM, what the
// kernel keeps of it (the image of kernel, runtime and program with its
// static data, the frames the kernel allocated for itself: page tables,
// CPU stacks, the boot file system, the page-table reserve; and the first
// MiB, left to the firmware) and what is left for the program (the commit
// limit). Call it after SetCommitLimit. Context: boot; does not allocate.
func LogFootprint(info *boot.Info) {
	var ram, low uint64
	for _, r := range info.Mem[:info.NMem] {
		if r.Type == boot.RegionRAM {
			ram += r.Size
			if r.Base < 1<<20 {
				low += min(r.Base+r.Size, 1<<20) - r.Base
			}
		}
	}
	var static uint64
	for i := 0; ; i++ {
		typ, pflags, va, memsz, n := phdr(i)
		if i >= n {
			break
		}
		if typ == ptLoad && pflags&pfW != 0 {
			static += mm.PageRoundUp(va+memsz) - mm.PageRoundDown(va)
		}
	}
	free := Frames.FreeCount() * mm.PageSize
	var l klog.Line
	l.S("memory: ").U(ram >> 10).S(" KiB RAM; kernel footprint ").U((uint64(ImageEnd-ImageBase) + (Frames.Total()*mm.PageSize - free) + (free - CommitLimit) + low) >> 10)
	l.S(" KiB: image ").U(uint64(ImageEnd-ImageBase) >> 10).S(" KiB (").U(static >> 10).S(" KiB of it static data), ")
	l.U((Frames.Total()*mm.PageSize - free) >> 10).S(" KiB allocated, ").U((free - CommitLimit) >> 10).S(" KiB page-table reserve, ")
	l.U(low >> 10).S(" KiB below 1 MiB; ").U(CommitLimit >> 10).S(" KiB for the program").Info()
}

// PhysToVirt returns the direct-map address of a physical address.
// Context: any; does not allocate.
func PhysToVirt(pa uint64) uintptr { return DirectBase + uintptr(pa) }
