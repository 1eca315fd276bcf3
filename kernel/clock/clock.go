// Package clock is the kernel's time: the TSC's calibration against the
// machine's reference counters (drivers/clocksrc decides which to trust),
// the monotonic clock Nanotime, the wall clock from the RTC, the local
// APIC driver LAPIC with its timer (Arm) and the vDSO that lets the
// program read the clocks without a system call. It sits below the kernel
// panic report (kernel/kpanic reads Nanotime and sends its NMIs with
// LAPIC) and everything that keeps time (docs/kernel-layout.md); it
// imports only the drivers, kernel/cpu, kernel/abi, kernel/klog and
// kernel/firmware. Context: any (trap, boot, NMI) unless a function says
// otherwise; nothing here allocates after boot.
package clock

import (
	"math/bits"
	"sync/atomic"

	"github.com/gometal/gometal/drivers/acpi"
	"github.com/gometal/gometal/drivers/clocksrc"
	"github.com/gometal/gometal/drivers/lapic"
	"github.com/gometal/gometal/drivers/pit"
	"github.com/gometal/gometal/drivers/rtc"
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/klog"
)

// Clocks. The monotonic clock counts from kernel entry (bootTSC, which
// start64 reads and Calibrate takes) using the TSC, whose frequency comes
// from CPUID where the CPU or hypervisor reports it, and otherwise from a
// calibration against the HPET, the ACPI PM timer or the PIT, with the
// RTC's second as the last resort (drivers/clocksrc decides); wall time
// adds the CMOS RTC's reading at boot. The vDSO's assembly reads bootTSC,
// tscMult and wallAtBoot by name (vdso_amd64.s).
var (
	bootTSC    uint64
	tscHz      uint64
	tscMult    uint64 // nanoseconds per TSC tick, as a 32.32 fixed-point number
	lapicPerMs uint64 // local APIC timer ticks per millisecond
	wallAtBoot int64  // Unix time in ns at bootTSC
	// useTSCDeadline: the LAPIC timer takes absolute TSC deadlines (no
	// conversion error, no re-arming drift); QEMU's TCG lacks the mode.
	useTSCDeadline bool
	// trusted: the TSC frequency is plausible and, where two sources
	// exist, two agree. Goroutine time slices need it (timeslice.Setup).
	trusted bool
	why     clocksrc.Problem // why not, when !trusted
)

// LAPIC is the local APIC driver. The same registers (or MSRs) reach each
// CPU's own local APIC, so every CPU uses this one value: its timer
// (Arm), IPIs and NMIs (kernel/kpanic stops the other CPUs with it), end
// of interrupt. Package kernel turns it on at boot (setupInterrupts); its
// zero value sends nothing. Context: any.
var LAPIC lapic.LAPIC

// TSCMult returns the nanoseconds per TSC tick as a 32.32 fixed-point
// number (0 before Calibrate). Context: any; does not allocate.
func TSCMult() uint64 { return tscMult }

// CyclesToNs converts TSC cycles to nanoseconds (0 before Calibrate).
// Context: any; does not allocate.
func CyclesToNs(cycles uint64) uint64 { return ScaleCycles(cycles, tscMult) }

// ScaleCycles converts TSC cycles to nanoseconds at mult nanoseconds per
// cycle (32.32 fixed point, as TSCMult). Context: any; does not allocate.
func ScaleCycles(cycles, mult uint64) uint64 {
	hi, lo := bits.Mul64(cycles, mult)
	return hi<<32 | lo>>32
}

// WallAtBoot returns the Unix time in nanoseconds at kernel entry (the
// RTC's reading at Calibrate, minus Nanotime then).
// Context: any; does not allocate.
func WallAtBoot() int64 { return wallAtBoot }

// Trusted reports whether the TSC's frequency is plausible and, where two
// sources exist, two agree (goroutine time slices need it), and if not,
// why. Context: any; does not allocate.
func Trusted() (bool, clocksrc.Problem) { return trusted, why }

