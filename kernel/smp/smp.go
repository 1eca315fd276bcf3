// Package smp starts the application processors: the INIT-SIPI-SIPI
// bring-up through boot's real-mode trampoline, all CPUs at once (Start,
// and Collect later in the boot to wait for them), the kernel stacks it
// maps for each CPU, and the release of the halted processors when the
// program starts (WakeAPs). TLB shootdowns and the kernel panic for a
// CPU that never answers an IPI are kernel/tlb's. It
// sits over kernel/clock (IPIs through clock.LAPIC, its timeouts on
// clock.Nanotime), kernel/vm (frames for the stacks) and kernel/kpanic;
// package kernel keeps each CPU's own set-up (setupCPU, apMain), which
// needs the entry assembly (docs/kernel-layout.md).
// Context: boot unless a function says otherwise; nothing here allocates.
package smp

import (
	"sync/atomic"

	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
)

// SMP bring-up: every CPU the firmware lists (ACPI MADT), up to
// percpu.MaxCPUs, is started with INIT-SIPI-SIPI through the real-mode
// trampoline (boot/trampoline.go), all at once. The boot CPU maps a slot
// (percpu.CPUs entry, kernel and interrupt stacks) for each before the
// IPIs; the INITs go to all of them with one wait (none on CPUs that need
// none, see Start), then the start-up IPIs to all in quick
// succession, and the boot CPU goes on with its boot; Collect waits for
// them later. Each AP takes a ticket in launch as it arrives in apEntry64
// (kernel/start_amd64.s), which gives it the next free slot, so the slots
// in use stay CPUs[0] to CPUs[NOnline-1] whichever CPUs answer, in
// whatever order. After the time-out the boot CPU closes the handout
// (Launch.Close): a CPU that arrives later draws a ticket past every slot
// and parks. A CPU that does not answer in time is logged, sent INIT
// again and skipped.

// Values of percpu.CPU.APGo (apEntry64 in kernel/start_amd64.s moves a
// slot from APExpected to APClaimed; package kernel hands the assembly
// these as constants).
const (
	APWithdrawn = 0
	APExpected  = 1
	APClaimed   = 2
)

// kstackRegion is where kernel stacks are mapped, each below a guard
// page; ISTSize is the size of each interrupt stack (double fault, NMI,
// machine check) above a CPU's kernel stack; apTimeoutUs bounds the wait
// for the CPUs to come up; apResendUs is when the CPUs not up yet get
// their second start-up IPI (one that already runs ignores it).
const (
	kstackRegion = 0xffffc00000000000
	ISTSize      = 16 << 10
	apTimeoutUs  = 200000
	apResendUs   = 1000
)

// Launch is the record the application processors share while they come
// up: the trampoline hands its address to apEntry64 in RDI, and each AP
// takes the next ticket with a locked add on Next. Ticket t below Slots
// gives it percpu.CPUs[First+t], which the boot CPU prepared before the
// start-up IPIs; any other ticket makes it park. package kernel hands the
// assembly the fields' offsets (kernel/bootcpu.go).
type Launch struct {
	Next  atomic.Uint32 // the next ticket; Close moves it past every slot
	Slots uint32        // slots prepared, from First on
	First uint32        // index in percpu.CPUs of ticket 0's slot
}

// closedTicket is what Close adds to Next: more than any slot count, so a
// ticket drawn after Close is never a slot's.
const closedTicket = 1 << 16

// Close ends the handout and returns how many slots were taken: those
// from First on, every one by a CPU on its way in (the tickets drawn
// before), none after. Call it once. Context: boot CPU; does not
// allocate.
func (l *Launch) Close() int {
	taken := l.Next.Add(closedTicket) - closedTicket
	return int(min(taken, l.Slots))
}

// launch is the one Launch of the boot.
var launch Launch

var kstackNext uintptr = kstackRegion

// allocKernelStack maps size bytes of fresh frames below an unmapped guard
// page and returns the top. Context: boot; does not allocate.
func allocKernelStack(size uintptr) uintptr {
	kstackNext += mm.PageSize // guard page
	base := kstackNext
	for off := uintptr(0); off < size; off += mm.PageSize {
		pa := vm.Frames.Alloc()
		if pa == 0 || !mm.KPT.Map(&vm.Frames, base+off, pa, mm.PTEWrite|mm.PTENoExec) {
			return 0
		}
	}
	kstackNext += size
	return base + size
}

// apIDs holds the APIC ids of the CPUs Start starts.
var apIDs [percpu.MaxCPUs]uint32

