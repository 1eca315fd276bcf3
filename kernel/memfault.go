package kernel

import (
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klock"
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
