package memcalls

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/vm"
	"golang.org/x/sys/unix"
)

// The memory calls under the memory lock alone (issue 18). The kernel
// lock's path (Mmap, Munmap, Mprotect, Madvise) may unmap or
// write-protect pages the program has touched; the calls under the files
// lock alone and those under the kernel lock use such pages directly
// once faulted in (vm.UserBytes), which is why that path holds both
// locks, and it frees frames only after a TLB shootdown. A call whose
// range holds no page and no device memory (untouched) changes the areas
// and the commit charge, never a page-table entry: no shootdown, no
// frame freed, nothing another CPU may be using. The Go runtime's calls
// are almost all of that kind (its reservations, the heap growth that
// maps part of a PROT_NONE reservation with MAP_FIXED, the unmaps of
// ranges it never touched), and MemLockCall serves them.

// MemLockCallNr reports whether system call nr is one MemLockCall may
// serve. Context: any; does not allocate.
func MemLockCallNr(nr uint64) bool {
	return nr == unix.SYS_MMAP || nr == unix.SYS_MUNMAP || nr == unix.SYS_MPROTECT || nr == unix.SYS_MADVISE
}

// MemLockCall serves mmap, munmap, mprotect or madvise (nr, with the
// call's arguments a0 to a5) under the memory lock alone when it needs
// no more: an anonymous mmap placed by the kernel, or one with MAP_FIXED
// over a range that holds no page (untouched); a munmap, an mprotect or
// a madvise(MADV_DONTNEED or MADV_FREE) of such a range; any other
// madvise; and a call whose arguments are wrong (Linux's errno, having
// changed nothing). It reports false, having changed nothing, for every
// other call: the kernel lock's path serves it from the start, and
// answers as it would have (a range that holds pages is a valid one).
// Context: trap, memory lock held, kernel lock not held; does not
// allocate.
func MemLockCall(nr uint64, a0, a1, a2, a3, a5 uintptr) (int64, bool) {
	if nr == unix.SYS_MMAP {
		switch {
		case int(a3)&unix.MAP_ANONYMOUS == 0:
			return 0, false // a file or /dev/mem: the file layer's
		case a1 == 0 || a5%mm.PageSize != 0:
			return -abi.EINVAL, true // as mmap checks every kind
		}
		return mapAnon(a0, a1, int(a2)&knownProt, int(a3)) // Linux ignores the other bits
	}
	if nr == unix.SYS_MADVISE {
		advice := int(int32(a2)) // an int on Linux
		end, r, done := adviceRange(a0, a1, advice)
		switch {
		case done:
			return r, true
		case freeingAdvice(advice) && !untouched(a0, end):
			return 0, false
		}
		return 0, true // advice taken as a no-op, or nothing to give back
	}
	start, end, r, done := callSpan(nr, a0, a1)
	switch {
	case done:
		return r, true
	case nr == unix.SYS_MPROTECT && int(a2)&^(knownProt|protSem) != 0:
		return -abi.EINVAL, true
	case !untouched(start, end):
		return 0, false
	case nr == unix.SYS_MPROTECT:
		return protectAreas(start, end, int(a2)&knownProt), true
	case !dropAreas(start, end): // munmap
		return -abi.ENOMEM, true
	}
	return 0, true
}

// untouched reports whether [start, end) holds no page of the program's
// (no page-table entry) and no device memory (/dev/mem's areas and
// shared file mappings, whose pages are the device's or the file's).
// Context: trap, memory lock held; does not allocate.
func untouched(start, end uintptr) bool {
	for va := mm.KPT.NextMapped(start, end); va < end; va = mm.KPT.NextMapped(va+mm.PageSize, end) {
		if _, _, ok := mm.KPT.Lookup(va); ok {
			return false
		}
	}
	return vm.VMAs.Bytes(start, end, mm.ProtDevice) == 0
}

// mapAnon maps anonymous memory (mmap's arguments but the descriptor,
// checked by the caller as far as mmap checks them for every kind, prot
// within knownProt) and
// returns its address or Linux's errno (EINVAL, ENOMEM, EEXIST),
// negative, having changed nothing (but for a MAP_FIXED whose new area
// finds the area table full: its range is left unmapped). It refuses
// (false), having changed nothing, a MAP_FIXED over a range that holds
// pages (untouched): only the kernel lock's path may unmap them, and it
// then calls mapAnon again (mmap). The charge, less what the range held,
// is checked and taken in one step (vm.TryCommit).
//
// Commit accounting is a heuristic overcommit, as Linux's default is in
// spirit: a writable mapping at an address of the kernel's choosing (the
// Go runtime's sysAlloc: its 32 MiB heap arena index, persistentalloc
// chunks, page-allocator indexes, all sparsely used) is charged a page at
// a time as the program touches it (mm.ProtLazy), so its untouched part
// costs nothing; a writable MAP_FIXED mapping (the runtime's sysMap, which
// turns part of a PROT_NONE reservation into heap it is about to use) is
// charged whole, now, and refused with ENOMEM when the commit (lazy pages
// touched so far included, less what the range held) would pass
// vm.CommitLimit. So a program that really uses more memory than the
// machine has gets ENOMEM when its heap grows, and the Go runtime its own
// "out of memory" error, rather than a fault later.
// Context: trap, memory lock held; does not allocate.
func mapAnon(addr, length uintptr, prot, flags int) (int64, bool) {
	if t := flags & unix.MAP_TYPE; t != unix.MAP_PRIVATE && t != unix.MAP_SHARED {
		return -abi.EINVAL, true // as Linux, MAP_SHARED_VALIDATE too: files only
	}
	n := uintptr(mm.PageRoundUp(uint64(length)))
	if n < length {
		return -abi.ENOMEM, true
	}
	noReplace := flags&unix.MAP_FIXED_NOREPLACE != 0
	fixed := flags&unix.MAP_FIXED != 0 && !noReplace // NOREPLACE wins, as on Linux
	if fixed || noReplace {
		switch {
		case addr%mm.PageSize != 0:
			return -abi.EINVAL, true
		case addr < vm.UserMin || addr+n > vm.UserTop || addr+n < addr:
			return -abi.ENOMEM, true
		case noReplace && !vm.VMAs.IsFree(addr, addr+n):
			return -abi.EEXIST, true
		}
	} else {
		a, ok := vm.VMAs.FindFree(addr&^(mm.PageSize-1), n, vm.UserMin, vm.MmapTop)
		if !ok {
			return -abi.ENOMEM, true
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
	release := chargedBytes(addr, addr+n) // what MAP_FIXED replaces is given back
	switch {
	case fixed && !untouched(addr, addr+n):
		if !vm.CommitFits(charge, release) {
			return -abi.ENOMEM, true
		}
		return 0, false
	case !vm.TryCommit(charge, release):
		return -abi.ENOMEM, true
	case fixed && !vm.VMAs.Remove(addr, addr+n):
		vm.Commit(release) // back as it was
		vm.Uncommit(charge)
		return -abi.ENOMEM, true
	case !vm.VMAs.Insert(addr, addr+n, area):
		vm.Uncommit(charge) // the range stays unmapped
		return -abi.ENOMEM, true
	}
	return int64(addr), true
}
