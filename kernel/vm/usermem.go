package vm

import (
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
)

// FaultResult says what a demand fault did (MapOnFault).
type FaultResult uint8

// What MapOnFault did.
const (
	FaultMapped  FaultResult = iota // the page is mapped: now, or already by another CPU
	FaultDenied                     // the program may not make this access there
	FaultNoFrame                    // the access is allowed, but no frame is left
)

// DemandFault maps a fresh zeroed frame at va if va lies in an area that
// allows the access (MapOnFault), under the memory lock. It reports false
// for an access the program may not make, and when no frame is left
// (OutOfMemory then says so: the caller must not treat it as the
// program's bad access). Context: trap, kernel or files lock held (a
// call on a file's descriptor holds the files lock alone:
// kernel/filetrap.go), memory lock not held; does not allocate.
func DemandFault(va uintptr, write, exec bool) bool {
	c := LockMem()
	r := MapOnFault(va, write, exec)
	if r == FaultNoFrame {
		outOfMemory(va)
	}
	klock.Mem.Unlock(c)
	return r == FaultMapped
}

// LockMem takes the memory lock (klock.Mem) for a holder of the kernel
// lock or the files lock, recording that lock's hold tag (the system
// call) as its holder's (none for a shared hold of the files lock, which
// keeps no tag), and returns the CPU; klock.Mem.Unlock(c) releases it. The areas (VMAs) change under the memory lock alone
// (kernel.memCall), so their readers hold it too.
// Context: trap, kernel or files lock held, memory lock not held; does
// not allocate.
func LockMem() *percpu.CPU {
	c := percpu.This()
	tag := uint64(0)
	if klock.Kernel.HeldBy(c) {
		tag = klock.Kernel.Tag()
	} else if klock.Files.HeldBy(c) {
		tag = klock.Files.Tag()
	}
	klock.Mem.Lock(c)
	klock.Mem.SetHolder(tag)
	return c
}

// InArea reports whether addr lies in one of the program's areas.
// Context: trap, kernel lock held, memory lock not held; does not
// allocate.
func InArea(addr uintptr) bool {
	c := LockMem()
	_, ok := VMAs.Find(addr)
	klock.Mem.Unlock(c)
	return ok
}

// AreaBytes returns the size of the program's areas: its address space.
// Context: trap, kernel lock held, memory lock not held; does not
// allocate.
func AreaBytes() uint64 {
	c := LockMem()
	n := VMAs.Bytes(0, UserTop, 0)
	klock.Mem.Unlock(c)
	return n
}

// MapOnFault maps a fresh zeroed frame at va if va lies in an area that
// allows the access, and charges it to the commit if its area is charged
// page by page. It prints nothing and records nothing on failure: the
// page-fault path that holds only the memory lock (kernel/memfault.go)
// hands every failure to the locked path, which faults again through
// DemandFault. Context: trap, memory lock held; does not allocate.
func MapOnFault(va uintptr, write, exec bool) FaultResult {
	if _, flags, ok := mm.KPT.Lookup(va); ok && flags&mm.PTEUser != 0 {
		// Another CPU mapped it first: retry if it allows the access.
		if (!write || flags&mm.PTEWrite != 0) && (!exec || flags&mm.PTENoExec == 0) {
			return FaultMapped
		}
		return FaultDenied
	}
	v, ok := VMAs.Find(va)
	if !ok || v.Prot&mm.ProtAccess == 0 || v.Prot&mm.ProtDevice != 0 {
		return FaultDenied // device memory and shared file pages are mapped at mmap, never on demand
	}
	if (write && v.Prot&mm.ProtWrite == 0) || (exec && v.Prot&mm.ProtExec == 0) {
		return FaultDenied
	}
	pa := Frames.Alloc()
	if pa == 0 {
		return FaultNoFrame
	}
	if !mm.KPT.Map(&Frames, va&^(mm.PageSize-1), pa, PTEFlags(v.Prot&mm.ProtAccess)) {
		Frames.Free(pa)
		return FaultNoFrame
	}
	if v.Prot&mm.ProtLazy != 0 {
		// Charged now that it is used; past CommitLimit if need be (the
		// limit holds back the reserve of page tables, and every later
		// MAP_FIXED heap growth then fails with ENOMEM: the runtime's own
		// "out of memory" error, as close to Linux's overcommit as a
		// kernel without an OOM killer gets).
		Commit(mm.PageSize)
	}
	return FaultMapped
}

