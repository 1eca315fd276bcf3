// Command clockcheck measures its own run on the monotonic clock: it
// prints a start line, sleeps 1.5 s, spins 0.5 s, and prints how long that
// took by time.Since. A host that notes when the two lines arrive can
// compare the guest's clock with its own (qemu/microvm_test.go does, on
// QEMU's microvm and q35). The output differs on every run, so the boot
// test runs it only in the guest.
package main

import (
	"fmt"
	"time"
)

func main() {
	start := time.Now()
	fmt.Println("clockcheck: start")
	time.Sleep(1500 * time.Millisecond)
	spins := 0
	for time.Since(start) < 2*time.Second {
		spins++
	}
	fmt.Printf("clockcheck: elapsed %d ms (%d spins)\n", time.Since(start).Milliseconds(), spins)
}
