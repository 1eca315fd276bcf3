// Command wallclock prints the wall clock as nanoseconds since the Unix
// epoch, after a garbage collection (so that GODEBUG=gctrace=1 has a line
// to print). In the guest the wall clock comes from the CMOS RTC, which
// QEMU sets from the host's clock: qemu/startup_test.go compares the two.
// The output differs on every run, so the boot test runs it only in the
// guest.
package main

import (
	"fmt"
	"runtime"
	"time"
)

func main() {
	runtime.GC()
	fmt.Printf("wall clock: %d ns since the epoch\n", time.Now().UnixNano())
}