// PTEFlags returns the page-table flags for a user page with prot. A
// PROT_NONE page keeps its frame (and contents) but loses the user bit, so
// any access from the program faults. Context: any; does not allocate.
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func PTEFlags(prot uint8) uint64 {
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

// PresentWritable reports whether the user page holding addr is mapped
// writable right now, without faulting anything in, and the byte at addr
// is not kernel state (kstate.go). Context: trap, no lock needed
// (page-table pages are never freed, the kernel-state table never changes).
func PresentWritable(addr uintptr) bool {
	if addr < 0x1000 || addr >= UserTop || IsKernelState(addr, 1, true) {
		return false
	}
	_, flags, ok := mm.KPT.Lookup(addr)
	return ok && userAccess(flags, true)
}

// MayAccessLockFree reports whether an access at addr without the kernel
// lock (a store if write is set, else a load) may be tried: addr is in
// the user half (past the first page) and not kernel state, and its page
// is either not mapped (the access then faults and fails, see
// usercopy.go, and the locked path decides) or mapped for the program's
// own access (user, and writable for a store). A page mapped without the
// user bit (PROT_NONE keeps its frame, mapped for the kernel only and
// read-only) is refused up front: ring 0's load would succeed there, as
// the hardware does not check the user bit for ring 0, and read what the
// program may not; its store would fault (CR0.WP), so refusing a
// read-only page for a store only saves a fault.
// Context: trap, no lock needed (page-table pages are never freed, the
// kernel-state table never changes).
func MayAccessLockFree(addr uintptr, write bool) bool {
	if addr < 0x1000 || addr >= UserTop || IsKernelState(addr, 1, write) {
		return false
	}
	_, flags, ok := mm.KPT.Lookup(addr)
	return !ok || userAccess(flags, write)
}

// userAccess reports whether a page mapped with flags lets the program
// itself access it: user, and writable for a store (write).
// Context: any; does not allocate.
func userAccess(flags uint64, write bool) bool {
	return flags&mm.PTEUser != 0 && (!write || flags&mm.PTEWrite != 0)
}

// userPages reports whether every page from addr's to end's is mapped
// for the program's own access (userAccess), a page not mapped faulted
// in first if fault is set (DemandFault: UserRange), else failing the
// walk (UserMapped).
// Context: trap (fault: as DemandFault); does not allocate.
func userPages(addr, end uintptr, write, fault bool) bool {
	for p := addr &^ (mm.PageSize - 1); p < end; p += mm.PageSize {
		_, flags, ok := mm.KPT.Lookup(p)
		if ok && !userAccess(flags, write) || !ok && (!fault || !DemandFault(p, write, false)) {
			return false
		}
	}
	return true
}

// UserMapped reports whether every page of [addr, addr+n) is mapped for
// the program's own access (user, and writable if write is set), so that
// a use of it faults nothing in: a check that never waits for the memory
// lock, for a caller that may not wait (an epoll_wait's second look
// under a run-queue lock, fdcalls.EpollWaitBlock). It reports false for
// a range longer than maxMappedPages pages' bytes. A page that a madvise
// beside gives back after the check is faulted in again by the access
// (package kernel's kernelDemandFault), under the memory lock.
// Context: trap, no lock needed (page-table pages are never freed); does
// not allocate.
func UserMapped(addr, n uintptr, write bool) bool {
	end := addr + n
	if n == 0 || end < addr || end > UserTop || addr < 0x1000 || n > maxMappedPages*mm.PageSize {
		return false
	}
	return userPages(addr, end, write, false)
}

// maxMappedPages bounds UserMapped's walk: the Go runtime's netpoll
// asks for 128 events, 1,536 bytes.
const maxMappedPages = 16

// UserRange checks that the program may access [addr, addr+n) (writing if
// write is set) and faults in every page of it, so the kernel can then use
// the memory directly. Memory the program may touch itself but that holds
// the kernel's variables (kstate.go) fails the check. Context: trap; does
// not allocate.
func UserRange(addr, n uintptr, write bool) bool {
	if n == 0 {
		return true
	}
	end := addr + n
	if end < addr || end > UserTop || addr < 0x1000 || IsKernelState(addr, n, write) {
		return false
	}
	return userPages(addr, end, write, true)
}

// UserBytes returns the program's memory [addr, addr+n) as a slice after
// checking it with UserRange.
// Context: trap (system calls, and interrupts that complete a blocked read
// or epoll wait), kernel lock held, or the files lock alone (the slice
// stays valid while either is held: every call that unmaps areas or
// write-protects pages takes both, and a page that a madvise beside gives
// back is faulted in again by the access itself: package kernel's
// kernelDemandFault);
// does not allocate.
func UserBytes(addr, n uintptr, write bool) ([]byte, bool) {
	if n == 0 {
		return nil, true
	}
	if !UserRange(addr, n, write) {
		return nil, false
	}
	return bytesAt(addr, n), true
}

// UserTries bounds how many times an access to the program's memory under
// the kernel or files lock with the fault-tolerant routines (usercopy.go)
// checks and faults its range in again (UserRange) after the access
// failed: a madvise beside, under the memory lock alone
// (memcalls.AdviseFree), may give a page back between the check and the
// access, and the access then fails where Linux would fault the page in.
// A program that gives it back again before each of these tries gets
// EFAULT.
const UserTries = 4

// UserRead64 and friends read or write one naturally sized value, after
// checking it with UserRange, in one access that fails (false, which the
// system calls answer with EFAULT) instead of ending in a kernel panic if
// the page is gone after all (usercopy.go); a page given back beside is
// faulted in again (UserTries). Context: trap, kernel lock or files lock
// held; does not allocate.
func UserRead64(addr uintptr) (uint64, bool) {
	for range UserTries {
		if !UserRange(addr, 8, false) {
			break
		}
		if v, ok := load64User(addr); ok {
			return v, true
		}
	}
	return 0, false
}

// UserRead32 reads a 32-bit value of the program's memory. Context: trap, kernel lock or files lock held; does not allocate.
func UserRead32(addr uintptr) (uint32, bool) {
	for range UserTries {
		if !UserRange(addr, 4, false) {
			break
		}
		if v, ok := load32User(addr); ok {
			return v, true
		}
	}
	return 0, false
}

// UserWrite64 writes a 64-bit value to the program's memory. Context: trap, kernel lock or files lock held; does not allocate.
func UserWrite64(addr uintptr, v uint64) bool {
	for range UserTries {
		if !UserRange(addr, 8, true) {
			break
		}
		if store64User(addr, v) {
			return true
		}
	}
	return false
}

// UserWrite32 writes a 32-bit value to the program's memory. Context: trap, kernel lock or files lock held; does not allocate.
func UserWrite32(addr uintptr, v uint32) bool {
	for range UserTries {
		if !UserRange(addr, 4, true) {
			break
		}
		if store32User(addr, v) {
			return true
		}
	}
	return false
}

// UserCopyTo copies src to the program's memory at addr with the
// fault-tolerant copy after checking the range with UserRange, faulting
// a page given back beside in again (UserTries), and reports whether all
// of it was copied. Context: trap, kernel lock or files lock held; does
// not allocate.
func UserCopyTo(addr uintptr, src []byte) bool {
	for range UserTries {
		if !UserRange(addr, uintptr(len(src)), true) {
			break
		}
		if CopyToUser(addr, src) == len(src) {
			return true
		}
	}
	return false
}

// oom and oomAt record a demand fault that found no free frame, and its
// address: the program must not run again (OutOfMemory).
var (
	oom   bool
	oomAt uintptr
)

// outOfMemory records that no frame is left for a page the program may
// touch (mmap's commit accounting should make this rare), the first
// time; the fault then fails like a bad address. Package kernel logs it
// and stops the program before anything returns to ring 3 (OutOfMemory,
// LogOutOfMemory). Context: trap, memory lock held (by a caller that
// holds the kernel lock or the files lock: the log waits for the kernel
// lock); does not allocate.
func outOfMemory(va uintptr) {
	if !oom {
		oom, oomAt = true, va
	}
}

// LogOutOfMemory logs the fault that found no frame (outOfMemory).
// Context: trap, kernel lock held; does not allocate.
func LogOutOfMemory() {
	var l klog.Line
	l.S("out of physical memory while faulting in ").X(uint64(oomAt)).S(": stopping the program").Print()
}

// OutOfMemory reports whether a demand fault ran out of frames. Package
// kernel checks it before the kernel lock is released (the way back to
// ring 3 and to the idle loop), after a failed page fault and before a
// fatal fault's report, and then ends the program with status 137, as
// Linux's OOM killer: the copy or fault that failed never reaches the
// program. Context: any; does not allocate.
func OutOfMemory() bool { return oom }
