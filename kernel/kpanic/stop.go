package kpanic

import (
	"github.com/gometal/gometal/drivers/debugexit"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/klog"
)

// noReset is the kernel option noreset: Stop halts instead of resetting.
var noReset bool

// SetNoReset records the kernel option noreset (Stop halts instead of
// resetting the machine). Context: boot; does not allocate.
func SetNoReset(v bool) { noReset = v }

// StatusRecord prints the exit status record of docs/protocols.md, the
// last line before the machine stops, even when quiet: "exit status N"
// (N the program's status, 0 to 255) or "exit status panic". Harnesses
// without isa-debug-exit read the status from it.
// Context: trap or boot (shutdown, kernel panic); does not allocate.
func StatusRecord(status int, panic bool) {
	var l klog.Line
	l.S(statusRecordPrefix)
	if panic {
		l.S("panic").Print()
		return
	}
	l.U(uint64(status)).Print()
}

// statusRecordPrefix starts the status record (after the log prefix).
const statusRecordPrefix = "exit status "

// Stop writes v to the debug-exit port (QEMU exits there when it has the
// device; elsewhere the write goes nowhere), then tries ACPI power-off
// (S5), then resets the machine: the status record printed before is how
// a host without the device learns the status. noreset on the command
// line halts instead of resetting.
// Context: trap or boot (shutdown, kernel panic); does not allocate;
// never returns.
func Stop(v uint32) {
	debugexit.Exit(v)
	firmware.PowerOff()
	if !noReset {
		firmware.Reset()
	}
	klog.Print("halted: no debug-exit device, and neither ACPI power-off nor a reset stopped the machine")
	for {
		cpu.DisableInterrupts()
		cpu.Halt()
	}
}