// calibrationUs is how long the TSC is measured against the reference
// counters (two halves that must agree; the first two counters share the
// window, see windowRefs), and lapicCalibrationUs the LAPIC timer against
// the TSC when its count through the TSC's calibration is unusable (it is
// normally measured over that, with no wait of its own). 4 ms is plenty:
// the slowest counter, the PIT, ticks 4,772 times in it (resolution
// 0.02%), and reading a counter under emulation takes microseconds, so
// the frequency is good to a few hundred ppm while the kernel's tolerance
// between sources is 2% (at 20 ms each, calibration was two thirds of the
// kernel's boot time under TCG).
const (
	calibrationUs      = 4000
	lapicCalibrationUs = 2000
)

// refCounter is a reference counter the TSC is calibrated against.
type refCounter struct {
	src   clocksrc.Source
	hz    uint64
	width uint8
	hpet  uintptr // HPET: the register block (direct map)
	port  uint16  // PM timer: the I/O port
}

// Reference counters, set up by Calibrate.
var (
	refs  [3]refCounter
	nRefs int
)

// HPET registers.
const (
	hpetCapabilities = 0x000
	hpetConfig       = 0x010
	hpetCounter      = 0x0f0
	hpetEnable       = 1
)

// read returns r's current count. Context: boot; does not allocate.
func (r *refCounter) read() uint64 {
	switch r.src {
	case clocksrc.HPET:
		return uint64(mmioRead32(r.hpet + hpetCounter))
	case clocksrc.PMTimer:
		return uint64(cpu.Inl(r.port))
	}
	return pit.Read()
}

// readPair reads r between two TSC readings, four times, and returns the
// reading whose TSC bracket was the shortest, with the bracket's middle:
// an interruption by the host (or an SMI) between the reads would
// otherwise skew the calibration. Context: boot; does not allocate.
func (r *refCounter) readPair() (tsc, ref uint64) {
	best := ^uint64(0)
	for i := 0; i < 4; i++ {
		t0 := cpu.Rdtsc()
		v := r.read()
		t1 := cpu.Rdtsc()
		if t1-t0 < best {
			best, tsc, ref = t1-t0, t0+(t1-t0)/2, v
		}
	}
	return tsc, ref
}

// windowRefs is how many reference counters share a calibration window:
// the first two the machine has (on q35 the HPET and the ACPI PM timer
// that cross-checks it) are read in the same 4 ms, each between its own
// TSC readings, so the cross-check costs no time of its own. The third
// (the PIT, after two) gets a window of its own only when the first two
// do not settle the frequency: a machine without a PIT reads a constant,
// which takes StuckTSC to give up on.
const windowRefs = 2

// measureOnceTogether measures the TSC against each refs[first+i] with
// pending[i] over the same us microseconds, into hz[i]: 0 when it does not
// advance. Each counter's window ends as soon as it has covered us (its
// end read then), the others' go on. Context: boot, interrupts off; does
// not allocate.
func measureOnceTogether(first, n int, pending *[windowRefs]bool, us uint64, hz *[windowRefs]uint64) {
	var w [windowRefs]clocksrc.Window
	open := 0
	for i := 0; i < n; i++ {
		hz[i] = 0
		if pending[i] {
			r := &refs[first+i]
			tsc, v := r.readPair()
			w[i].Start(r.hz, r.width, us, tsc, v)
			open++
		}
	}
	for open > 0 {
		for i := 0; i < n; i++ {
			if w[i].State == clocksrc.Closed {
				continue
			}
			r := &refs[first+i]
			if w[i].State == clocksrc.Open {
				v := r.read()
				w[i].Step(cpu.Rdtsc(), v)
			}
			switch w[i].State {
			case clocksrc.Reached:
				tsc, last := r.readPair()
				hz[i] = w[i].Finish(tsc, last)
				open--
			case clocksrc.Stuck:
				hz[i] = w[i].Finish(0, 0)
				open--
			}
		}
	}
}

