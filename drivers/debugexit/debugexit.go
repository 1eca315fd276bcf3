// Package debugexit stops QEMU through its isa-debug-exit device
// (-device isa-debug-exit,iobase=0xf4,iosize=0x04): QEMU exits with status
// (v << 1) | 1. See docs/protocols.md for the values the kernel writes.
package debugexit

import "github.com/gometal/gometal/kernel/cpu"

// Port is the device's I/O port.
const Port = 0xf4

// Values written for the two kinds of exit (docs/protocols.md).
const (
	MaxProgramStatus = 126 // larger program statuses are clamped to this
	KernelPanic      = 127 // QEMU exits with 255
)

// Encode maps a program's exit status to the value written to the device.
func Encode(status int) uint32 {
	if status < 0 || status > MaxProgramStatus {
		return MaxProgramStatus
	}
	return uint32(status)
}

// Exit writes v to the device. Without the device (real hardware) it
// returns, and the caller decides how to stop. Context: any.
func Exit(v uint32) {
	cpu.Outl(Port, v)
}
