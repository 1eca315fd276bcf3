package memcalls

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/devices"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/vm"
	"golang.org/x/sys/unix"
)

// Mmap runs mmap under the memory lock (lockMem).
// Context: trap, kernel lock held, memory lock not held.
func Mmap(addr, length uintptr, prot, flags, fd int, off uintptr) int64 {
	c := lockMem()
	r := mmap(addr, length, prot, flags, fd, off)
	unlockMem(c)
	return r
}

// mmap implements anonymous mmap: hinted, fixed and PROT_NONE
// reservations, backed lazily by vm.DemandFault.
//
// Commit accounting is a heuristic overcommit, as Linux's default is in
// spirit: a writable mapping at an address of the kernel's choosing (the
// Go runtime's sysAlloc: its 32 MiB heap arena index, persistentalloc
// chunks, page-allocator indexes, all sparsely used) is charged a page at
// a time as the program touches it (mm.ProtLazy), so its untouched part
// costs nothing; a writable MAP_FIXED mapping (the runtime's sysMap, which
// turns part of a PROT_NONE reservation into heap it is about to use) is
// charged whole, now, and refused with ENOMEM when the commit (lazy pages
// touched so far included) would pass vm.CommitLimit. So a program that
// really uses more memory than the machine has gets ENOMEM when its heap
// grows, and the Go runtime its own "out of memory" error, rather than a
// fault later. Context: trap.
func mmap(addr, length uintptr, prot, flags, fd int, off uintptr) int64 {
	const knownProt = unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC
	if length == 0 || prot&^knownProt != 0 || off%mm.PageSize != 0 {
		return -abi.EINVAL
	}
	if flags&unix.MAP_ANONYMOUS == 0 {
		f := fdtab.Get(fd)
		switch {
		case f == nil:
			return -abi.EBADF
		case f.Kind == fdtab.KindFile:
			return mapFile(f, addr, length, prot, flags, off)
		case f.Kind != fdtab.KindDevMem:
			return -abi.ENODEV
		case flags&unix.MAP_SHARED == 0:
			return -abi.EINVAL
		}
		return devices.MapDevice(addr, uintptr(mm.PageRoundUp(uint64(length))), prot, flags, off)
	}
	if flags&(unix.MAP_PRIVATE|unix.MAP_SHARED) == 0 {
		return -abi.EINVAL
	}
	n := uintptr(mm.PageRoundUp(uint64(length)))
	if n < length {
		return -abi.ENOMEM
	}
	fixed := flags&unix.MAP_FIXED != 0
	noReplace := flags&unix.MAP_FIXED_NOREPLACE != 0
	if fixed || noReplace {
		if addr%mm.PageSize != 0 {
			return -abi.EINVAL
		}
		if addr < vm.UserMin || addr+n > vm.UserTop || addr+n < addr {
			return -abi.ENOMEM
		}
		if !vm.VMAs.IsFree(addr, addr+n) {
			if noReplace && !fixed {
				return -abi.EEXIST
			}
		}
	} else {
		a, ok := vm.VMAs.FindFree(addr&^(mm.PageSize-1), n, vm.UserMin, vm.MmapTop)
		if !ok {
			return -abi.ENOMEM
		}
		addr = a
	}
	var charge uint64
	area := uint8(prot)
	switch {
	case prot&unix.PROT_WRITE == 0:
	case fixed || noReplace:
		charge = uint64(n)
	default:
		area |= mm.ProtLazy // charged page by page in vm.DemandFault
	}
	release := chargedBytes(addr, addr+n) // replaced by MAP_FIXED
	if !vm.CommitFits(charge, release) {
		return -abi.ENOMEM
	}
	if fixed && !unmapRange(addr, addr+n) {
		return -abi.ENOMEM
	}
	if !vm.VMAs.Insert(addr, addr+n, area) {
		return -abi.ENOMEM
	}
	vm.Commit(charge)
	return int64(addr)
}

