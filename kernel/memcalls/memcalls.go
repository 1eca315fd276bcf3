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
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Mmap runs mmap under the memory lock (vm.LockMem).
// Context: trap, kernel lock held, memory lock not held.
func Mmap(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	addr, length, prot, flags, fd, off := a[0], a[1], int(a[2]), int(a[3]), int(int32(a[4])), a[5]
	c := vm.LockMem()
	r := mmap(addr, length, prot, flags, fd, off)
	klock.Mem.Unlock(c)
	return r
}

// knownProt is the PROT_* bits mmap and mprotect act on. As Linux, mmap
// ignores any other bit, and mprotect refuses any other but protSem.
const knownProt = unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC

// protSem is PROT_SEM (asm-generic/mman-common.h), which mprotect takes
// on x86 (its arch_validate_prot) and which changes nothing.
const protSem = 0x8

// mmap is mmap(2) on the kernel lock's path: anonymous memory
// (mapAnon, which explains the commit accounting; a MAP_FIXED over pages
// the program touched is unmapped first), a regular file (mapFile) or
// /dev/mem (devices.MapDevice). Context: trap, kernel and memory locks
// held; does not allocate.
func mmap(addr, length uintptr, prot, flags, fd int, off uintptr) int64 {
	// Linux's order: the offset's alignment, the descriptor of a mapping
	// that is not anonymous (EBADF), then the length and the rest.
	var f *fdtab.File
	switch {
	case off%mm.PageSize != 0:
		return -abi.EINVAL
	case flags&unix.MAP_ANONYMOUS == 0:
		if f = fdtab.Get(fd); f == nil {
			return -abi.EBADF
		}
	}
	if length == 0 {
		return -abi.EINVAL
	}
	prot &= knownProt // Linux ignores the other bits
	if f != nil {
		switch {
		case f.Kind == fdtab.KindFile:
			return mapFile(f, addr, length, prot, flags, off)
		case f.Kind != fdtab.KindDevMem:
			return -abi.ENODEV
		case flags&unix.MAP_SHARED == 0:
			return -abi.EINVAL
		}
		return devices.MapDevice(addr, uintptr(mm.PageRoundUp(uint64(length))), prot, flags, off)
	}
	r, ok := mapAnon(addr, length, prot, flags)
	if ok {
		return r
	}
	// MAP_FIXED over pages of the program's: mapAnon checked everything
	// (the commit less what the range gives back) and changed nothing.
	// Unmap the range, then map it, untouched now.
	if !unmapRange(addr, addr+uintptr(mm.PageRoundUp(uint64(length)))) {
		return -abi.ENOMEM
	}
	if r, ok = mapAnon(addr, length, prot, flags); !ok {
		return -abi.ENOMEM // not reached: the range holds no page now
	}
	return r
}

// chargedBytes returns what [start, end) holds in the commit: the whole
// of its writable areas that are charged whole (not device memory, not
// lazily charged) and a page for each present page of its lazily charged
// areas. Context: trap, memory lock held; does not allocate.
func chargedBytes(start, end uintptr) uint64 {
	n := vm.VMAs.Bytes(start, end, mm.ProtWrite) - vm.VMAs.Bytes(start, end, mm.ProtWrite|mm.ProtDevice) - vm.VMAs.Bytes(start, end, mm.ProtWrite|mm.ProtLazy)
	return n + lazyBytes(start, end)
}

// lazyBytes returns the bytes of the present pages of the lazily charged
// areas (mm.ProtLazy) in [start, end): what they hold in the commit.
// Context: trap, memory lock held; does not allocate.
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
// own areas were never charged). Context: trap, memory lock held.
func uncharge(n uint64) {
	vm.Uncommit(n)
}

// unmapRange removes [start, end) from the address space: the areas, their
// commit charge, and every page (frames freed, TLB entries dropped).
// Context: trap, kernel and memory locks held; does not allocate.
func unmapRange(start, end uintptr) bool {
	devices.UnmapDeviceAreas(start, end) // their frames are not ours: unmap only
	if !dropAreas(start, end) {
		return false
	}
	freePages(start, end, false)
	return true
}

