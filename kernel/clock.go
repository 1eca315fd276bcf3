package kernel

import (
	"math/bits"

	"github.com/gometal/gometal/drivers/lapic"
	"github.com/gometal/gometal/drivers/pit"
	"github.com/gometal/gometal/drivers/rtc"
	"github.com/gometal/gometal/kernel/cpu"
)

// Clocks. The monotonic clock counts from kernel entry (bootTSC, read by
// start64) using the TSC, calibrated against the PIT; wall time adds the
// CMOS RTC's reading at boot.
var (
	bootTSC     uint64
	tscHz       uint64
	tscMult     uint64 // nanoseconds per TSC tick, as a 32.32 fixed-point number
	lapicPerMs  uint64 // local APIC timer ticks per millisecond
	wallAtBoot  int64  // Unix time in ns at bootTSC
	localAPIC   lapic.LAPIC
	timeSliceNs int64 = 10e6 // how long a thread runs while others wait
	// useTSCDeadline: the LAPIC timer takes absolute TSC deadlines (no
	// conversion error, no re-arming drift); QEMU's TCG lacks the mode.
	useTSCDeadline bool
)

// calibrationUs is the PIT interval used to measure the TSC and the LAPIC
// timer.
const calibrationUs = 10000

// calibrateClocks measures the TSC and LAPIC timer frequencies and reads the
// RTC. Context: boot, interrupts off; does not allocate.
func calibrateClocks() {
	localAPIC.StartCalibration()
	t0 := cpu.Rdtsc()
	pit.Wait(pit.TicksFor(calibrationUs))
	t1 := cpu.Rdtsc()
	left := localAPIC.TimerCount()
	localAPIC.StopTimer()
	tscHz = (t1 - t0) * (1e6 / calibrationUs)
	if tscHz == 0 {
		kernelPanic("TSC does not advance", nil)
	}
	tscMult = (1e9 << 32) / tscHz
	lapicPerMs = uint64(0xffffffff-left) / (calibrationUs / 1000)
	if lapicPerMs == 0 {
		kernelPanic("local APIC timer does not count", nil)
	}
	useTSCDeadline = lapic.HasTSCDeadline()
	now := rtc.Read()
	wallAtBoot = now.Unix()*1e9 - nanotime()
}

// nanotime returns nanoseconds since kernel entry. Context: any; does not
// allocate.
func nanotime() int64 {
	hi, lo := bits.Mul64(cpu.Rdtsc()-bootTSC, tscMult)
	return int64(hi<<32 | lo>>32)
}

// armTimer programs this CPU's LAPIC timer for the earliest of: the next
// sleeping thread's deadline (on the timer owner only), the end of the
// running thread's time slice if others wait for this CPU, and the running
// thread's next CPU-time timer. With none, the timer stays off (tickless).
// Context: trap, kernel lock held; does not allocate.
func armTimer(c *percpu) {
	var deadline int64
	if t, when := timers.Next(); t != noThread && c.id == timerOwner {
		deadline = when
	}
	if c.runq.Len() > 0 && c.cur != noThread {
		if end := c.sliceStart + timeSliceNs; deadline == 0 || end < deadline {
			deadline = end
		}
	}
	now := nanotime()
	if at := nextCPUExpiry(c, now); at != 0 && (deadline == 0 || at < deadline) {
		deadline = at
	}
	if at := sliceDeadline(c, now); at != 0 && (deadline == 0 || at < deadline) {
		deadline = at
	}
	if deadline == c.armed {
		return
	}
	c.armed = deadline
	if useTSCDeadline {
		if deadline == 0 {
			localAPIC.StopDeadline()
		} else {
			hi, lo := bits.Mul64(uint64(deadline), tscHz)
			ticks, _ := bits.Div64(hi, lo, 1e9)
			localAPIC.StartDeadline(bootTSC + ticks)
		}
		return
	}
	if deadline == 0 {
		localAPIC.StopTimer()
		return
	}
	ns := deadline - nanotime()
	ns = min(max(ns, 1000), 10e9)
	ticks := uint64(ns) * lapicPerMs / 1e6
	localAPIC.StartTimer(uint32(max(ticks, 1)))
}