// chargedBytes returns what [start, end) holds in the commit: the whole
// of its writable areas that are charged whole (not device memory, not
// lazily charged) and a page for each present page of its lazily charged
// areas. Context: trap, kernel lock held; does not allocate.
func chargedBytes(start, end uintptr) uint64 {
	n := vm.VMAs.Bytes(start, end, mm.ProtWrite) - vm.VMAs.Bytes(start, end, mm.ProtWrite|mm.ProtDevice) - vm.VMAs.Bytes(start, end, mm.ProtWrite|mm.ProtLazy)
	return n + lazyBytes(start, end)
}

// lazyBytes returns the bytes of the present pages of the lazily charged
// areas (mm.ProtLazy) in [start, end): what they hold in the commit.
// Context: trap, kernel lock held; does not allocate.
func lazyBytes(start, end uintptr) uint64 {
	var n uint64
	for i := vm.VMAs.Index(start); i < vm.VMAs.Len(); i++ {
		v := vm.VMAs.At(i)
		if v.Start >= end {
			break
		}
		if v.Prot&mm.ProtLazy == 0 {
			continue
		}
		lo, hi := max(start, v.Start), min(end, v.End)
		for va := mm.KPT.NextMapped(lo, hi); va < hi; va = mm.KPT.NextMapped(va+mm.PageSize, hi) {
			if _, _, ok := mm.KPT.Lookup(va); ok {
				n += mm.PageSize
			}
		}
	}
	return n
}

// uncharge takes n bytes off the commit (never below zero: the image's
// own areas were never charged). Context: trap, kernel lock held.
func uncharge(n uint64) {
	vm.Uncommit(n)
}

// unmapRange removes [start, end) from the address space: the areas, their
// commit charge, and every page (frames freed, TLB entries dropped).
// Context: trap, kernel lock held; does not allocate.
func unmapRange(start, end uintptr) bool {
	devices.UnmapDeviceAreas(start, end) // their frames are not ours: unmap only
	released := chargedBytes(start, end)
	if !vm.VMAs.Remove(start, end) {
		return false
	}
	uncharge(released)
	freePages(start, end)
	return true
}

// freePages unmaps the pages of [start, end) that are present, makes every
// CPU forget them, and only then frees their frames (another CPU could
// still write through a stale TLB entry until the shootdown).
// Context: trap, kernel lock held; does not allocate.
func freePages(start, end uintptr) {
	var batch [64]uint64
	n := 0
	flush := func() {
		if n > 0 {
			tlb.Shootdown(percpu.This())
			for _, pa := range batch[:n] {
				vm.Frames.Free(pa)
			}
			n = 0
		}
	}
	for va := mm.KPT.NextMapped(start, end); va < end; va = mm.KPT.NextMapped(va+mm.PageSize, end) {
		if pa, ok := mm.KPT.Unmap(va); ok {
			cpu.Invlpg(va)
			batch[n] = pa
			n++
			if n == len(batch) {
				flush()
			}
		}
	}
	flush()
}

// userSpan validates an (addr, length) pair of munmap, mprotect and
// madvise and returns the page-rounded end.
func userSpan(addr, length uintptr) (uintptr, bool) {
	if addr%mm.PageSize != 0 || addr < vm.UserMin {
		return 0, false
	}
	end := addr + uintptr(mm.PageRoundUp(uint64(length)))
	if end < addr || end > vm.UserTop {
		return 0, false
	}
	return end, true
}

// Munmap runs munmap under the memory lock (lockMem).
// Context: trap, kernel lock held, memory lock not held.
func Munmap(addr, length uintptr) int64 {
	c := lockMem()
	r := munmap(addr, length)
	unlockMem(c)
	return r
}

// munmap removes [addr, addr+length) from the address space.
// Context: trap, kernel lock held; does not allocate.
func munmap(addr, length uintptr) int64 {
	end, ok := userSpan(addr, length)
	if !ok || length == 0 {
		return -abi.EINVAL
	}
	if !unmapRange(addr, end) {
		return -abi.ENOMEM
	}
	return 0
}