// measureAll fills ms with the CPUID frequency, if any, and calibrations
// against the reference counters, windowRefs of them in each window (the
// order of Calibrate's list), stopping after the window in which two
// sources agree. The decision is the one measuring them one at a time
// would give with the same readings: Choose takes the first pair that
// agrees, in the same order.
// Context: boot, interrupts off; does not allocate.
func measureAll(ms *[clocksrc.MaxMeasurements]clocksrc.Measurement, cpuidHz uint64, cpuidSrc clocksrc.Source) []clocksrc.Measurement {
	n := 0
	if cpuidSrc != clocksrc.None {
		ms[n] = clocksrc.Measurement{Src: cpuidSrc, Hz: cpuidHz}
		n++
	}
	for i := 0; i < nRefs; {
		// Measure the TSC against refs[i:i+k] in the same
		// calibrationUs, into hz[0:k]: for each counter two halves
		// that must agree within clocksrc.HalvesPPM (trying three
		// times), 0 for a counter that does not advance (the device is
		// absent) or whose halves never agree.
		k := min(windowRefs, nRefs-i)
		var hz [windowRefs]uint64
		var pending [windowRefs]bool
		left := k
		for j := 0; j < k; j++ {
			pending[j] = true
		}
		for try := 0; try < 3 && left > 0; try++ {
			var a, b [windowRefs]uint64
			measureOnceTogether(i, k, &pending, calibrationUs/2, &a)
			for j := 0; j < k; j++ {
				if pending[j] && a[j] == 0 {
					pending[j] = false // did not advance: no device
					left--
				}
			}
			measureOnceTogether(i, k, &pending, calibrationUs/2, &b)
			for j := 0; j < k; j++ {
				if pending[j] {
					if hz[j] = clocksrc.Halves(a[j], b[j]); hz[j] != 0 {
						pending[j] = false
						left--
					}
				}
			}
		}
		for j := 0; j < k; j++ {
			ms[n] = clocksrc.Measurement{Src: refs[i+j].src, Hz: hz[j]}
			n++
		}
		i += k
		if d := clocksrc.Choose(ms[:n]); d.Trusted && d.Check != clocksrc.None {
			break
		}
	}
	return ms[:n]
}

