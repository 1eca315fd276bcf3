package main

import (
	"fmt"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// The output protocol, one line each, fields separated by single spaces,
// values either bare (no spaces or quotes) or Go-quoted strings:
//
//	BENCH-MAIN boottime_ns=N                  first line of main; N is CLOCK_BOOTTIME (-1 if unknown)
//	BENCH-INFO numcpu=N gomaxprocs=N go=VERSION
//	BENCH name=NAME value=FLOAT unit=UNIT     one result
//	BENCH name=NAME na="REASON"               a result this guest cannot give
//	BENCH-DONE                                every test ran
//
// tools/bench parses it (result.go there); other lines are ignored.

// printMain prints the BENCH-MAIN marker. It is the first thing main does.
func printMain() {
	boot := int64(-1)
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_BOOTTIME, &ts) == nil {
		boot = ts.Nano()
	}
	fmt.Printf("BENCH-MAIN boottime_ns=%d\n", boot)
}

// printInfo prints what the runtime sees of the machine.
func printInfo() {
	fmt.Printf("BENCH-INFO numcpu=%d gomaxprocs=%d go=%s\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version())
}

// printResult prints one result.
func printResult(name string, value float64, unit string) {
	fmt.Printf("BENCH name=%s value=%s unit=%s\n", name, strconv.FormatFloat(value, 'g', 6, 64), unit)
}

// printNA prints a result that this guest cannot give, with the reason.
func printNA(name, reason string) {
	fmt.Printf("BENCH name=%s na=%s\n", name, strconv.Quote(reason))
}

// printDone marks the end of the run.
func printDone() {
	fmt.Println("BENCH-DONE")
}