// plan copies into dst the APIC ids of ids but bsp's, in order, as many
// as dst holds, and reports how many and whether some were left out.
// Context: boot; does not allocate.
func plan(dst, ids []uint32, bsp uint32) (n int, overflow bool) {
	for _, apic := range ids {
		if apic == bsp {
			continue
		}
		if n == len(dst) {
			return n, true
		}
		dst[n] = apic
		n++
	}
	return n, false
}

// arrived reports whether one of slots is online with APIC id apic.
// Context: boot; does not allocate.
func arrived(slots []percpu.CPU, apic uint32) bool {
	for i := range slots {
		if slots[i].Online.Load() && slots[i].APICID == apic {
			return true
		}
	}
	return false
}

// started is what Start leaves for Collect: how many CPUs it started
// (apIDs[:n], slots percpu.CPUs[first:first+n]), when it sent the
// start-up IPIs, how long the INITs took, apfault= and the IPIs' pages.
var started struct {
	n, first      int
	start, initNs int64
	fault         apFault
	vector, park  uint8
}

// Start starts every CPU in ids but this one at apEntry (the entry
// assembly's apEntry64) and returns without waiting for them: Collect
// does, after the boot CPU's other work. apfault and hasAPFault are the
// kernel option apfault= (apFaultOption). Context: boot CPU, kernel lock
// held.
func Start(ids []uint32, apEntry uintptr, apfault string, hasAPFault bool) {
	first := percpu.NOnline
	n, overflow := plan(apIDs[:percpu.MaxCPUs-first], ids, clock.LAPIC.ID())
	if overflow {
		var l klog.Line
		l.S("more than ").U(percpu.MaxCPUs).S(" CPUs: the rest stay off").Print()
	}
	if n == 0 {
		return
	}
	aps, slots := apIDs[:n], percpu.CPUs[first:first+n]
	for i := range slots {
		// The slot's per-CPU state for a CPU that will start at
		// apEntry64: its kernel stack, kernel g, TLS slot and GS value.
		// Which CPU takes it is known only when one does (it writes its
		// own APIC id).
		c := &slots[i]
		top := allocKernelStack(percpu.KstackSize)
		for j := 0; j < len(c.ISTTop) && top != 0; j++ {
			if c.ISTTop[j] = allocKernelStack(ISTSize); c.ISTTop[j] == 0 {
				top = 0
			}
		}
		if top == 0 {
			kpanic.Panic("no memory for a CPU's stacks", nil)
		}
		c.Self = uintptr(ptrOfCPU(c))
		c.ID = first + i
		c.KstackTop = top
		c.G.StackLo = top - percpu.KstackSize
		c.G.StackHi = top
		c.G.Stackguard0 = c.G.StackLo + percpu.KernelGuard
		c.G.Stackguard1 = c.G.Stackguard0
		c.TLSG = uintptr(ptrOfG(&c.G))
		c.KernelFS = uintptr(ptrOfWord(&c.TLSEnd))
		c.APGo.Store(APExpected)
	}
	launch.Slots, launch.First = uint32(n), uint32(first)
	// The trampoline goes to its page, mapped at its physical address
	// (the AP's first long-mode instructions run there), with its
	// parameter block: the page table, apEntry, and launch for RDI.
	base := vm.PhysToVirt(boot.APTrampolineAddr)
	copy(bytesAt(base, mm.PageSize), boot.APTrampoline[:])
	if !mm.KPT.Map(&vm.Frames, boot.APTrampolineAddr, boot.APTrampolineAddr, mm.PTEWrite) {
		kpanic.Panic("cannot map the AP trampoline", nil)
	}
	*(*uint64)(ptr(base + boot.APParamCR3)) = mm.KPT.Root
	*(*uint64)(ptr(base + boot.APParamEntry)) = uint64(apEntry)
	*(*uint64)(ptr(base + boot.APParamArg)) = uint64(uintptr(ptrOfLaunch(&launch)))
	// A locked store: every write above is visible before the start-up
	// IPIs (in x2APIC mode the ICR is written with WRMSR, no fence).
	launch.Next.Store(0)

	s := &started
	s.n, s.first = n, first
	s.fault = apFaultOption(apfault, hasAPFault)
	s.vector = uint8(boot.APTrampolineAddr >> 12)
	if s.fault.valid && !s.fault.late { // apfault=N: that CPU's page only halts
		if !mm.KPT.Map(&vm.Frames, parkPageAddr, parkPageAddr, mm.PTEWrite) {
			kpanic.Panic("cannot map the AP park page", nil)
		}
		p := bytesAt(vm.PhysToVirt(parkPageAddr), 4)
		p[0], p[1], p[2], p[3] = 0xfa, 0xf4, 0xeb, 0xfd // cli; hlt; jmp -3
		s.park = parkPageAddr >> 12
	}
	initAll := clock.Nanotime()
	for _, apic := range aps {
		if !s.fault.skips(apic) {
			clock.LAPIC.SendInit(apic) // apfault=N:late: no start-up now, a late one in Collect
		}
	}
	// The wait between INIT and the start-up IPIs: the MP
	// specification's 10 ms, except where the CPU is known not to need it
	// (Linux waits none on the same ones): under a hypervisor (CPUID's
	// hypervisor bit) and on Intel family 6 and later and AMD family 0xF
	// and later.
	_, vendorB, vendorC, vendorD := cpu.Cpuid(0, 0)
	eax, _, ecx, _ := cpu.Cpuid(1, 0)
	family := eax >> 8 & 0xf
	if family == 0xf {
		family += eax >> 20 & 0xff
	}
	intel := vendorB == 0x756e6547 && vendorD == 0x49656e69 && vendorC == 0x6c65746e // "GenuineIntel"
	amd := vendorB == 0x68747541 && vendorD == 0x69746e65 && vendorC == 0x444d4163   // "AuthenticAMD"
	wait := int64(10000)
	if ecx&(1<<31) != 0 || (intel && family >= 6) || (amd && family >= 0xf) {
		wait = 0
	}
	clock.DelayUntil(clock.Nanotime() + wait*1000)
	s.initNs = clock.Nanotime() - initAll
	s.start = clock.Nanotime()
	sendStartups(aps, slots, s.fault, s.vector, s.park)
}

