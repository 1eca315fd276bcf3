package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/memcalls"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
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
		c.InUser.Store(true)
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
// makes no TLB shootdown. c.InUser is cleared and set again as on
// memFault's path, and the same thread resumes, as after memFault. A
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
	klock.Mem.Lock(c)
	klock.Mem.SetHolder(klock.TrapTag(f))
	ret, ok := memcalls.MemLockCall(f.AX, uintptr(f.DI), uintptr(f.SI), uintptr(f.DX), uintptr(f.R10), uintptr(f.R9))
	if ok && ret == -abi.ENOMEM {
		ok = false // the locked path frees the unlinked files that wait first (lockFiles), then tries again
	}
	if ok {
		f.AX = uint64(ret)
		c.InUser.Store(true)
		percpu.Count(c, percpu.EvMemCallMem)
	}
	klock.Mem.Unlock(c)
	if !ok {
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
