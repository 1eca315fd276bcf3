package memcalls

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/tlb"
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
// ranges it never touched), and MemLockCall serves them. A madvise that
// gives pages back (MADV_DONTNEED, MADV_FREE: the runtime's scavenger)
// does not wait for the other locks either: AdviseFree unmaps the pages
// under the memory lock and frees their frames once the calls beside
// that could still reach them have ended.

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
	case !untouched(start, end) || zapOpen(start, end):
		return 0, false
	case nr == unix.SYS_MPROTECT:
		return protectAreas(start, end, int(a2)&knownProt), true
	case !dropAreas(start, end): // munmap
		return -abi.ENOMEM, true
	}
	return 0, true
}

// zapMarks are the section marks of AdviseFree's latest batches (the
// latest per CPU: a count only grows, so a section marked earlier and
// still open has the same count now), under the memory lock.
var zapMarks klock.Sections

// zapOpen reports whether [start, end) holds areas the program may access
// while a call under the kernel or files lock that was in progress at an
// AdviseFree batch's shootdown is still going on (zapMarks). Such a call
// may have checked pages of the range that the madvise then gave back:
// the range holds no page now (untouched), but the call's access faults
// the page in again (package kernel's kernelDemandFault), which needs the
// area as it was. So an unmap, a protection change or a MAP_FIXED over
// such a range goes to the kernel lock's path until those calls have
// ended; that path holds the files lock exclusively and the kernel lock,
// so no such call runs beside it.
// Context: trap, memory lock held; does not allocate.
func zapOpen(start, end uintptr) bool {
	return zapMarks.Open() && accessible(start, end)
}

// accessible reports whether an area of [start, end) allows the program
// some access (not PROT_NONE). Context: trap, memory lock held; does not
// allocate.
func accessible(start, end uintptr) bool {
	for i := vm.VMAs.Index(start); i < vm.VMAs.Len(); i++ {
		v := vm.VMAs.At(i)
		if v.Start >= end {
			break
		}
		if v.Prot&mm.ProtAccess != 0 {
			return true
		}
	}
	return false
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
	case fixed && (!untouched(addr, addr+n) || zapOpen(addr, addr+n)):
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

// AdviseFree serves a madvise whose advice gives pages back
// (freeingAdvice) over a range that holds pages (MemLockCall refused it),
// beside the calls under the kernel lock and the files lock, which use
// the program's memory directly. A batch at a time (frameBatch), under
// the memory lock (tag is the call's hold tag): it unmaps the present
// pages, takes lazily charged ones off the commit, sends the other
// CPUs' TLBs the shootdown (tlb.Post: those in ring 3 flush) and marks
// which CPUs are in a call under the kernel or files lock
// (klock.Sections); then, with the lock released, it waits for the CPUs
// in ring 3 to flush (tlb.AwaitAcks) and for those calls to end, and
// frees the frames; a call that gave pages back counts madvise_beside.
// Until then such a call reaches either the old frame, through a
// translation loaded before, or no page, and then faults a fresh zeroed
// one in (package kernel's kernelDemandFault), as the program's own
// access after the madvise would: a program that reads into memory it
// gives back beside gets one or the other, as on Linux. The range is
// checked in Linux's order first (adviceRange: EINVAL, ENOMEM; device
// memory, EINVAL); a later batch that finds the range changed beside
// this call (part of it unmapped, or device memory mapped in what is
// left) ends the call, which answers 0, having given back what lay
// before.
// Context: trap, no lock held, c.InUser clear; does not allocate.
func AdviseFree(c *percpu.CPU, tag uint64, addr, length uintptr, advice int) int64 {
	var batch frameBatch
	var marks klock.Sections
	gave := false
	for va, first := addr, true; ; first = false {
		klock.Mem.Lock(c)
		klock.Mem.SetHolder(tag)
		end, r, done := adviceRange(addr, length, advice)
		if !done && vm.VMAs.Bytes(va, end, mm.ProtDevice) != 0 {
			r, done = -abi.EINVAL, true // as Linux for PFN mappings
		}
		if done && !first {
			r = 0 // the range changed beside: what lay before it is given back
		}
		if done || va >= end {
			klock.Mem.Unlock(c)
			if gave {
				percpu.Count(c, percpu.EvMadviseBeside)
			}
			return r
		}
		n, lazy, next := batch.unmap(va, end, true)
		vm.Uncommit(lazy)
		var g uint64
		if n > 0 {
			batch.invalidate(n)
			g = tlb.Post(c)
			marks.Mark()
			zapMarks = marks // zapOpen: until the calls marked end
		}
		klock.Mem.Unlock(c)
		if n > 0 {
			tlb.AwaitAcks(c, g) // without the lock: tlb.Post says why
			marks.Await(c)
			batch.free(n)
			gave = true
		}
		va = next
	}
}
