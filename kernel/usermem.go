package kernel

import (
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/vm"
)

// ptr converts an address the kernel may touch into a pointer.
func ptr(a uintptr) unsafePointer { return cpu.Pointer(a) }

// demandFault maps a fresh zeroed frame at va if va lies in an area that
// allows the access. It reports false for an access the program may not
// make. Context: trap; does not allocate.
func demandFault(va uintptr, write, exec bool) bool {
	if _, flags, ok := mm.KPT.Lookup(va); ok && flags&mm.PTEUser != 0 {
		// Another CPU mapped it first: retry if it allows the access.
		return (!write || flags&mm.PTEWrite != 0) && (!exec || flags&mm.PTENoExec == 0)
	}
	v, ok := vm.VMAs.Find(va)
	if !ok || v.Prot&mm.ProtAccess == 0 || v.Prot&mm.ProtDevice != 0 {
		return false // device memory and shared file pages are mapped at mmap, never on demand
	}
	if (write && v.Prot&mm.ProtWrite == 0) || (exec && v.Prot&mm.ProtExec == 0) {
		return false
	}
	pa := vm.Frames.Alloc()
	if pa == 0 {
		outOfMemory(va)
	}
	if !mm.KPT.Map(&vm.Frames, va&^(mm.PageSize-1), pa, pteFlags(v.Prot&mm.ProtAccess)) {
		vm.Frames.Free(pa)
		outOfMemory(va)
	}
	if v.Prot&mm.ProtLazy != 0 {
		// Charged now that it is used; past vm.CommitLimit if need be (the
		// limit holds back the reserve of page tables, and every later
		// MAP_FIXED heap growth then fails with ENOMEM: the runtime's own
		// "out of memory" error, as close to Linux's overcommit as a
		// kernel without an OOM killer gets).
		vm.Committed += mm.PageSize
	}
	return true
}

// pteFlags returns the page-table flags for a user page with prot. A
// PROT_NONE page keeps its frame (and contents) but loses the user bit, so
// any access from the program faults.
func pteFlags(prot uint8) uint64 {
	if prot == 0 {
		return mm.PTENoExec
	}
	f := uint64(mm.PTEUser)
	if prot&mm.ProtWrite != 0 {
		f |= mm.PTEWrite
	}
	if prot&mm.ProtExec == 0 {
		f |= mm.PTENoExec
	}
	return f
}

// presentWritable reports whether the user page holding addr is mapped
// writable right now, without faulting anything in, and the byte at addr
// is not kernel state (kstate.go). Context: trap, no lock needed
// (page-table pages are never freed, the kernel-state table never changes).
func presentWritable(addr uintptr) bool {
	if addr < 0x1000 || addr >= vm.UserTop || isKernelState(addr, 1, true) {
		return false
	}
	_, flags, ok := mm.KPT.Lookup(addr)
	return ok && flags&mm.PTEUser != 0 && flags&mm.PTEWrite != 0
}

// userRange checks that the program may access [addr, addr+n) (writing if
// write is set) and faults in every page of it, so the kernel can then use
// the memory directly. Memory the program may touch itself but that holds
// the kernel's variables (kstate.go) fails the check. Context: trap; does
// not allocate.
func userRange(addr, n uintptr, write bool) bool {
	if n == 0 {
		return true
	}
	end := addr + n
	if end < addr || end > vm.UserTop || addr < 0x1000 || isKernelState(addr, n, write) {
		return false
	}
	for p := addr &^ (mm.PageSize - 1); p < end; p += mm.PageSize {
		_, flags, ok := mm.KPT.Lookup(p)
		if ok {
			if flags&mm.PTEUser == 0 || (write && flags&mm.PTEWrite == 0) {
				return false
			}
			continue
		}
		if !demandFault(p, write, false) {
			return false
		}
	}
	return true
}

// userBytes returns the program's memory [addr, addr+n) as a slice after
// checking it with userRange.
// Context: trap (system calls, and interrupts that complete a blocked read
// or epoll wait), kernel lock held; does not allocate.
func userBytes(addr, n uintptr, write bool) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	if !userRange(addr, n, write) {
		return nil, false
	}
	return unsafeSlice(addr, n), true
}

// userRead64 and friends read or write one naturally sized value, after
// checking it with userRange. Context: trap, kernel lock held; does not
// allocate.
func userRead64(addr uintptr) (uint64, bool) {
	if !userRange(addr, 8, false) {
		return 0, false
	}
	return *(*uint64)(ptr(addr)), true
}

// userRead32 reads a 32-bit value of the program's memory. Context: trap, kernel lock held; does not allocate.
func userRead32(addr uintptr) (uint32, bool) {
	if !userRange(addr, 4, false) {
		return 0, false
	}
	return *(*uint32)(ptr(addr)), true
}

// userWrite64 writes a 64-bit value to the program's memory. Context: trap, kernel lock held; does not allocate.
func userWrite64(addr uintptr, v uint64) bool {
	if !userRange(addr, 8, true) {
		return false
	}
	*(*uint64)(ptr(addr)) = v
	return true
}

// userWrite32 writes a 32-bit value to the program's memory. Context: trap, kernel lock held; does not allocate.
func userWrite32(addr uintptr, v uint32) bool {
	if !userRange(addr, 4, true) {
		return false
	}
	*(*uint32)(ptr(addr)) = v
	return true
}

// outOfMemory ends the program when no frame is left for a page it may
// touch (mmap's commit accounting should make this rare). Context: trap.
func outOfMemory(va uintptr) {
	var l klog.Line
	l.S("out of physical memory while faulting in ").X(uint64(va)).S(": stopping the program").Print()
	shutdown(137)
}
