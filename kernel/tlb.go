package kernel

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/cpu"
)

// TLB shootdown. All CPUs share one page table. After a change that
// removes or restricts mappings (munmap, madvise, mprotect) the CPU that
// made it (holding the kernel lock) bumps tlbGen and interrupts every CPU
// that is running the program; each flushes its TLB and records the
// generation it has seen. A CPU in the kernel flushes before it can touch
// user memory or return to ring 3: on taking the kernel lock, and while
// spinning for it.
var tlbGen atomic.Uint64

// serviceTLB flushes this CPU's TLB if a shootdown happened since its last
// flush. Context: trap; does not allocate.
func serviceTLB(c *percpu) {
	if g := tlbGen.Load(); c.tlbSeen.Load() != g {
		cpu.WriteCR3(cpu.ReadCR3())
		c.tlbSeen.Store(g)
	}
}

// tlbShootdown makes every other CPU drop stale translations and waits
// until each has, or is in the kernel (where it flushes before using user
// memory). The caller has already updated the page table and flushed its
// own entries. Context: trap, kernel lock held.
func tlbShootdown(c *percpu) {
	if onlineCPUs == 1 {
		return
	}
	g := tlbGen.Add(1)
	c.tlbSeen.Store(g)
	for i := 0; i < onlineCPUs; i++ {
		o := &cpus[i]
		if o == c || !o.inUser.Load() {
			continue
		}
		localAPIC.SendIPI(o.apicID, vecTLB)
	}
	for i := 0; i < onlineCPUs; i++ {
		o := &cpus[i]
		for o != c && o.inUser.Load() && o.tlbSeen.Load() < g {
			cpu.Pause()
		}
	}
}