// Calibrate starts the monotonic clock at entryTSC (the TSC start64 read
// at kernel entry), decides the TSC frequency (logging the source and the
// cross-check), measures the LAPIC timer against the TSC and reads the
// RTC. It returns false when the LAPIC timer does not count (the caller
// ends in a kernel panic: this package sits below the report).
// Context: boot, interrupts off, after LAPIC is on; does not allocate.
func Calibrate(entryTSC uint64) bool {
	bootTSC = entryTSC
	// The LAPIC timer counts down through the TSC's calibration and is
	// measured against the TSC over the whole of it (no wait of its own).
	LAPIC.StartCalibration()
	lt0, l0 := cpu.Rdtsc(), LAPIC.TimerCount()
	// The TSC frequency CPUID reports, if any.
	maxLeaf, _, _, _ := cpu.Cpuid(0, 0)
	var l15 [3]uint32
	var l16 uint32
	if maxLeaf >= 0x15 {
		l15[0], l15[1], l15[2], _ = cpu.Cpuid(0x15, 0)
	}
	if maxLeaf >= 0x16 {
		l16, _, _, _ = cpu.Cpuid(0x16, 0)
	}
	var hvMax, hvKHz uint32
	if _, _, ecx, _ := cpu.Cpuid(1, 0); ecx&(1<<31) != 0 { // hypervisor present
		hvMax, _, _, _ = cpu.Cpuid(0x40000000, 0)
		if hvMax >= 0x40000010 && hvMax < 0x40010000 {
			hvKHz, _, _, _ = cpu.Cpuid(0x40000010, 0)
		}
	}
	cpuidHz, cpuidSrc := clocksrc.CPUIDHz(maxLeaf, l15, l16, hvMax, hvKHz)

	// The machine's reference counters, the most precise first: the HPET
	// (ACPI HPET table), the ACPI PM timer (FADT; absent on
	// hardware-reduced ACPI) and the PIT, which is assumed: a machine
	// without one reads a constant, and the calibration gives up on it.
	nRefs = 0
	if firmware.HaveACPI() && firmware.Tables().HaveHPET {
		a := firmware.Tables().HPET.BaseAddress
		if a.AddressSpaceID == acpi.SpaceSystemMemory && a.Address != 0 && a.Address < 4<<30 {
			regs := uintptr(abi.DirectBase + a.Address)
			if hz := clocksrc.HPETHz(mmioRead64(regs + hpetCapabilities)); hz != 0 {
				mmioWrite64(regs+hpetConfig, mmioRead64(regs+hpetConfig)|hpetEnable)
				refs[nRefs] = refCounter{src: clocksrc.HPET, hz: hz, width: 32, hpet: regs}
				nRefs++
			}
		}
	}
	if firmware.HaveACPI() && firmware.Tables().HaveFADT && !firmware.Tables().FADT.HardwareReduced() {
		f := &firmware.Tables().FADT
		if a := f.PMTimer(); a.AddressSpaceID == acpi.SpaceSystemIO && a.Address != 0 && a.Address < 0x10000 {
			w := uint8(24)
			if f.Flags&acpi.FlagTmrValExt != 0 {
				w = 32
			}
			refs[nRefs] = refCounter{src: clocksrc.PMTimer, hz: clocksrc.PMTimerHz, width: w, port: uint16(a.Address)}
			nRefs++
		}
	}
	pit.Start()
	refs[nRefs] = refCounter{src: clocksrc.PIT, hz: pit.Hz, width: pit.Width}
	nRefs++

	// Measured twice on a disagreement (an untrusted decision with a
	// check), in case the host interrupted. One call site for both: each
	// copy of Choose's result costs code (issue 16's budget).
	var ms [clocksrc.MaxMeasurements]clocksrc.Measurement
	var d clocksrc.Decision
	for try := 0; try == 0 || try == 1 && !d.Trusted && d.Check != clocksrc.None; try++ {
		d = clocksrc.Choose(measureAll(&ms, cpuidHz, cpuidSrc))
	}
	if !d.Trusted && d.Check == clocksrc.None {
		// No usable counter: time one RTC second, between two update
		// ends (one to two seconds' wait); 0 without an RTC.
		hz := uint64(0)
		if rtc.NextSecond(rtcLimitTSC) {
			t0 := cpu.Rdtsc()
			if rtc.NextSecond(rtcLimitTSC) {
				hz = cpu.Rdtsc() - t0
			}
		}
		ms[0] = clocksrc.Measurement{Src: clocksrc.RTC, Hz: hz}
		if r := clocksrc.Choose(ms[:1]); r.Trusted {
			d = r
		}
	}
	logClockDecision(&d)
	tscHz, trusted, why = d.Hz, d.Trusted, d.Why
	if tscHz == 0 {
		tscHz = 1e9 // nothing to go by: a guess, and the clock is untrusted
	}
	tscMult = (1e9 << 32) / tscHz

	l1, lt1 := LAPIC.TimerCount(), cpu.Rdtsc()
	LAPIC.StopTimer()
	lapicPerMs = lapicRate(l0, l1, lt1-lt0)
	if lapicPerMs == 0 {
		// Ran out or did not count: a window of its own, against the
		// calibrated TSC, over lapicCalibrationUs.
		LAPIC.StartCalibration()
		t0 := cpu.Rdtsc()
		l0 := LAPIC.TimerCount()
		for cpu.Rdtsc()-t0 < tscHz/(1e6/lapicCalibrationUs) {
			cpu.Pause()
		}
		l1 := LAPIC.TimerCount()
		t1 := cpu.Rdtsc()
		LAPIC.StopTimer()
		lapicPerMs = lapicRate(l0, l1, t1-t0)
	}
	if lapicPerMs == 0 {
		return false
	}
	useTSCDeadline = lapic.HasTSCDeadline()
	now, ok := rtc.Read()
	if !ok {
		klog.Print("warning: no RTC: the wall clock starts at 1970")
	}
	wallAtBoot = now.Unix()*1e9 - Nanotime()
	return true
}

