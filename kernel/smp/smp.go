// Package smp starts the application processors and keeps the CPUs'
// views of the one page table consistent: the INIT-SIPI-SIPI bring-up
// through boot's real-mode trampoline (Start), the kernel stacks it maps
// for each CPU, the release of the halted processors when the program
// starts (WakeAPs), and TLB shootdowns (Shootdown, ServiceTLB) with the
// kernel panic that names a CPU that never answers (NotAnswering). It
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

// SMP bring-up: every CPU the firmware lists (ACPI MADT) is started with
// INIT-SIPI-SIPI through the real-mode trampoline (boot/trampoline.go).
// The INITs go to all of them first, with one wait (none on CPUs that need
// none, see initDelayUs); then each gets its start-up IPIs in turn, with
// the trampoline's parameters for its slot, and is waited for (about a
// millisecond under TCG). A CPU that does not answer in time is logged and
// skipped.

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
// for a CPU to come up.
const (
	kstackRegion = 0xffffc00000000000
	ISTSize      = 16 << 10
	apTimeoutUs  = 200000
)

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

// prepareCPU fills c's per-CPU state for a CPU that will start at
// apEntry64: its kernel stack, kernel g, TLS slot and GS value.
// Context: boot CPU, kernel lock held; does not allocate.
func prepareCPU(c *percpu.CPU, id int, apicID uint32) bool {
	top := allocKernelStack(percpu.KstackSize)
	if top == 0 {
		return false
	}
	for i := range c.ISTTop {
		if c.ISTTop[i] = allocKernelStack(ISTSize); c.ISTTop[i] == 0 {
			return false
		}
	}
	c.Self = uintptr(ptrOfCPU(c))
	c.ID = id
	c.APICID = apicID
	c.KstackTop = top
	c.G.StackLo = top - percpu.KstackSize
	c.G.StackHi = top
	c.G.Stackguard0 = c.G.StackLo + percpu.KernelGuard
	c.G.Stackguard1 = c.G.Stackguard0
	c.TLSG = uintptr(ptrOfG(&c.G))
	c.KernelFS = uintptr(ptrOfWord(&c.TLSEnd))
	return true
}

// Start starts every CPU in ids but this one at apEntry (the entry
// assembly's apEntry64), counting those that come up in percpu.NOnline.
// apfault and hasAPFault are the kernel option apfault= (apFaultOption).
// Context: boot CPU, kernel lock held.
func Start(ids []uint32, apEntry uintptr, apfault string, hasAPFault bool) {
	bsp := clock.LAPIC.ID()
	page := bytesAt(vm.PhysToVirt(boot.APTrampolineAddr), mm.PageSize)
	copy(page, boot.APTrampoline[:])
	if !mm.KPT.Map(&vm.Frames, boot.APTrampolineAddr, boot.APTrampolineAddr, mm.PTEWrite) {
		kpanic.Panic("cannot map the AP trampoline", nil)
	}
	faulty, late, hasFault := apFaultOption(apfault, hasAPFault)
	lateAPIC, wakeLate := uint32(0), false
	initAll := clock.Nanotime()
	for _, apic := range ids {
		if apic != bsp && !(hasFault && late && apic == faulty) {
			clock.LAPIC.SendInit(apic) // apfault=N:late: no start-up now, a late one below
		}
	}
	clock.DelayUs(initDelayUs())
	initNs := clock.Nanotime() - initAll
	for _, apic := range ids {
		if apic == bsp {
			continue
		}
		if percpu.NOnline == percpu.MaxCPUs {
			var l klog.Line
			l.S("more than ").U(percpu.MaxCPUs).S(" CPUs: the rest stay off").Print()
			return
		}
		c := &percpu.CPUs[percpu.NOnline]
		if !prepareCPU(c, percpu.NOnline, apic) {
			kpanic.Panic("no memory for a CPU's stacks", nil)
		}
		put64 := func(off uintptr, v uint64) { *(*uint64)(ptr(vm.PhysToVirt(boot.APTrampolineAddr) + off)) = v }
		put64(boot.APParamCR3, mm.KPT.Root)
		put64(boot.APParamStack, uint64(c.KstackTop))
		put64(boot.APParamEntry, uint64(apEntry))
		put64(boot.APParamCPU, uint64(c.Self))
		vector := uint8(boot.APTrampolineAddr >> 12)
		slow := hasFault && apic == faulty
		if slow && !late {
			vector = uint8(parkPage() >> 12) // apfault=N: this CPU will not answer
		}
		c.APGo.Store(APExpected)
		start := clock.Nanotime()
		if !slow || !late { // apfault=N:late: no start-up now, a late one below
			clock.LAPIC.SendStartup(apic, vector)
		}
		if !waitOnline(c, 1000) {
			if !slow || !late {
				clock.LAPIC.SendStartup(apic, vector)
			}
			waitOnline(c, apTimeoutUs)
		}
		var l klog.Line
		if !c.Online.Load() && !c.APGo.CompareAndSwap(APExpected, APWithdrawn) {
			// The CPU claimed its slot just as the time ran out: it is
			// on its way, on this slot's stack, so the slot is its.
			if !waitOnline(c, 1000000) {
				kpanic.Panic("an application processor claimed its slot but never came online", nil)
			}
		}
		if !c.Online.Load() {
			// INIT again, so that a CPU that is merely slow stops. One
			// that arrives anyway finds its slot withdrawn (or another
			// CPU's) in apEntry64 and parks.
			clock.LAPIC.SendInit(apic)
			l.S("cpu with APIC id ").U(uint64(apic)).S(" did not answer within ").U(apTimeoutUs / 1000).S(" ms: skipped").Print()
			*c = percpu.CPU{}
			if slow && late {
				lateAPIC, wakeLate = apic, true
			}
			continue
		}
		c.StartNs = clock.Nanotime() - start
		l.S("cpu ").U(uint64(c.ID)).S(": APIC id ").U(uint64(apic)).S(", up in ").MS(c.StartNs).S(" after its start-up IPI (INIT to all: ").MS(initNs).S(")").Info()
		percpu.NOnline++
		threadtab.Sched.NCPU = percpu.NOnline
		if wakeLate {
			wakeLate = false
			wakeLateAP(lateAPIC)
		}
	}
	if wakeLate {
		wakeLateAP(lateAPIC)
	}
}

