// Command preempt checks asynchronous preemption: with GOMAXPROCS=1,
// goroutines spinning in loops without function calls must not starve a
// ticker, and a stop-the-world GC must complete while they spin.
package main

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

var stop atomic.Bool

func spin(n *uint64) {
	for !stop.Load() {
		*n++
	}
}

func main() {
	runtime.GOMAXPROCS(1)
	var counts [3]uint64
	for i := range counts {
		go spin(&counts[i])
	}
	time.Sleep(time.Millisecond) // let them start
	tk := time.NewTicker(5 * time.Millisecond)
	for i := 0; i < 5; i++ {
		<-tk.C
	}
	tk.Stop()
	fmt.Println("ticker ticked 5 times while 3 goroutines spun")
	runtime.GC()
	fmt.Println("GC completed while they spun")
	stop.Store(true)
	time.Sleep(time.Millisecond)
	for i := range counts {
		fmt.Printf("spinner %d ran: %v\n", i, atomic.LoadUint64(&counts[i]) > 0)
	}
}
