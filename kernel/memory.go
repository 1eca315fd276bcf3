package kernel

import (
	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/x86"
)

// Virtual address space layout.
const (
	// directBase maps all physical memory (and the 32-bit MMIO hole),
	// supervisor-only, with 2 MiB pages: virtual = physical + directBase.
	directBase = abi.DirectBase
	// imageBase is where the loader put the image's header page; the image
	// itself is mapped at its link addresses, identity, user-accessible.
	imageBase = abi.ImageBase
	// userMin..userTop is what mmap hands out (top-down, below the stack).
	userMin     = 0x10000
	stackTop    = 0x7ffffffff000
	stackSize   = 1 << 20
	mmapTop     = stackTop - stackSize - 1<<30
	userTop     = 0x800000000000
	mmioHoleLow = 0xc0000000 // from here to 4 GiB: device memory, uncached
)

var (
	frames mm.Frames
	vmas   mm.VMASet

	imageEnd    uintptr // end of the image's memory (bss included)
	committed   uint64  // bytes of writable mappings promised to the program
	commitLimit uint64
	ramTop      uint64
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
	h := uintptr(imageBase)
	phoff := *(*uint64)(ptr(h + 32))
	n = int(*(*uint16)(ptr(h + 56)))
	size := uintptr(*(*uint16)(ptr(h + 54)))
	p := h + uintptr(phoff) + uintptr(i)*size
	return *(*uint32)(ptr(p)), *(*uint32)(ptr(p + 4)), *(*uint64)(ptr(p + 16)), *(*uint64)(ptr(p + 40)), n
}

// setupMemory hands RAM to the frame allocator (less the image and the
// boot modules), builds the kernel's page table (direct map, the image
// with per-segment permissions, nothing at the null page) and switches to
// it. Context: boot, on the stub's identity
// map of the first 1 GiB; does not allocate.
func setupMemory(info *boot.Info) {
	// The image's extent, from its own program headers.
	for i := 0; ; i++ {
		typ, _, va, memsz, n := phdr(i)
		if i >= n {
			break
		}
		if typ == ptLoad && uintptr(va+memsz) > imageEnd {
			imageEnd = uintptr(mm.PageRoundUp(va + memsz))
		}
	}
	ramTop = info.RAMTop()
	for _, r := range info.Mem[:info.NMem] {
		if r.Type != boot.RegionRAM {
			continue
		}
		start := max(r.Base, 1<<20) // leave real-mode memory to the firmware
		if start < r.Base+r.Size {
			frames.AddRange(start, r.Base+r.Size)
		}
	}
	frames.Reserve(imageBase, uint64(imageEnd))
	reserveModules()
	frames.DirectBase = 0 // identity while the stub's tables are live
	if !mm.KPT.Init(&frames) {
		kpanic.Panic("no memory for the page table", nil)
	}
	top := max(mm.PageRoundUp(ramTop), 4<<30)
	for _, m := range initramfsModules() {
		top = max(top, m.End()) // below RAMTop already (boot.Parse); to be sure
	}
	top = (top + 1<<21 - 1) &^ (1<<21 - 1)
	for pa := uint64(0); pa < top; pa += 1 << 21 {
		flags := uint64(mm.PTEWrite | mm.PTENoExec)
		if pa >= mmioHoleLow && pa < 4<<30 {
			flags |= mm.PTENoCache | mm.PTEWriteThr
		}
		if !mm.KPT.Map2M(&frames, directBase+uintptr(pa), pa, flags) {
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
			if !mm.KPT.Map(&frames, uintptr(a), a, flags) {
				kpanic.Panic("no memory to map the image", nil)
			}
		}
		if !vmas.IsFree(uintptr(start), uintptr(end)) {
			vmas.Remove(uintptr(start), uintptr(end)) // segments may share a page
		}
		vmas.Insert(uintptr(start), uintptr(end), prot)
	}
	cpu.WriteCR3(mm.KPT.Root)
	frames.DirectBase = directBase
	mm.KPT.DirectBase = directBase
	cpu.WriteCR0(cpu.ReadCR0() | x86.Cr0WP)
	logInitramfs()
}

// setCommitLimit fixes how much writable memory mmap may promise: every
// free frame, less a reserve for page tables. Called once the kernel's own
// allocations are done.
func setCommitLimit() {
	free := frames.FreeCount()
	reserve := free/256 + 64
	if free > reserve {
		commitLimit = (free - reserve) * mm.PageSize
	}
}

// logFootprint prints the memory line of the boot log: the RAM, what the
// kernel keeps of it (the image of kernel, runtime and program with its
// static data, the frames the kernel allocated for itself: page tables,
// CPU stacks, the boot file system, the page-table reserve; and the first
// MiB, left to the firmware) and what is left for the program (the commit
// limit). Call it after setCommitLimit. Context: boot; does not allocate.
func logFootprint() {
	var ram, low uint64
	for _, r := range bootInfo.Mem[:bootInfo.NMem] {
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
	free := frames.FreeCount() * mm.PageSize
	var l klog.Line
	l.S("memory: ").U(ram >> 10).S(" KiB RAM; kernel footprint ").U((uint64(imageEnd-imageBase) + (frames.Total()*mm.PageSize - free) + (free - commitLimit) + low) >> 10)
	l.S(" KiB: image ").U(uint64(imageEnd-imageBase) >> 10).S(" KiB (").U(static >> 10).S(" KiB of it static data), ")
	l.U((frames.Total()*mm.PageSize - free) >> 10).S(" KiB allocated, ").U((free - commitLimit) >> 10).S(" KiB page-table reserve, ")
	l.U(low >> 10).S(" KiB below 1 MiB; ").U(commitLimit >> 10).S(" KiB for the program").Info()
}

// physToVirt returns the direct-map address of a physical address.
func physToVirt(pa uint64) uintptr { return directBase + uintptr(pa) }
