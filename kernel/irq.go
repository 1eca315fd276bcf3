package kernel

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
)

// Device interrupts. Legacy (ISA) lines go through the I/O APIC, to the
// boot CPU, with the polarity and trigger mode the ACPI MADT's interrupt
// source overrides give.
const (
	vecCOM1 = 0x24
	irqCOM1 = 4 // ISA IRQ of the first serial port
)

// routeISA sends ISA irq to vector on the boot CPU. Context: boot.
func routeISA(irq uint8, vector uint8) bool {
	r := firmware.ISARoute(irq)
	ioapics := firmware.IOAPICs()
	for i := range ioapics {
		if ioapics[i].Serves(r.GSI) {
			return ioapics[i].Route(r.GSI, vector, percpu.CPUs[0].APICID, r.ActiveLow, r.Level)
		}
	}
	return false
}

// setupDeviceInterrupts programs the I/O APICs and turns on the console's
// receive interrupt. Context: boot.
func setupDeviceInterrupts() {
	if !firmware.InitIOAPICs() {
		klog.Print("warning: no I/O APIC: console input is off")
		return
	}
	if !routeISA(irqCOM1, vecCOM1) {
		klog.Print("warning: cannot route the serial port's interrupt: console input is off")
		return
	}
	klog.Serial.EnableRxInterrupt()
	if klog.Serial.Pending() {
		consoleInterrupt() // input that arrived before the kernel started
	}
}

// deviceInterrupt handles a device vector, then acts on the descriptors
// the handler recorded (socketEvents: the console's and /dev/irq's epoll
// watchers wake before the scheduler runs, as when the handlers called
// epollNotify). Context: trap, kernel lock held.
func deviceInterrupt(v uint64) bool {
	handled := true
	switch v {
	case vecCOM1:
		consoleInterrupt()
	case vecVCon:
		vconInterrupt()
	default:
		handled = irqInterrupt(v)
	}
	if handled {
		clock.LAPIC.EOI()
	}
	socketEvents()
	return handled
}