// lapicRate returns the LAPIC timer's ticks per millisecond from its
// counts l0 and l1 (counting down) tscTicks apart, or 0 when the count
// ran out (one-shot: it stops at 0), did not move, or the window is under
// a millisecond or over 10 s (a count that may have wrapped).
// Context: boot; does not allocate.
//
// Not inlined: one copy is smaller than its inlined ones (issue 16's
// image budget).
//
//go:noinline
func lapicRate(l0, l1 uint32, tscTicks uint64) uint64 {
	if l1 == 0 || l1 >= l0 || tscTicks < tscHz/1000 || tscTicks > 10*tscHz {
		return 0
	}
	return clocksrc.Rate(uint64(l0-l1), tscTicks, tscHz) / 1000
}

// rtcLimitTSC bounds each wait for the RTC's next second: over a second
// at any plausible TSC frequency (3 s at 10 GHz), at most 30 s at 1 GHz.
const rtcLimitTSC = 3e10

// logClockDecision prints the TSC frequency, its source and the
// cross-check; an untrusted clock is a warning, shown even when quiet.
// Context: boot; does not allocate.
func logClockDecision(d *clocksrc.Decision) {
	var l klog.Line
	if d.Hz == 0 {
		l.S("clock: no source for the TSC frequency (no HPET, PM timer, PIT or RTC answered): guessing 1 GHz, untrusted").Print()
		return
	}
	l.S("clock: TSC ").Hz(d.Hz).S(" from ").S(d.Src.String())
	switch {
	case d.Check != clocksrc.None:
		if d.Trusted {
			l.S(", ").S(d.Check.String()).S(" agrees within ")
		} else {
			l.S(", but ").S(d.Check.String()).S(" says ").Hz(d.CheckHz).S(", off by ")
		}
		l.PPM(d.DiffPPM)
	case d.Trusted:
		l.S(" (no second source to cross-check)")
	}
	if !d.Trusted {
		l.S(": untrusted (").S(d.Why.String()).S(")").Print()
		return
	}
	l.Info()
}

// DelayUntil busy-waits until Nanotime reaches deadline.
// Context: any (boot, or trap: a short nanosleep's delay loop); does not
// allocate.
func DelayUntil(deadline int64) {
	for Nanotime() < deadline {
		cpu.Pause()
	}
}

// Nanotime returns nanoseconds since kernel entry (0 before Calibrate).
// Context: any; does not allocate.
func Nanotime() int64 { return int64(CyclesToNs(cpu.Rdtsc() - bootTSC)) }

// Arm programs this CPU's LAPIC timer to fire at deadline (nanoseconds
// on Nanotime's scale), or turns it off when deadline is 0 (tickless).
// lvt is this CPU's copy of its LVT timer register (percpu.CPU.TimerLVT:
// the register is written only when it changes; one write then arms the
// timer). Package kernel's armTimer decides the deadline with the
// scheduler. Context: trap or boot, interrupts off; does not allocate.
func Arm(deadline int64, lvt *uint32) {
	if useTSCDeadline {
		if deadline == 0 {
			LAPIC.StopDeadline()
		} else {
			hi, lo := bits.Mul64(uint64(deadline), tscHz)
			ticks, _ := bits.Div64(hi, lo, 1e9)
			LAPIC.StartDeadline(bootTSC+ticks, lvt)
		}
		return
	}
	if deadline == 0 {
		LAPIC.StopOneShot()
		return
	}
	ns := deadline - Nanotime()
	ns = min(max(ns, 1000), 10e9)
	ticks := uint64(ns) * lapicPerMs / 1e6
	LAPIC.ArmOneShot(uint32(max(ticks, 1)), lvt)
}

// mmioRead32 reads a device register at virtual address a; the atomic load
// keeps the compiler from merging or hoisting repeated reads of it.
// Context: any; does not allocate.
func mmioRead32(a uintptr) uint32 { return atomic.LoadUint32((*uint32)(cpu.Pointer(a))) }

// mmioRead64 is mmioRead32 for a 64-bit register.
// Context: any; does not allocate.
func mmioRead64(a uintptr) uint64 { return atomic.LoadUint64((*uint64)(cpu.Pointer(a))) }

// mmioWrite64 writes a 64-bit device register at virtual address a.
// Context: any; does not allocate.
func mmioWrite64(a uintptr, v uint64) { atomic.StoreUint64((*uint64)(cpu.Pointer(a)), v) }