// dropAreas removes the areas of [start, end) and their commit charge,
// leaving the page table as it is: unmapRange's first half, and all of
// an unmap of a range that holds no page (untouched). It reports false,
// having changed nothing, when the area table has no room for a split.
// Context: trap, memory lock held; does not allocate.
func dropAreas(start, end uintptr) bool {
	released := chargedBytes(start, end)
	if !vm.VMAs.Remove(start, end) {
		return false
	}
	uncharge(released)
	return true
}

// freePages unmaps the pages of [start, end) that are present (for a
// madvise, advice set, but the kernel's own variables': frameBatch.unmap),
// makes every CPU forget them, and only then frees their frames (another
// CPU could still write through a stale TLB entry until the shootdown).
// Context: trap, kernel and memory locks held, the files lock held
// exclusively; does not allocate.
func freePages(start, end uintptr, advice bool) {
	var batch frameBatch
	for va := start; va < end; {
		var n int
		n, _, va = batch.unmap(va, end, advice)
		if n > 0 {
			batch.invalidate(n)
			tlb.Shootdown(percpu.This())
			batch.free(n)
		}
	}
}

// frameBatch holds pages unmapped together, their addresses and frames,
// until the TLB shootdown that makes them unreachable: 64 at a time, so
// that a large range's shootdowns are few and the batch fits a trap's
// stack.
type frameBatch [64]struct{ va, pa uintptr }

// unmap unmaps the pages of [start, end) that are present, from start,
// until the batch is full, and returns how many it holds, the bytes of
// those pages that lay in lazily charged areas (mm.ProtLazy: charged
// while present), and where the next batch begins (end when none is
// left). This CPU's TLB may still hold them: invalidate. For a madvise
// (advice set) it keeps the pages that hold the kernel's own variables
// (vm.IsKernelState: the image's data, which the program shares), which
// are not the program's to give back.
// Context: trap, memory lock held; does not allocate.
func (b *frameBatch) unmap(start, end uintptr, advice bool) (n int, lazy uint64, next uintptr) {
	for va := mm.KPT.NextMapped(start, end); va < end; va = mm.KPT.NextMapped(va+mm.PageSize, end) {
		if n == len(b) {
			return n, lazy, va
		}
		if advice && vm.IsKernelState(va, mm.PageSize, true) {
			continue
		}
		if pa, ok := mm.KPT.Unmap(va); ok {
			b[n].va, b[n].pa = va, uintptr(pa)
			n++
			if v, ok := vm.VMAs.Find(va); ok && v.Prot&mm.ProtLazy != 0 {
				lazy += mm.PageSize
			}
		}
	}
	return n, lazy, end
}

// invalidate drops the batch's first n pages from this CPU's TLB, before
// the shootdown drops them from the others'.
// Context: trap, memory lock held; does not allocate.
func (b *frameBatch) invalidate(n int) {
	for _, p := range b[:n] {
		cpu.Invlpg(p.va)
	}
}

// free frees the batch's first n frames. Context: trap, no CPU can reach
// them any more (a shootdown, and for AdviseFree the end of the calls
// beside); does not allocate.
func (b *frameBatch) free(n int) {
	for _, p := range b[:n] {
		vm.Frames.Free(uint64(p.pa))
	}
}

