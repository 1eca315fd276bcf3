package knet

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
)

// The network's boot log: "[gometal] ..." lines on stderr, like the other
// kernel goroutines (docs/protocols.md), silenced by the quiet option.

var (
	logOnce sync.Once
	quiet   bool
)

// logf writes one kernel log line unless the kernel runs quiet. Context:
// ring-3 kernel goroutine.
func logf(format string, args ...any) {
	logOnce.Do(func() {
		b, _ := os.ReadFile("/proc/cmdline")
		quiet = bytes.Contains(append([]byte(" "), bytes.TrimSpace(b)...), []byte(" quiet"))
	})
	if quiet {
		return
	}
	fmt.Fprintf(os.Stderr, "[gometal] "+format+"\n", args...)
}

// onGometal reports whether the program runs on the gometal kernel (its
// uname release ends in "-gometal") rather than on a host, where there is
// no device to drive and port I/O would fault.
func onGometal() bool {
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
