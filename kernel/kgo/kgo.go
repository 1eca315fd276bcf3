// Package kgo holds the kernel's goroutines: device drivers and services
// that run as ordinary Go code inside the program's runtime (ring 3, with
// IOPL 3 for port I/O), started before the program's main. They allocate,
// block and log like any Go code; they never run in trap context.
//
// Today it enumerates the PCI bus and lists the devices in the boot log;
// the virtio-net driver and the network stack will live here.
package kgo

import (
	"bytes"
	"fmt"
	"os"
)

func init() {
	quiet = bytes.Contains(append([]byte(" "), readCmdline()...), []byte(" quiet"))
	scanPCI()
}

// quiet mirrors the kernel's quiet option.
var quiet bool

// readCmdline returns the kernel command line (from /proc/cmdline, which
// the kernel serves).
func readCmdline() []byte {
	b, _ := os.ReadFile("/proc/cmdline")
	return bytes.TrimSpace(b)
}

// logf writes one kernel log line (docs/protocols.md) unless quiet.
func logf(format string, args ...any) {
	if quiet {
		return
	}
	fmt.Fprintf(os.Stderr, "[gometal] "+format+"\n", args...)
}