// callSpan checks the range (addr, length) of munmap, mprotect, madvise
// or msync (nr) as Linux does and returns its first address and its
// page-rounded end; or, done set, Linux's answer before it looks at the
// range: EINVAL (negative) for an unaligned address, for a munmap of no
// bytes or past the user half, for a madvise whose length wraps; ENOMEM
// for an mprotect or msync whose length wraps (but 0 for an msync whose
// length rounds up to 0); 0 for an mprotect, madvise or msync of no
// bytes and for a munmap wholly below the
// program's lowest address (nothing of its lies there). A munmap's range
// starts at that address at the lowest (vm.UserMin); the others' ranges
// are the areas' to check (an address outside them: ENOMEM).
// Context: any; does not allocate.
func callSpan(nr uint64, addr, length uintptr) (start, end uintptr, r int64, done bool) {
	n := uintptr(mm.PageRoundUp(uint64(length)))
	end = addr + n
	wraps := n < length || end < addr
	switch {
	case addr%mm.PageSize != 0:
		return 0, 0, -abi.EINVAL, true
	case nr == unix.SYS_MUNMAP && (length == 0 || wraps || end > vm.UserTop):
		return 0, 0, -abi.EINVAL, true
	case nr == unix.SYS_MUNMAP && end <= vm.UserMin:
		return 0, 0, 0, true
	case nr == unix.SYS_MUNMAP:
		return max(addr, vm.UserMin), end, 0, false
	case length == 0 || nr == unix.SYS_MSYNC && n == 0: // msync rounds first, then looks for no bytes
		return 0, 0, 0, true
	case wraps && nr == unix.SYS_MADVISE:
		return 0, 0, -abi.EINVAL, true
	case wraps:
		return 0, 0, -abi.ENOMEM, true
	}
	return addr, end, 0, false
}

// Munmap runs munmap under the memory lock (vm.LockMem).
// Context: trap, kernel lock held, memory lock not held.
func Munmap(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	c := vm.LockMem()
	r := munmap(a[0], a[1])
	klock.Mem.Unlock(c)
	return r
}

// munmap removes [addr, addr+length) from the address space.
// Context: trap, kernel and memory locks held; does not allocate.
func munmap(addr, length uintptr) int64 {
	start, end, r, done := callSpan(unix.SYS_MUNMAP, addr, length)
	if done {
		return r
	}
	if !unmapRange(start, end) {
		return -abi.ENOMEM
	}
	return 0
}

// Mprotect runs mprotect under the memory lock (vm.LockMem).
// Context: trap, kernel lock held, memory lock not held.
func Mprotect(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	addr, length, prot := a[0], a[1], int(a[2])
	c := vm.LockMem()
	r := mprotect(addr, length, prot)
	klock.Mem.Unlock(c)
	return r
}

