// Package qexit ends a benchmark guest with a status QEMU reports: the
// workload and the Linux side's network init (bench/workload,
// bench/netinit) share it.
package qexit

import (
	"os"

	"golang.org/x/sys/unix"
)

// debugExitPort is QEMU's isa-debug-exit port (docs/protocols.md): writing
// v there makes QEMU exit with status (v << 1) | 1.
const debugExitPort = 0xf4

// Exit ends the program with status code. As the init process (PID 1, so
// never on a host) it first writes code to the debug-exit port through
// /dev/port, after waiting until the console has sent everything, because
// Linux panics when init exits. Where /dev/port does not open (the gometal
// kernel has no such file; it reports the exit itself) it just exits.
func Exit(code int) {
	if os.Getpid() == 1 {
		if port, err := os.OpenFile("/dev/port", os.O_WRONLY, 0); err == nil {
			// TCSBRK with a non-zero argument is tcdrain(3): it returns
			// once the serial port has sent what the program wrote.
			unix.IoctlSetInt(int(os.Stdout.Fd()), unix.TCSBRK, 1)
			port.WriteAt([]byte{byte(code)}, debugExitPort)
		}
	}
	os.Exit(code)
}
