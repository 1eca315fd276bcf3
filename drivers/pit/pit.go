// Package pit uses the 8254 programmable interval timer's channel 2 as a
// one-shot stopwatch to calibrate the TSC and the local APIC timer.
package pit

import "github.com/gometal/gometal/kernel/cpu"

// Hz is the PIT's input clock.
const Hz = 1193182

const (
	portChannel2 = 0x42
	portCommand  = 0x43
	portGate     = 0x61 // bit 0: channel 2 gate, bit 1: speaker, bit 5: output
	cmdCh2Mode0  = 0xb0 // channel 2, lobyte/hibyte, mode 0 (interrupt on terminal count), binary
	gateOn       = 0x01
	speakerOn    = 0x02
	outputHigh   = 0x20
)

// Wait busy-waits for ticks PIT ticks (at most 65535, about 55 ms) and
// returns. Context: boot, before interrupts; does not allocate.
func Wait(ticks uint16) {
	g := cpu.Inb(portGate)
	cpu.Outb(portGate, (g&^speakerOn)&^gateOn) // gate low: stop counting
	cpu.Outb(portCommand, cmdCh2Mode0)
	cpu.Outb(portChannel2, uint8(ticks))
	cpu.Outb(portChannel2, uint8(ticks>>8))
	cpu.Outb(portGate, (g&^speakerOn)|gateOn) // gate high: start
	for cpu.Inb(portGate)&outputHigh == 0 {
		cpu.Pause()
	}
}

// TicksFor returns the PIT ticks in us microseconds.
func TicksFor(us uint32) uint16 {
	t := uint64(us) * Hz / 1000000
	if t > 0xffff {
		t = 0xffff
	}
	return uint16(t)
}