// Collect waits for the CPUs Start started: a second start-up IPI to
// those not up apResendUs after the first, up to apTimeoutUs after that
// for them all. Then it closes the handout of slots, logs each CPU, sends
// INIT again to those that did not answer (logging them as skipped) and
// counts the rest in percpu.NOnline. Context: boot CPU, kernel lock
// held; does not allocate.
func Collect() {
	s := &started
	if s.n == 0 {
		return
	}
	aps, slots := apIDs[:s.n], percpu.CPUs[s.first:s.first+s.n]
	if waitOnline(slots, s.start+apResendUs*1000) < s.n {
		sendStartups(aps, slots, s.fault, s.vector, s.park)
		waitOnline(slots, clock.Nanotime()+apTimeoutUs*1000)
	}
	taken := launch.Close()
	// Every taken slot's CPU is on its way, on that slot's stack: the slot
	// is its. Those after are nobody's now.
	if waitOnline(slots[:taken], clock.Nanotime()+1000000000) < taken {
		kpanic.Panic("an application processor claimed its slot but never came online", nil)
	}
	for i := taken; i < s.n; i++ {
		slots[i] = percpu.CPU{}
	}
	// Log each CPU that came up with its APIC id and how long after the
	// start-up IPIs it did, and send INIT again to each that did not,
	// logging it as skipped: a CPU that is merely slow stops, and one
	// that arrives anyway draws a closed ticket in apEntry64 and parks.
	up := slots[:taken]
	var l klog.Line
	for _, apic := range aps {
		if !arrived(up, apic) {
			clock.LAPIC.SendInit(apic)
			l.Reset()
			l.S("cpu with APIC id ").U(uint64(apic)).S(" did not answer within ").U(apTimeoutUs / 1000).S(" ms: skipped").Print()
		}
	}
	for i := range up {
		c := &up[i]
		l.Reset()
		l.S("cpu ").U(uint64(c.ID)).S(": APIC id ").U(uint64(c.APICID)).S(", up in ").MS(c.UpAt - s.start).S(" after the start-up IPIs (INIT to all: ").MS(s.initNs).S(")").Info()
	}
	percpu.NOnline += taken
	threadtab.Sched.NCPU = percpu.NOnline
	for _, apic := range aps {
		if s.fault.skips(apic) {
			wakeLateAP(apic)
		}
	}
}

