package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/memcalls"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
	"golang.org/x/sys/unix"
)

// memFault handles a demand page fault of the program under the memory
// lock alone (klock.Mem), without the kernel lock (issue 18): when the
// page lies in an area that allows the access and a frame is free, it
// maps the page (vm.MapOnFault) and the same thread resumes, as after the
// lock-free paths of fastTrap; the scheduler does not run (a thread that
// should run instead gets its turn at the next interrupt, and a signal
// sent meanwhile comes with its kick IPI, as for a thread in ring 3,
// sent again to this CPU if a halt while waiting for the memory lock
// took it: kickSelfIfTaken). It
// reports false, having changed nothing, for every other fault (userTrap
// calls it for page faults only): a protection fault, an address outside the areas, no frame
// left. The locked path then handles it (a signal, the out-of-memory
// stop), faulting again through vm.DemandFault.
//
// c.InUser is cleared before spinning for the lock, as on the locked
// path: a TLB shootdown (made under the memory lock) need not wait for
// this CPU, which flushes when it takes the lock (klock's Lock calls
// tlb.ServiceTLB). It is set again before the lock is released, so no
// shootdown can start in between and miss a CPU on its way back to ring
// 3 with stale translations.
// Context: trap, no lock held; does not allocate.
func memFault(c *percpu.CPU, f *x86.TrapFrame) bool {
	if f.Err&pfPresent != 0 {
		return false
	}
	addr := uintptr(cpu.ReadCR2())
	c.InUser.Store(false)
	c.KickTaken = false
	klock.Mem.Lock(c)
	klock.Mem.SetHolder(klock.TrapTag(f))
	ok := vm.MapOnFault(addr, f.Err&pfWrite != 0, f.Err&pfFetch != 0) == vm.FaultMapped
	if ok {
		tlb.EnterUser(c)
		percpu.Count(c, percpu.EvPageFaultMem)
	}
	klock.Mem.Unlock(c)
	if ok {
		kickSelfIfTaken(c)
	}
	return ok
}

// memCall serves mmap, munmap, mprotect or madvise (f.AX:
// memcalls.MemLockCallNr) under the memory lock alone when its range
// holds no page of the program's (memcalls.MemLockCall: the runtime's
// reservations and heap growth), and reports whether it did; the others
// go to the kernel lock's path, which may unmap or write-protect pages
// and holds every lock for that. It changes no page-table entry, so it
// makes no TLB shootdown; but a madvise that gives pages back (the
// runtime's scavenger) is served here too, by memcalls.AdviseFree,
// which takes the memory lock a batch of pages at a time and shoots the
// TLBs down under it, beside the calls under the other locks. c.InUser
// is cleared and set again as on memFault's path, and the same thread resumes, as after memFault. A
// call that finds no memory to charge (ENOMEM, having changed nothing)
// goes to the locked path, which first frees the unlinked files that
// wait on the orphan list or for a closed description's end
// (lockFiles; vfs.Reclaim), whose pages are still charged, and then
// answers.
// Context: trap, no lock held; does not allocate.
//
// Not inlined: tools/trapcheck names it (a gate of the files lock's
// domain check and the root of the memory lock's).
//
//go:noinline
func memCall(c *percpu.CPU, f *x86.TrapFrame) bool {
	c.InUser.Store(false)
	c.KickTaken = false
	tag := klock.TrapTag(f)
	klock.Mem.Lock(c)
	klock.Mem.SetHolder(tag)
	ret, ok := memcalls.MemLockCall(f.AX, uintptr(f.DI), uintptr(f.SI), uintptr(f.DX), uintptr(f.R10), uintptr(f.R9))
	if ok && ret == -abi.ENOMEM && f.AX != unix.SYS_MADVISE {
		ok = false // the locked path frees the unlinked files that wait first (lockFiles), then tries again
	}
	if ok {
		f.AX = uint64(ret)
		tlb.EnterUser(c)
		percpu.Count(c, percpu.EvMemCallMem)
	}
	klock.Mem.Unlock(c)
	switch {
	case !ok && f.AX == unix.SYS_MADVISE:
		// Pages to give back (memcalls.AdviseFree): beside the other
		// calls too, the memory lock taken a batch at a time.
		f.AX = uint64(memcalls.AdviseFree(c, tag, uintptr(f.DI), uintptr(f.SI), int(int32(f.DX))))
		tlb.EnterUser(c)
	case !ok:
		percpu.Count(c, percpu.EvMemCallLocked)
		return false
	}
	kickSelfIfTaken(c)
	return true
}

// faultReclaim takes the files lock for a page fault of a missing page
// on the locked path (memFault declined it: no frame or no charge left,
// or no area), which frees the unlinked files that wait on the orphan
// list or for a closed description's end first (lockFiles; vfs.Reclaim):
// their frames and charges may be
// what the fault is missing. Such faults are rare; unlockKernel
// releases the lock. Context: trap, kernel lock held; does not
// allocate.
//
// Not inlined: tools/trapcheck names it (a gate of the files lock's
// domain check).
//
//go:noinline
func faultReclaim(c *percpu.CPU) { lockFiles(c) }

// kernelDemandFault maps the program's page for a kernel access that
// found it missing (a page fault in ring 0, f): a call under the kernel
// or files lock checked its range (vm.UserRange faulted it in) and a
// madvise beside, under the memory lock alone (memcalls.AdviseFree),
// gave the page back before the access. It maps a fresh zeroed page, as
// the program's own access after the madvise would get, and reports
// true: the access runs again. It reports false, having mapped nothing,
// for every other fault, which stays a kernel panic: a page present (a
// protection fault), an instruction fetch (the kernel runs no code of
// the program's), an address outside the user half or the program's
// areas or in the kernel's own variables (vm.IsKernelState: a madvise
// keeps those pages), an access the area does not allow, and a CPU that
// holds neither of those locks or holds one the memory lock may not be
// taken inside (klock.MayFaultIn). With no frame left it ends in a
// kernel panic that says so (the report's cr2 is the page): the access
// cannot fail as a system call's copy check does (EFAULT), and the
// frames the madvise gives back wait for this very call to end.
// The trap entry saved the interrupted code's SSE registers
// (trap_amd64.s), which the fault's Go code uses.
// Context: trap, a page fault in ring 0, interrupts off; does not
// allocate.
func kernelDemandFault(c *percpu.CPU, f *x86.TrapFrame) bool {
	addr := uintptr(cpu.ReadCR2())
	if f.Err&(pfPresent|pfFetch) != 0 || addr < vm.UserMin || addr >= vm.UserTop || vm.IsKernelState(addr, 1, true) || !klock.MayFaultIn(c) {
		return false
	}
	oomBefore := vm.OutOfMemory()
	if !vm.DemandFault(addr, f.Err&pfWrite != 0, false) {
		if !oomBefore && vm.OutOfMemory() {
			kpanic.Panic("out of memory faulting in a page of the program's that a madvise beside gave back (cr2)", f)
		}
		return false
	}
	percpu.Count(c, percpu.EvKernelDemandFault)
	return true
}
