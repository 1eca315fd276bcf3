// Package tlb keeps the CPUs' translations in step with the shared page
// table: after a change that removes or restricts mappings, Shootdown
// makes every CPU that may hold a stale entry flush it and waits for
// them; a CPU in the kernel flushes before it touches user memory
// (ServiceTLB, which the kernel's locks call while they spin and once
// they are taken). NotAnswering is the kernel panic for a CPU that never
// answers an IPI. It sits below the locks (kernel/klock) and the memory
// code (kernel/vm), which call it. Context: trap; nothing here allocates.
package tlb

import (
	"sync/atomic"
	"unsafe"

	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/x86"
)

// TLB shootdown. All CPUs share one page table. After a change that
// removes or restricts mappings (munmap, madvise, mprotect) the CPU that
// made it (holding the memory lock) bumps tlbGen and interrupts every CPU
// that is running the program; each flushes its TLB and records the
// generation it has seen. A CPU in the kernel flushes before it can touch
// user memory or return to ring 3: on taking a lock, while spinning for
// one, and on its way back to ring 3 (EnterUser).
var tlbGen atomic.Uint64

// The wait for the CPUs' acknowledgements (waitAction). A CPU that does
// not answer within shootdownTimeoutNs is either not running (its vCPU
// thread starved on an overloaded host, which under TCG can last a second
// or more) or running with interrupts off (threads run with IOPL 3, so a
// CLI in ring 3 can keep it from ever taking the IPI, and the kernel would
// hang with the lock held and no report). An NMI tells them apart: the
// shooter sends one (CPU.NMIProbe), which even a CPU with interrupts off
// takes at once. A CPU that takes it but still does not answer within
// probeGraceNs (its pending IPI follows the NMI's return when interrupts
// are on) runs with interrupts off: a kernel panic naming it. A CPU that
// takes neither within starvedLimitNs does not run at all: a kernel panic
// too. A starved CPU takes both as soon as it runs, and the wait goes on.
const (
	shootdownTimeoutNs = 1e9   // no answer yet: probe the CPU with an NMI
	probeGraceNs       = 200e6 // it took the NMI: the IPI must follow
	starvedLimitNs     = 30e9  // it took neither: it does not run
)

// waitVerdict is what a shooter does next about a CPU that has not
// acknowledged its shootdown yet (waitAction).
type waitVerdict uint8

const (
	keepWaiting        waitVerdict = iota
	sendProbe                      // send the NMI probe
	panicInterruptsOff             // it took the probe but not the IPI
	panicNotRunning                // it took neither
)

// waitAction decides about a CPU that has not acknowledged a shootdown,
// waited ns after the IPIs went out: probe is its CPU.NMIProbe state and
// takenAt when the shooter first saw the probe taken (0 if not yet).
// Context: any; does not allocate.
func waitAction(waited int64, probe uint32, takenAt int64) waitVerdict {
	switch {
	case probe == percpu.ProbeTaken && takenAt > 0 && waited-takenAt > probeGraceNs:
		return panicInterruptsOff
	case probe != percpu.ProbeTaken && waited > starvedLimitNs:
		return panicNotRunning
	case probe == percpu.ProbeNone && waited > shootdownTimeoutNs:
		return sendProbe
	}
	return keepWaiting
}

// tlbFaultCPU is the CPU id given by tlbfault=, a fault-injection option
// for the boot tests, plus one (0: none). That CPU, taking a shootdown IPI
// in ring 3, spins with interrupts off instead of answering.
var tlbFaultCPU int

// TLBFaultCPU returns the CPU id tlbfault= names plus one, 0 for none
// (SetupTLBFault). Context: trap; does not allocate.
func TLBFaultCPU() int { return tlbFaultCPU }

// ServiceTLB flushes this CPU's TLB if a shootdown happened since its last
// flush. Context: trap; does not allocate.
func ServiceTLB(c *percpu.CPU) {
	if g := tlbGen.Load(); c.TLBSeen.Load() != g {
		cpu.WriteCR3(cpu.ReadCR3())
		c.TLBSeen.Store(g)
	}
}

// EnterUser marks CPU c as running the program (c.InUser) on its way
// back to ring 3, and then flushes its TLB if a shootdown passed it by
// while it was in the kernel (ServiceTLB). Every path back to ring 3
// sets InUser through it: a shooter that holds the memory lock alone
// (memcalls.AdviseFree) may bump the generation while c is in a call
// under another lock, skipping c then, and c's translations loaded
// during the call would otherwise go back to ring 3. The store and the
// load are locked or ordered after one (x86): of a shooter that bumps
// the generation and then reads InUser, and c, at least one sees the
// other: the shooter waits for c's flush, or c flushes here.
// Context: trap, interrupts off; does not allocate.
func EnterUser(c *percpu.CPU) {
	c.InUser.Store(true)
	ServiceTLB(c)
}

// Shootdown makes every other CPU drop stale translations and waits
// until each has, or is in the kernel (where it flushes before using user
// memory, and on its way back to ring 3: EnterUser): Post, then
// AwaitAcks. The caller has already updated the page table and flushed
// its own entries. The mmap family on the kernel lock's path holds the
// files lock too, exclusively (package kernel's lockFiles), so no CPU is
// in a call under the files lock, shared or not, that uses the program's
// memory directly (package kernel's fileTrap clears c.InUser only for
// its call), and frees the frames right after.
// Context: trap, kernel, files (exclusively) and memory locks held; does
// not allocate.
func Shootdown(c *percpu.CPU) {
	AwaitAcks(c, Post(c))
}