// sendStartups sends a start-up IPI for page vector to every CPU of aps
// not up in slots yet; apfault=: the faulty CPU's is for page park
// instead, the late one gets none. Context: boot CPU, kernel lock held;
// does not allocate.
func sendStartups(aps []uint32, slots []percpu.CPU, f apFault, vector, park uint8) {
	for _, apic := range aps {
		switch {
		case f.skips(apic) || arrived(slots, apic):
		case f.parks(apic):
			clock.LAPIC.SendStartup(apic, park) // apfault=N: this CPU will not answer
		default:
			clock.LAPIC.SendStartup(apic, vector)
		}
	}
}

// waitOnline waits until every CPU of slots is online or the clock reaches
// deadline and returns how many are. Context: boot, kernel lock held;
// does not allocate.
func waitOnline(slots []percpu.CPU, deadline int64) int {
	for {
		up := 0
		for i := range slots {
			if slots[i].Online.Load() {
				up++
			}
		}
		if up == len(slots) || clock.Nanotime() >= deadline {
			return up
		}
		cpu.Pause()
	}
}

// wakeLateAP starts the CPU apfault=N:late left out, now that the handout
// is closed: it must draw a ticket past every slot in apEntry64 and park,
// not take a slot. It logs whether the CPU drew a ticket (launch.Next
// moved) within apTimeoutUs, and whether it was a closed one. Context: boot CPU, kernel lock held; does not
// allocate.
func wakeLateAP(apic uint32) {
	before := launch.Next.Load()
	clock.LAPIC.SendInit(apic)
	clock.DelayUntil(clock.Nanotime() + 10e6) // 10 ms
	clock.LAPIC.SendStartup(apic, uint8(boot.APTrampolineAddr>>12))
	deadline := clock.Nanotime() + apTimeoutUs*1000
	for launch.Next.Load() == before && clock.Nanotime() < deadline {
		cpu.Pause()
	}
	var l klog.Line
	l.S("apfault: cpu with APIC id ").U(uint64(apic)).S(" started late")
	switch t := launch.Next.Load(); {
	case t == before:
		l.S(" and drew no ticket")
	case t-1 >= closedTicket:
		l.S(" and drew closed ticket ").U(uint64(t - 1)).S(": parked") // apEntry64 parks on any ticket past the slots
	default:
		l.S(" and drew open ticket ").U(uint64(t - 1)).S(" after the close") // Close did not close
	}
	l.Print()
}

// apFault is the kernel option apfault=APICID[:late], a fault-injection
// option for the boot tests. apfault=N: that CPU is sent to a page that
// only halts, so it never reports online, exercising the time-out path.
// apfault=N:late: that CPU gets no INIT and no start-up IPI with the
// others, so it is skipped after the time-out, and gets them after the
// handout closed (wakeLateAP), so it runs the trampoline when every slot
// is taken or withdrawn.
type apFault struct {
	apic        uint32
	late, valid bool
}

// skips reports whether apic gets no INIT nor start-up IPI in the
// bring-up (apfault=N:late). Context: boot; does not allocate.
func (f apFault) skips(apic uint32) bool { return f.valid && f.late && apic == f.apic }

// parks reports whether apic's start-up IPI goes to the park page
// (apfault=N). Context: boot; does not allocate.
func (f apFault) parks(apic uint32) bool { return f.valid && !f.late && apic == f.apic }

// apFaultOption reads apfault=; v and ok are the option's value and
// whether it was given. Context: boot CPU, before the runtime starts;
// does not allocate.
func apFaultOption(v string, ok bool) apFault {
	if !ok {
		return apFault{}
	}
	var f apFault
	if len(v) > 5 && v[len(v)-5:] == ":late" {
		v, f.late = v[:len(v)-5], true
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return apFault{}
		}
		f.apic = f.apic*10 + uint32(v[i]-'0')
	}
	f.valid = len(v) > 0
	return f
}

// parkPageAddr is a low page holding "cli; hlt; jmp back to the hlt" for
// apfault= (Start writes it).
const parkPageAddr = 0x7000

// programStarted is set when the boot CPU lets go of the kernel lock to
// start the program; the application processors halt until then.
var programStarted atomic.Bool

// ProgramStarted reports whether the boot CPU has started the program
// (WakeAPs). Context: any; does not allocate.
func ProgramStarted() bool { return programStarted.Load() }

// WakeAPs tells the application processors halted in package kernel's
// apMain that the program starts. Context: boot CPU, right before it
// enters the program; does not allocate.
func WakeAPs() {
	programStarted.Store(true)
	for i := 1; i < percpu.NOnline; i++ {
		clock.LAPIC.SendIPI(percpu.CPUs[i].APICID, x86.VecKick)
	}
}
