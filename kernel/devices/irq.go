package devices

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/console"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/x86"
)

// Device interrupts. Legacy (ISA) lines go through the I/O APIC, to the
// boot CPU, with the polarity and trigger mode the ACPI MADT's interrupt
// source overrides give.
const irqCOM1 = 4 // ISA IRQ of the first serial port (vector x86.VecCOM1)

// SetupInterrupts programs the I/O APICs and turns on the console's
// receive interrupt. Context: boot.
func SetupInterrupts() {
	if !firmware.InitIOAPICs() {
		klog.Print("warning: no I/O APIC: console input is off")
		return
	}
	if r := firmware.ISARoute(irqCOM1); !console.RouteGSI(r.GSI, x86.VecCOM1, r.ActiveLow, r.Level) {
		klog.Print("warning: cannot route the serial port's interrupt: console input is off")
		return
	}
	klog.Serial.EnableRxInterrupt()
	if klog.Serial.Pending() {
		console.Interrupt() // input that arrived before the kernel started
	}
}

// Interrupt handles a device vector: the serial port's, the virtio
// console's or a /dev/irq descriptor's, and sends the local APIC its EOI.
// It returns false for a vector no device owns (no EOI sent). What the
// handlers recorded for epoll (fdtab.Notify) is package kernel's to act
// on. Context: trap, kernel lock held.
func Interrupt(v uint64) bool {
	handled := true
	switch v {
	case x86.VecCOM1:
		console.Interrupt()
	case x86.VecVCon:
		console.VconInterrupt()
	default:
		handled = irqInterrupt(v)
	}
	if handled {
		clock.LAPIC.EOI()
	}
	return handled
}
