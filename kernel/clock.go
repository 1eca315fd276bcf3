package kernel

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/timeslice"
)

// The clock is kernel/clock (kmain starts it); package kernel keeps the
// timer's deadline, which asks the scheduler.

// bootTSC is the TSC at kernel entry: start64 writes it (by symbol,
// which assembly cannot do across packages) and kmain hands it to
// kernel/clock (clock.Calibrate).
var bootTSC uint64

// armTimer programs this CPU's LAPIC timer (clock.Arm) for the deadline
// the scheduler asks (sched.Deadline: the next sleeping thread's deadline
// in this CPU's timer heap, the end of the running thread's slice if others
// wait, its next CPU-time timer) or the goroutine time slice, whichever
// comes first. With none, the timer stays off (tickless), or fires once
// more if it is still armed: a timer armed no later than needed is left
// alone (sched.Deadline), since each programming is a LAPIC write; a
// timer interrupt taken while c waited for a lock (percpu.CPU.TimerFired,
// which only the idle loop's halt and a nap otherwise consume) left the
// timer off, which the scheduler then learns first.
// Context: trap, kernel lock held, or c's run-queue lock
// (kernel/fastswitch.go); does not allocate.
func armTimer(c *percpu.CPU) {
	if c.TimerFired {
		// Taken in a wait for a lock (kernelTrap): no halt or nap took
		// it, and the timer is off (sched.Scheduler.TimerTaken).
		c.TimerFired = false
		threadtab.Sched.TimerTaken(c.ID)
	}
	now := clock.Nanotime()
	deadline, changed := threadtab.Sched.Deadline(c.ID, now, timeslice.Deadline(c, now))
	if changed {
		c.ArmDeadline, c.ArmPending = deadline, true // programmed by armPending
	}
}

// armPending programs the deadline armTimer decided on, once c has
// released the kernel lock (unlockKernel): the timer is c's own, and
// interrupts stay off until c returns to ring 3 or halts.
// Context: trap or boot, kernel lock just released by c, interrupts off;
// does not allocate.
func armPending(c *percpu.CPU) {
	if c.ArmPending {
		c.ArmPending = false
		percpu.Count(c, percpu.EvTimerArm)
		t0 := cpu.Rdtsc()
		clock.Arm(c.ArmDeadline, &c.TimerLVT)
		percpu.Events[c.ID][percpu.EvTimerArmCycles] += cpu.Rdtsc() - t0
	}
}