// Post bumps the TLB generation, marks c's own entries flushed (the caller
// flushed them) and sends the shootdown IPI to every other CPU running
// the program; it returns the generation, for AwaitAcks (0 with one
// CPU: nothing to wait for). The caller holds the memory lock, so
// generations are posted one at a time and c, which flushed when it took
// that lock, has seen every earlier one. A madvise beside other calls
// (memcalls.AdviseFree) waits for the acknowledgements after releasing
// the memory lock: a CPU in ring 3 may be held up by a call that needs
// that lock (it spins, interrupts off, on a lock word such a call
// holds), and waiting with the lock held would close a cycle.
// Context: trap, memory lock held; does not allocate.
func Post(c *percpu.CPU) uint64 {
	if percpu.NOnline == 1 {
		return 0
	}
	g := tlbGen.Add(1)
	c.TLBSeen.Store(g)
	for i := 0; i < percpu.NOnline; i++ {
		o := &percpu.CPUs[i]
		if o == c || !o.InUser.Load() {
			continue
		}
		if !clock.LAPIC.SendIPI(o.APICID, x86.VecTLB) {
			NotAnswering(o, "TLB shootdown IPI", 0, "")
		}
	}
	return g
}

// AwaitAcks waits until every CPU but c has flushed generation g (Post)
// or is out of ring 3, probing one that does not answer (awaitAck).
// Several CPUs may wait at once (AdviseFree's waits hold no lock): they
// share each CPU's probe (percpu.CPU.NMIProbe), which only a CPU that
// answers no shootdown at all keeps taking.
// Context: trap; does not allocate.
func AwaitAcks(c *percpu.CPU, g uint64) {
	if g == 0 {
		return
	}
	start := clock.Nanotime()
	for i := 0; i < percpu.NOnline; i++ {
		if o := &percpu.CPUs[i]; o != c {
			awaitAck(o, g, start)
		}
	}
}

// awaitAck waits until CPU o has flushed generation g or left ring 3
// (it then flushes before it uses user memory), probing it with an NMI
// when it does not answer (waitAction). start is when the IPIs went out.
// A probe taken in an earlier shootdown is forgotten first; one still in
// flight stands for this wait's (o takes it silently either way).
// Context: trap; does not allocate.
func awaitAck(o *percpu.CPU, g uint64, start int64) {
	o.NMIProbe.CompareAndSwap(percpu.ProbeTaken, percpu.ProbeNone)
	var takenAt int64
	for o.InUser.Load() && o.TLBSeen.Load() < g {
		waited := clock.Nanotime() - start
		probe := o.NMIProbe.Load()
		if probe == percpu.ProbeTaken && takenAt == 0 {
			takenAt = waited
		}
		switch waitAction(waited, probe, takenAt) {
		case sendProbe:
			if o.NMIProbe.CompareAndSwap(percpu.ProbeNone, percpu.ProbeSent) && !clock.LAPIC.SendNMI(o.APICID) {
				NotAnswering(o, "TLB shootdown NMI probe", 0, "")
			}
		case panicInterruptsOff:
			NotAnswering(o, "TLB shootdown", shootdownTimeoutNs, ": it took an NMI, so it runs, with interrupts off")
		case panicNotRunning:
			NotAnswering(o, "TLB shootdown", starvedLimitNs, ", nor an NMI: it does not run")
		}
		cpu.Pause()
	}
}

// stringOf views kernel bytes that do not change until the machine stops
// as a string, without copying. Context: any; does not allocate.
func stringOf(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// panicReason holds a kernel panic reason built at run time.
var panicReason klog.Line

// NotAnswering ends in a kernel panic whose reason names CPU o, which
// did not acknowledge what (an IPI) within ns nanoseconds, or (ns 0) whose
// local APIC never accepted it; why, if not empty, follows (what the NMI
// probe found). Two CPUs that fail at once may build their reasons in
// panicReason together; the kernel panic stops the other CPUs, and the
// report's reason may then be garbled.
// Context: trap, with or without a lock (a kick IPI is sent after the
// kernel lock's release, and by the lock-free FUTEX_WAKE); does not
// allocate; never returns.
func NotAnswering(o *percpu.CPU, what string, ns int64, why string) {
	panicReason = klog.Line{}
	panicReason.S(what).S(": cpu ").U(uint64(o.ID)).S(" (APIC id ").U(uint64(o.APICID)).S(")")
	if ns > 0 {
		panicReason.S(" did not answer within ").MS(ns)
	} else {
		panicReason.S(": the interrupt was never accepted")
	}
	panicReason.S(why)
	kpanic.Panic(stringOf(panicReason.Bytes()), nil)
}

// SetupTLBFault takes tlbfault=N (a CPU id other than 0's): v and ok are
// the option's value and whether it was given.
// Context: boot CPU, before the program starts; does not allocate.
func SetupTLBFault(v string, ok bool) {
	if !ok {
		return
	}
	n := 0
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			n = -1
			break
		}
		n = n*10 + int(v[i]-'0')
	}
	var l klog.Line
	if n <= 0 || n >= percpu.NOnline {
		l.S("warning: tlbfault=").S(v).S(" ignored (it names an application processor by CPU id)").Print()
		return
	}
	tlbFaultCPU = n + 1
	l.S("tlbfault=").U(uint64(n)).S(": cpu ").U(uint64(n)).S(" will not answer TLB shootdowns").Print()
}

// TLBFaultHang is the CPU that tlbfault= names taking a shootdown IPI: it
// stays in the trap with interrupts off and inUser set, as a CPU stuck
// with interrupts disabled would. Context: trap, kernel lock not held;
// never returns.
func TLBFaultHang() {
	for {
		cpu.Pause()
	}
}
