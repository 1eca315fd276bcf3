// Command wallclock prints the wall clock as nanoseconds since the Unix
// epoch, after a garbage collection (so that GODEBUG=gctrace=1 has a line
// to print). runtime.GC returns before the runtime has printed that
// cycle's trace line, which another thread writes; a second runtime.GC
// cannot start its cycle until the first cycle's line is out (the runtime
// prints it before releasing gcsema), so "gc 1" is complete before the
// program prints and exits. In the guest the wall clock comes from the CMOS RTC, which
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
	runtime.GC()
	fmt.Printf("wall clock: %d ns since the epoch\n", time.Now().UnixNano())
}