// Mprotect runs mprotect under the memory lock (lockMem).
// Context: trap, kernel lock held, memory lock not held.
func Mprotect(addr, length uintptr, prot int) int64 {
	c := lockMem()
	r := mprotect(addr, length, prot)
	unlockMem(c)
	return r
}

// mprotect changes the protection of a fully mapped range (device
// memory excepted), recharging the commit for writability, and updates
// the present pages' entries on every CPU. Context: trap, kernel lock held; does not allocate.
func mprotect(addr, length uintptr, prot int) int64 {
	end, ok := userSpan(addr, length)
	if !ok || prot&^(unix.PROT_READ|unix.PROT_WRITE|unix.PROT_EXEC) != 0 {
		return -abi.EINVAL
	}
	if vm.VMAs.Bytes(addr, end, 0) != uint64(end-addr) {
		return -abi.ENOMEM // Linux: part of the range is not mapped
	}
	if vm.VMAs.Bytes(addr, end, mm.ProtDevice) != 0 {
		return -abi.EINVAL // device memory keeps its protection
	}
	// Lazily charged areas stay so (their touched pages stay charged);
	// the others are charged whole while writable.
	lazy := vm.VMAs.Bytes(addr, end, mm.ProtLazy)
	oldW := vm.VMAs.Bytes(addr, end, mm.ProtWrite) - vm.VMAs.Bytes(addr, end, mm.ProtWrite|mm.ProtLazy)
	var newW uint64
	if prot&unix.PROT_WRITE != 0 {
		newW = uint64(end-addr) - lazy
	}
	if !vm.CommitFits(newW, oldW) {
		return -abi.ENOMEM
	}
	if !vm.VMAs.Protect(addr, end, uint8(prot)) {
		return -abi.ENOMEM
	}
	vm.Uncommit(oldW)
	vm.Commit(newW)
	changed := false
	for va := mm.KPT.NextMapped(addr, end); va < end; va = mm.KPT.NextMapped(va+mm.PageSize, end) {
		if mm.KPT.Protect(va, vm.PTEFlags(uint8(prot))) {
			cpu.Invlpg(va)
			changed = true
		}
	}
	if changed {
		tlb.Shootdown(percpu.This())
	}
	return 0
}

// Madvise runs madvise under the memory lock (lockMem).
// Context: trap, kernel lock held, memory lock not held.
func Madvise(addr, length uintptr, advice int) int64 {
	c := lockMem()
	r := madvise(addr, length, advice)
	unlockMem(c)
	return r
}

// madvise gives memory back for MADV_DONTNEED and MADV_FREE (the pages
// read as zero afterwards, as on Linux for private anonymous memory) and
// accepts the other advice as a no-op.
// Context: trap, kernel lock held; does not allocate.
func madvise(addr, length uintptr, advice int) int64 {
	end, ok := userSpan(addr, length)
	if !ok {
		return -abi.EINVAL
	}
	switch advice {
	case unix.MADV_DONTNEED, unix.MADV_FREE:
		if vm.VMAs.Bytes(addr, end, 0) != uint64(end-addr) {
			return -abi.ENOMEM
		}
		if vm.VMAs.Bytes(addr, end, mm.ProtDevice) != 0 {
			return -abi.EINVAL // as Linux for PFN mappings
		}
		uncharge(lazyBytes(addr, end)) // lazily charged pages are charged while present
		freePages(addr, end)
	}
	return 0
}

// lockMem takes the memory lock (klock.Mem) for a call that changes the
// areas or the page table, which keeps the program's page faults (mapped
// under that lock alone) out meanwhile; it records the kernel lock's
// hold tag (the system call) as its holder's and returns the CPU.
// Context: trap, kernel lock held; does not allocate.
func lockMem() *percpu.CPU {
	c := percpu.This()
	klock.Mem.Lock(c)
	klock.Mem.SetHolder(klock.Kernel.Tag())
	return c
}

// unlockMem releases the memory lock lockMem took on c. Context: trap,
// kernel lock held; does not allocate.
func unlockMem(c *percpu.CPU) { klock.Mem.Unlock(c) }
