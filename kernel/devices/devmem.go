package devices

import (
	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/vm"
	"golang.org/x/sys/unix"
)

// Device access for drivers that run as goroutines (kernel/ring3/kgo): /dev/mem
// maps physical memory into the program, but only device memory (what the
// memory map does not call RAM, such as PCI BARs and the local APIC) and
// the DMA pool, a physically contiguous region reserved at boot whose
// address /proc/gometal/dma gives. Device mappings are uncached; the pool
// is ordinary memory (x86 DMA is cache-coherent). The pool is taken when a
// driver first asks for it (reads /proc/gometal/dma), not at boot: a
// program without a network driver never pays for it.
const DMAPoolPages = 512 // 2 MiB: virtio-net rings and packet buffers

// DMAPool and DMAPoolSize are the pool's physical address and size,
// zero until a driver asks for it (EnsureDMAPool).
var DMAPool, DMAPoolSize uint64

// The boot memory map (SetMemoryMap), which physKind reads: RAM is not
// for /dev/mem.
var (
	memMap  [boot.MaxRegions]boot.Region
	nMemMap int
)

// SetMemoryMap records info's memory map for /dev/mem. Context: boot.
func SetMemoryMap(info *boot.Info) {
	nMemMap = copy(memMap[:], info.Mem[:info.NMem])
}

// EnsureDMAPool takes the pool from the frame allocator's fresh frames
// (contiguous; early in the program's life plenty are left) and charges
// it to the commit, the first time a driver asks for it. It leaves the
// pool empty when the commit limit cannot hold it or no contiguous run is
// left. Context: trap, kernel lock held; does not allocate.
func EnsureDMAPool() {
	const size = DMAPoolPages * mm.PageSize
	if DMAPoolSize != 0 || !vm.CommitFits(size, 0) {
		return
	}
	if pa := vm.Frames.AllocContiguous(DMAPoolPages); pa != 0 {
		DMAPool, DMAPoolSize = pa, size
		vm.Commit(size)
	}
}

// physKind says what [pa, pa+n) is: device memory, the DMA pool, or
// neither (RAM the kernel manages, or a mix), which /dev/mem refuses.
// Context: trap; does not allocate.
func physKind(pa, n uint64) (device, pool bool) {
	end := pa + n
	if end < pa {
		return false, false
	}
	if DMAPoolSize != 0 && pa >= DMAPool && end <= DMAPool+DMAPoolSize {
		return false, true
	}
	for _, r := range memMap[:nMemMap] {
		if r.Type == boot.RegionRAM && pa < r.Base+r.Size && end > r.Base {
			return false, false
		}
	}
	return true, false // not RAM: device memory (or firmware's)
}

// MapDevice implements mmap of /dev/mem: the physical range at off, at a
// new area of the address space. Context: trap, kernel and memory locks
// held.
func MapDevice(addr, n uintptr, prot, flags int, off uintptr) int64 {
	device, pool := physKind(uint64(off), uint64(n))
	if !device && !pool {
		return -abi.EPERM // RAM the kernel manages: not for /dev/mem
	}
	if flags&unix.MAP_FIXED != 0 {
		if addr%mm.PageSize != 0 || addr < vm.UserMin || addr+n > vm.UserTop || !vm.VMAs.IsFree(addr, addr+n) {
			return -abi.EINVAL // no replacing mappings with device memory
		}
	} else {
		a, ok := vm.VMAs.FindFree(addr&^(mm.PageSize-1), n, vm.UserMin, vm.MmapTop)
		if !ok {
			return -abi.ENOMEM
		}
		addr = a
	}
	pflags := vm.PTEFlags(uint8(prot))
	if device {
		pflags |= mm.PTENoCache | mm.PTEWriteThr
	}
	for i := uintptr(0); i < n; i += mm.PageSize {
		if !mm.KPT.Map(&vm.Frames, addr+i, uint64(off+i), pflags) {
			UnmapDevice(addr, addr+i)
			return -abi.ENOMEM
		}
	}
	if !vm.VMAs.Insert(addr, addr+n, uint8(prot)|mm.ProtDevice) {
		UnmapDevice(addr, addr+n)
		return -abi.ENOMEM
	}
	return int64(addr)
}

// UnmapDevice removes the page-table entries of a device range without
// freeing the frames behind them. Context: trap, kernel and memory locks
// held.
func UnmapDevice(start, end uintptr) {
	for va := mm.KPT.NextMapped(start, end); va < end; va = mm.KPT.NextMapped(va+mm.PageSize, end) {
		if _, ok := mm.KPT.Unmap(va); ok {
			cpu.Invlpg(va)
		}
	}
	tlb.Shootdown(percpu.This())
}

// UnmapDeviceAreas unmaps the device areas inside [start, end) (before
// their areas are removed and the rest of the range's frames are freed).
// Context: trap, kernel and memory locks held.
func UnmapDeviceAreas(start, end uintptr) {
	for i := 0; i < vm.VMAs.Len(); i++ {
		v := vm.VMAs.At(i)
		if v.Prot&mm.ProtDevice != 0 && v.Start < end && v.End > start {
			UnmapDevice(max(start, v.Start), min(end, v.End))
		}
	}
}
