// Package kgo holds the kernel's goroutines: device drivers and services
// that run as ordinary Go code inside the program's runtime (ring 3, with
// IOPL 3 for port I/O), started before the program's main. They allocate,
// block and log like any Go code; they never run in trap context.
//
// It gives the drivers PCI configuration access (ConfigSpace) and the kernel
// log (Logf). It does nothing at start-up: the boot log's list of PCI
// functions is the kernel's own, made before the program starts
// (kernel/pcilist.go), so that a program that drives no device pays nothing
// before its main. The virtio-net driver and the network stack are in
// package kernel/ring3/knet.
package kgo

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
)

// OnGometal reports whether the program runs on the gometal kernel (its
// uname release ends in "-gometal") rather than on a host, where there is
// no device to drive and port I/O would fault. Context: ring-3 kernel
// goroutine.
func OnGometal() bool {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return false
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return strings.HasSuffix(b.String(), "-gometal")
}

// quiet mirrors the kernel's quiet option (read with the first log line).
var quiet bool

// readCmdline returns the kernel command line (from /proc/cmdline, which
// the kernel serves).
func readCmdline() []byte {
	b, _ := os.ReadFile("/proc/cmdline")
	return bytes.TrimSpace(b)
}

// Logf writes one kernel log line (docs/protocols.md) unless the kernel
// runs quiet. Context: ring-3 kernel goroutine.
func Logf(format string, args ...any) { logf(format, args...) }

// logf writes one kernel log line (docs/protocols.md) unless quiet.
func logf(format string, args ...any) {
	kmsgOnce.Do(func() {
		quiet = bytes.Contains(append([]byte(" "), readCmdline()...), []byte(" quiet"))
		kmsg, _ = os.OpenFile("/dev/kmsg", os.O_WRONLY, 0)
	})
	if quiet {
		return
	}
	if kmsg != nil {
		fmt.Fprintf(kmsg, format+"\n", args...) // one write, one line of the kernel log
		return
	}
	fmt.Fprintf(os.Stderr, "[gometal] "+format+"\n", args...)
}

// kmsg is /dev/kmsg, where the kernel's goroutines write their log lines,
// which thus go where the kernel's own go (the virtio console's log port,
// or COM1), not into the program's stderr.
var (
	kmsgOnce sync.Once
	kmsg     *os.File
)