// mprotect changes the protection of a fully mapped range (device
// memory excepted), recharging the commit for writability, and updates
// the present pages' entries on every CPU. Context: trap, kernel and
// memory locks held; does not allocate.
func mprotect(addr, length uintptr, prot int) int64 {
	_, end, r, done := callSpan(unix.SYS_MPROTECT, addr, length)
	switch {
	case done:
		return r
	case prot&^(knownProt|protSem) != 0:
		return -abi.EINVAL
	}
	prot &= knownProt
	if r := protectAreas(addr, end, prot); r != 0 {
		return r
	}
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

// protectAreas gives the areas of [addr, end) protection prot and
// recharges the commit for their writability, leaving the page table as
// it is: mprotect's first half, and all of it for a range that holds no
// page (untouched). It returns 0 or Linux's errno, negative, having
// changed nothing: ENOMEM where part of the range is not mapped (or the
// commit or the area table has no room), EINVAL for device memory.
// Context: trap, memory lock held; does not allocate.
func protectAreas(addr, end uintptr, prot int) int64 {
	if !wholeMapped(addr, end) {
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
	if !vm.TryCommit(newW, oldW) {
		return -abi.ENOMEM
	}
	if !vm.VMAs.Protect(addr, end, uint8(prot)) {
		vm.Commit(oldW) // back as it was
		vm.Uncommit(newW)
		return -abi.ENOMEM
	}
	return 0
}

// Madvise runs madvise under the memory lock (vm.LockMem), on the kernel
// lock's path, which holds the files lock exclusively too: the system-call
// table's handler. The trap path serves every madvise before that path
// (package kernel's memCall: MemLockCall, and AdviseFree for pages to give
// back, beside the other locks); this one answers the same, frees the
// frames at once (no call beside can reach them) and is kept for the
// table.
// Context: trap, kernel lock held, memory lock not held.
func Madvise(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	addr, length, advice := a[0], a[1], int(int32(a[2]))
	c := vm.LockMem()
	r := madvise(addr, length, advice)
	klock.Mem.Unlock(c)
	return r
}

// madvise gives memory back for the advice that frees (freeingAdvice:
// the pages read as zero afterwards, as on Linux for private anonymous
// memory) and accepts the other advice Linux knows as a no-op
// (adviceKnown). As Linux, it answers EINVAL for unknown advice before
// it looks at the range, and ENOMEM for a range not wholly mapped.
// Context: trap, kernel and memory locks held; does not allocate.
func madvise(addr, length uintptr, advice int) int64 {
	end, r, done := adviceRange(addr, length, advice)
	switch {
	case done:
		return r
	case !freeingAdvice(advice):
	case vm.VMAs.Bytes(addr, end, mm.ProtDevice) != 0:
		return -abi.EINVAL // as Linux for PFN mappings
	default:
		uncharge(lazyBytes(addr, end)) // lazily charged pages are charged while present
		freePages(addr, end, true)
	}
	return 0
}

// adviceRange checks a madvise's advice and range in Linux's order (the
// advice first) and returns the range's end, or, done set, the call's
// answer: EINVAL for unknown advice or a bad range, 0 for no bytes,
// ENOMEM for a range with holes. Context: trap, memory lock held; does
// not allocate.
func adviceRange(addr, length uintptr, advice int) (end uintptr, r int64, done bool) {
	if !adviceKnown(advice) {
		return 0, -abi.EINVAL, true
	}
	_, end, r, done = callSpan(unix.SYS_MADVISE, addr, length)
	if !done && !wholeMapped(addr, end) {
		return 0, -abi.ENOMEM, true
	}
	return end, r, done
}

// wholeMapped reports whether areas cover all of [start, end).
// Context: trap, memory lock held; does not allocate.
func wholeMapped(start, end uintptr) bool {
	return vm.VMAs.Bytes(start, end, 0) == uint64(end-start)
}

// adviceKnown reports whether madvise takes advice: Linux's
// (madvise_behavior_valid) but MADV_REMOVE (hole punching, which a
// private mapping refuses on Linux too), MADV_HWPOISON and
// MADV_SOFT_OFFLINE (a privileged test of memory failure) and the guard
// regions (MADV_GUARD_INSTALL, MADV_GUARD_REMOVE), which the kernel does
// not implement. Context: any; does not allocate.
func adviceKnown(advice int) bool {
	switch advice {
	case unix.MADV_NORMAL, unix.MADV_RANDOM, unix.MADV_SEQUENTIAL, unix.MADV_WILLNEED,
		unix.MADV_DONTNEED, unix.MADV_FREE, unix.MADV_DONTFORK, unix.MADV_DOFORK,
		unix.MADV_MERGEABLE, unix.MADV_UNMERGEABLE, unix.MADV_HUGEPAGE, unix.MADV_NOHUGEPAGE,
		unix.MADV_DONTDUMP, unix.MADV_DODUMP, unix.MADV_WIPEONFORK, unix.MADV_KEEPONFORK,
		unix.MADV_COLD, unix.MADV_PAGEOUT, unix.MADV_POPULATE_READ, unix.MADV_POPULATE_WRITE,
		unix.MADV_DONTNEED_LOCKED, unix.MADV_COLLAPSE:
		return true
	}
	return false
}

// freeingAdvice reports whether advice gives the pages back (their
// contents read as zero afterwards): MADV_DONTNEED, MADV_FREE, and
// MADV_DONTNEED_LOCKED, the same here (nothing is locked).
// Context: any; does not allocate.
func freeingAdvice(advice int) bool {
	return advice == unix.MADV_DONTNEED || advice == unix.MADV_FREE || advice == unix.MADV_DONTNEED_LOCKED
}