// initDelayUs is how long to wait between INIT and the start-up IPIs: the
// MP specification's 10 ms, except where the CPU is known not to need it
// (Linux waits none on the same ones): under a hypervisor (CPUID's
// hypervisor bit) and on Intel family 6 and later and AMD family 0xF and
// later. Context: boot; does not allocate.
func initDelayUs() int64 {
	_, vendorB, vendorC, vendorD := cpu.Cpuid(0, 0)
	eax, _, ecx, _ := cpu.Cpuid(1, 0)
	family := eax >> 8 & 0xf
	if family == 0xf {
		family += eax >> 20 & 0xff
	}
	intel := vendorB == 0x756e6547 && vendorD == 0x49656e69 && vendorC == 0x6c65746e // "GenuineIntel"
	amd := vendorB == 0x68747541 && vendorD == 0x69746e65 && vendorC == 0x444d4163   // "AuthenticAMD"
	if ecx&(1<<31) != 0 || (intel && family >= 6) || (amd && family >= 0xf) {
		return 0
	}
	return 10000
}

// wakeLateAP starts the CPU apfault=N:late made the boot CPU skip, now
// that the trampoline holds another CPU's parameters: it must park in
// apEntry64, not take that CPU's slot. Context: boot CPU, kernel lock
// held; does not allocate.
func wakeLateAP(apic uint32) {
	clock.LAPIC.SendInit(apic)
	clock.DelayUs(10000)
	clock.LAPIC.SendStartup(apic, uint8(boot.APTrampolineAddr>>12))
	clock.DelayUs(50000) // time to run the trampoline and park
	var l klog.Line
	l.S("apfault: cpu with APIC id ").U(uint64(apic)).S(" started late").Print()
}

// apFaultOption reads apfault=APICID[:late], a fault-injection option for
// the boot tests. apfault=N: that CPU is sent to a page that only halts,
// so it never reports online, exercising the time-out path.
// apfault=N:late: that CPU gets no start-up IPI in its turn, so it is
// skipped, and one after the next CPU came up (wakeLateAP), so it runs
// the trampoline with another CPU's parameters. v and ok are the option's
// value and whether it was given. Context: boot CPU, before the runtime
// starts; does not allocate.
func apFaultOption(v string, ok bool) (apic uint32, late, valid bool) {
	if !ok {
		return 0, false, false
	}
	if len(v) > 5 && v[len(v)-5:] == ":late" {
		v, late = v[:len(v)-5], true
	}
	var n uint32
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false, false
		}
		n = n*10 + uint32(v[i]-'0')
	}
	return n, late, len(v) > 0
}

// parkPageAddr is a low page holding "cli; hlt; jmp back to the hlt" for
// apfault=.
const parkPageAddr = 0x7000

// parkPage writes the halting code to parkPageAddr and returns it.
// Context: boot CPU, kernel lock held; does not allocate.
func parkPage() uint32 {
	if !mm.KPT.Map(&vm.Frames, parkPageAddr, parkPageAddr, mm.PTEWrite) {
		kpanic.Panic("cannot map the AP park page", nil)
	}
	p := bytesAt(vm.PhysToVirt(parkPageAddr), 4)
	p[0], p[1], p[2], p[3] = 0xfa, 0xf4, 0xeb, 0xfd // cli; hlt; jmp -3
	return parkPageAddr
}

// waitOnline waits up to us microseconds for c to report itself online.
// Context: boot, kernel lock held; does not allocate.
func waitOnline(c *percpu.CPU, us int64) bool {
	deadline := clock.Nanotime() + us*1000
	for !c.Online.Load() && clock.Nanotime() < deadline {
		cpu.Pause()
	}
	return c.Online.Load()
}

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
