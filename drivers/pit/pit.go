// Package pit reads the 8254 programmable interval timer's channel 0 as a
// free-running counter, a reference to calibrate the TSC against. Channel
// 0 is used, not the gated channel 2, because channel 2's gate and output
// live in port 0x61 (the PC speaker's), which machines without a speaker
// (QEMU's microvm) do not have: there, channel 2 reads as instantly done.
package pit

import "github.com/gometal/gometal/kernel/cpu"

// Hz is the PIT's input clock.
const Hz = 1193182

// Width is the width of the counter Read returns, in bits.
const Width = 16

const (
	portChannel0 = 0x40
	portCommand  = 0x43
	cmdCh0Mode2  = 0x34 // channel 0, lobyte/hibyte, mode 2 (rate generator), binary
	cmdCh0Latch  = 0x00 // channel 0, counter latch
)

// Start makes channel 0 count down from 65536 over and over (mode 2), as
// firmware usually leaves it; its interrupt (IRQ 0) stays masked by the
// caller. Context: boot, interrupts off; does not allocate.
func Start() {
	cpu.Outb(portCommand, cmdCh0Mode2)
	cpu.Outb(portChannel0, 0)
	cpu.Outb(portChannel0, 0)
}

// Read returns channel 0's progress as a 16-bit counter that counts up at
// Hz (the down-counter, negated). Without a PIT it returns a constant.
// Context: boot, interrupts off; does not allocate.
func Read() uint64 {
	cpu.Outb(portCommand, cmdCh0Latch)
	lo := cpu.Inb(portChannel0)
	hi := cpu.Inb(portChannel0)
	return uint64(-(uint16(hi)<<8 | uint16(lo)))
}
