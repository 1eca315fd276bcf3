// Command clockcheck measures its own run on the monotonic clock: it
// prints a start line, sleeps three quarters of -d (1.5 s by default),
// spins the rest (0.5 s), and prints how long that took by time.Since. A
// host that notes when the two lines arrive can compare the guest's clock
// with its own (qemu/microvm_test.go does, on QEMU's microvm and q35; with
// GOMETAL_CLOCKCHECK=10s it runs the 10-second measurement of
// docs/microvm.md). The output differs on every run, so the boot test runs
// it only in the guest.
//
// Usage:
//
//	clockcheck [-d 2s]
package main

import (
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	d := flag.Duration("d", 2*time.Second, "the whole measured time: 3/4 asleep, 1/4 spinning")
	flag.Parse()
	if *d <= 0 {
		fmt.Fprintln(os.Stderr, "clockcheck: -d must be positive")
		os.Exit(2)
	}
	start := time.Now()
	fmt.Println("clockcheck: start")
	time.Sleep(*d * 3 / 4)
	spins := 0
	for time.Since(start) < *d {
		spins++
	}
	fmt.Printf("clockcheck: elapsed %d ms (%d spins)\n", time.Since(start).Milliseconds(), spins)
}
