package klock

import (
	"math/bits"
	"sync/atomic"

	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/x86"
)

// Calls that use the program's memory directly (issue 18). A call under
// the kernel lock or the files lock checks a range of the program's
// memory (vm.UserRange faults it in) and then reads or writes it with
// plain loads and stores, through the CPU's TLB. A madvise that gives
// pages back beside such calls (memcalls.AdviseFree, under the memory
// lock alone) clears their page-table entries and shoots the TLBs of
// the CPUs in ring 3 down, but a CPU inside such a call may still reach
// the old frame through a translation it loaded before: the frame may be
// freed, and so reused, only once every call that was under either lock
// at the shootdown has ended. userSections tells when: each CPU's count
// of its entries into and exits from holding the kernel lock or the
// files lock (either or both, shared or not), odd while it holds one. A
// count that was odd at the shootdown and has moved since proves that
// call over; a CPU whose count was even then takes a lock after the
// shootdown, and its lock's take flushes its TLB (tlb.ServiceTLB, after
// the count's locked add) before it can use the program's memory.
var userSections [percpu.MaxCPUs]atomic.Uint32

// sectionWaiters are the CPUs halted in Sections.Await, a bit per CPU
// id: a CPU leaving its section wakes them (leaveSection).
var sectionWaiters atomic.Uint64

// userLocks are the ranks whose holders use the program's memory
// directly: the kernel lock and the files lock.
const userLocks = lockSet(1<<RankKernel | 1<<RankFiles)

// enterSection counts CPU c into a section if its take of a lock of rank
// r, just made (heldLocks records it), is its only lock of userLocks:
// after the take, before the take's TLB flush.
// Context: trap or boot, interrupts off; does not allocate.
func enterSection(c *percpu.CPU, r Rank) {
	if userLocks>>r&1 != 0 && heldLocks[c.ID]&userLocks == 1<<r {
		userSections[c.ID].Add(1)
	}
}

// leaveSection counts CPU c out of its section if releasing a lock of
// rank r left it holding no lock of userLocks, and reports whether it
// did: after the release's record in heldLocks, before the lock itself
// is free, and after every access of the call to the program's memory
// (a locked instruction: no earlier load or store passes it). The
// caller then wakes the CPUs halted in Await (wakeSectionWaiters), once
// the lock is free.
// Context: trap or boot, interrupts off; does not allocate.
func leaveSection(c *percpu.CPU, r Rank) bool {
	if userLocks>>r&1 == 0 || heldLocks[c.ID]&userLocks != 0 {
		return false
	}
	userSections[c.ID].Add(1)
	return true
}

// wakeSectionWaiters sends the lock-wake IPI to the CPUs halted in
// Await, if any, after a section's end (leaveSection): the end's locked
// add comes before this look at sectionWaiters, as a waiter's
// registration comes before its look at the counts, so one of the two
// sees the other. Context: trap, interrupts off; does not allocate.
func wakeSectionWaiters() {
	for mask := sectionWaiters.Load(); mask != 0; mask &= mask - 1 {
		clock.LAPIC.SendIPI(percpu.CPUs[bits.TrailingZeros64(mask)].APICID, x86.VecLockWake)
	}
}

// Sections is a mark of every CPU's section count (userSections), taken
// after a change that removes pages (Mark), to wait for the calls that
// were under the kernel or files lock then (Await).
type Sections [percpu.MaxCPUs]uint32

// Mark records every online CPU's section count. The caller has cleared
// the page-table entries and bumped the TLB generation before (a locked
// instruction: tlb.Post), so a CPU whose count is even here sees
// the new generation when it next takes a lock.
// Context: trap; does not allocate.
func (s *Sections) Mark() {
	for i := 0; i < percpu.NOnline; i++ {
		s[i] = userSections[i].Load()
	}
}

// Open reports whether a CPU that was in a section at Mark is still in
// that section. Context: trap; does not allocate.
func (s *Sections) Open() bool {
	for i := 0; i < percpu.NOnline; i++ {
		if s[i]&1 != 0 && userSections[i].Load() == s[i] {
			return true
		}
	}
	return false
}

// Await waits on CPU c until every CPU that was in a section at Mark has
// left it (Open; c itself held no lock then, nor now): it spins, and
// after spinsBeforeHalt looks halts, registered in sectionWaiters, until
// a section's end wakes it (leaveSection). c holds no lock: a CPU waited for may need the memory
// lock to fault a page in, or the kernel lock c would hold. Sections
// are calls, never a wait for a thread, so each ends by itself.
// Context: trap, no lock held, interrupts off; does not allocate.
func (s *Sections) Await(c *percpu.CPU) {
	if heldLocks[c.ID] != 0 {
		kpanic.Panic("waiting for the calls under the kernel and files locks while holding a lock", nil)
	}
	for spins := 0; s.Open(); spins++ {
		if spins == spinsBeforeHalt {
			spins = 0
			if canHalt() {
				bit := uint64(1) << uint(c.ID)
				sectionWaiters.Or(bit)
				if s.Open() {
					halt(c)
				}
				sectionWaiters.And(^bit)
			}
		}
		cpu.Pause()
	}
}

// MayFaultIn reports whether CPU c may take the memory lock to fault a
// page of the program's in for a kernel access that found it missing
// (package kernel's kernelDemandFault): c is in a section (it holds the
// kernel or files lock) and holds no lock ranked at or after the memory
// lock. Context: trap, interrupts off; does not allocate.
func MayFaultIn(c *percpu.CPU) bool {
	held := heldLocks[c.ID]
	return held&userLocks != 0 && held>>RankMem == 0
}
