// Fpstate checks that each thread's FPU and SSE state survives what the
// kernel does between its instructions: system calls answered without
// the kernel lock (getpid) and with it (getppid), sched_yield, which
// switches threads when others wait, timer interrupts and thread
// switches in the middle of its work (several threads per CPU), and the
// runtime's preemption signals. Each thread loads its own values into
// the 16 XMM registers, MXCSR (a rounding mode of its own), the x87
// control word and two x87 stack registers (churn, regs_amd64.s), and
// counts every register that changed across any call. It prints one
// line per system call: on Linux and on gometal alike, "0 changed".
package main

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"
)

// params is churn's block (offsets fixed in regs_amd64.s).
type params struct {
	xmm   [32]uint64 // 0: the values for X0-X15
	mxcsr uint32     // 256
	fcw   uint16     // 260
	_     uint16
	x87a  int64      // 264
	x87b  int64      // 272
	iters int64      // 280
	nr    int64      // 288
	spin  int64      // 296
	_     [16]byte   // 304
	seen  [32]uint64 // 320: the registers as read back
	gotMX uint32     // 576
	gotCW uint16     // 580
	_     uint16
	popA  int64 // 584
	popB  int64 // 592
}

// Compile-time checks of the offsets churn uses.
var (
	_ [256 - unsafe.Offsetof(params{}.mxcsr)]byte
	_ [unsafe.Offsetof(params{}.mxcsr) - 256]byte
	_ [320 - unsafe.Offsetof(params{}.seen)]byte
	_ [unsafe.Offsetof(params{}.seen) - 320]byte
	_ [592 - unsafe.Offsetof(params{}.popB)]byte
	_ [unsafe.Offsetof(params{}.popB) - 592]byte
)

func churn(p *params) (bad int)

// mxcsrs are MXCSR values with every exception masked and the four
// rounding modes; controls x87 control words with all exceptions masked
// and different precision and rounding fields.
var (
	mxcsrs   = [...]uint32{0x1f80, 0x3f80, 0x5f80, 0x7f80}
	controls = [...]uint16{0x037f, 0x027f, 0x0f7f, 0x077f}
)

// threads churn at once, each rounds times iters system calls.
const (
	threads = 4
	rounds  = 30
	iters   = 100
)

func main() {
	calls := []struct {
		name string
		nr   int64
	}{
		{"getpid", syscall.SYS_GETPID},
		{"getppid", syscall.SYS_GETPPID},
		{"sched_yield", syscall.SYS_SCHED_YIELD},
	}
	runtime.GOMAXPROCS(threads) // every thread keeps a P: the kernel switches them
	warmUp()
	for _, c := range calls {
		var wg sync.WaitGroup
		bad := make([]int, threads)
		for i := 0; i < threads; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				// In rounds, with a goroutine switch between them, as
				// Go code makes (the kernel's time slices confirm the
				// runtime's layout from the Ps' scheduling ticks).
				for range rounds {
					bad[i] += churn(newParams(i, c.nr))
					runtime.Gosched()
				}
			}()
		}
		wg.Wait()
		total := 0
		for _, b := range bad {
			total += b
		}
		fmt.Printf("%s: %d threads, %d changed\n", c.name, threads, total)
		if total != 0 {
			os.Exit(1)
		}
	}
}

// warmUp passes work between two goroutines on one P for a while, so
// that the runtime switches goroutines all the time, as an ordinary
// program does (on gometal the kernel's time slices confirm the runtime's
// layout from its scheduling ticks; churn's assembly loops show none).
func warmUp() {
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	ping, pong := make(chan uint64), make(chan uint64)
	go func() {
		for v := range ping {
			pong <- work(v)
		}
		close(pong)
	}()
	end := time.Now().Add(300 * time.Millisecond)
	var v uint64
	for time.Now().Before(end) {
		ping <- work(v)
		v = <-pong
	}
	close(ping)
	<-pong
}

// work is some arithmetic between two goroutine switches.
func work(v uint64) uint64 {
	for j := range uint64(2000) {
		v = v*6364136223846793005 + j
	}
	return v
}

// newParams returns thread i's values for a run of system call nr.
func newParams(i int, nr int64) *params {
	p := &params{mxcsr: mxcsrs[i%len(mxcsrs)], fcw: controls[i%len(controls)],
		x87a: int64(i)*1000003 + 7, x87b: -int64(i)*7919 - 11,
		iters: iters, nr: nr, spin: 10000}
	for j := range p.xmm {
		p.xmm[j] = uint64(i+1)*0x9e3779b97f4a7c15 ^ uint64(j)*0x0101010101010101
	}
	return p
}
