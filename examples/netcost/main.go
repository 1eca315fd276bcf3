// Netcost times the socket paths a small HTTP request takes, in ns per
// call, beside a pipe's for comparison (docs/performance.md): a pipe read
// that finds nothing (EAGAIN), a TCP socket read that finds nothing
// (EAGAIN, raw system calls on a connected loopback socket), a TCP socket
// write of 64 bytes that the peer never reads back (the send path alone,
// the peer drains in another goroutine) and a 64-byte write plus read
// over loopback TCP through package net (the runtime's poller waits for
// the network stack to carry the bytes). It is examples/syscost's
// sibling: importing net links the network stack into the image, which
// syscost must not have. Boot it with and without a NIC (gometal run
// --net user) to see what the user network's host work costs the
// guest. On gometal each row also shows the system calls (all threads'
// together, the network stack's included) and timer interrupts per call and the share of the row's time CPU 0 was idle (halted),
// from /proc/gometal/sched. Flags: -n iterations per row (default
// 100000), -rows a comma-separated subset.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// row is one timed loop: run does n calls.
type row struct {
	name string
	div  int // iterations are n/div
	run  func(n int)
}

// pair is a connected loopback TCP pair: a is the dialled end, b the
// accepted one.
var pair struct{ a, b *net.TCPConn }

func main() {
	n := flag.Int("n", 100000, "iterations per row")
	only := flag.String("rows", "", "comma-separated rows to run (default all)")
	flag.Parse()
	connect()
	rows := []row{
		{"pipe_read_eagain", 1, pipeReadEmpty},
		{"tcp_read_eagain", 1, tcpReadEmpty},
		{"tcp_write_64", 10, tcpWrite},
		{"tcp_write_read_64", 20, tcpWriteRead},
	}
	fmt.Printf("%-20s %8s %12s %12s %12s %6s\n", "row", "n", "ns/op", "syscalls/op", "timerirq/op", "idle%")
	for _, r := range rows {
		if *only != "" && !strings.Contains(","+*only+",", ","+r.name+",") {
			continue
		}
		iters := max(*n/r.div, 1)
		r.run(iters / 10) // warm up: translation, page faults
		c0 := readSched()
		start := time.Now()
		r.run(iters)
		el := time.Since(start)
		c1 := readSched()
		calls, irq, idle := "-", "-", "-"
		if c0.calls >= 0 && c1.calls >= 0 {
			calls = fmt.Sprintf("%.2f", float64(c1.calls-c0.calls)/float64(iters))
		}
		if c0.timerIRQs >= 0 && c1.timerIRQs >= 0 {
			irq = fmt.Sprintf("%.4f", float64(c1.timerIRQs-c0.timerIRQs)/float64(iters))
		}
		if c0.idleMs >= 0 && c1.idleMs >= 0 {
			idle = fmt.Sprintf("%.0f", float64(c1.idleMs-c0.idleMs)*1e8/float64(el.Nanoseconds()))
		}
		fmt.Printf("%-20s %8d %12.1f %12s %12s %6s\n", r.name, iters, float64(el.Nanoseconds())/float64(iters), calls, irq, idle)
	}
}

// connect makes the loopback pair.
func connect() {
	l, err := net.ListenTCP("tcp4", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		fail("listen", err)
	}
	defer l.Close()
	done := make(chan error, 1)
	go func() {
		c, err := l.AcceptTCP()
		pair.b = c
		done <- err
	}()
	a, err := net.DialTCP("tcp4", nil, l.Addr().(*net.TCPAddr))
	if err != nil {
		fail("dial", err)
	}
	if err := <-done; err != nil {
		fail("accept", err)
	}
	pair.a = a
}

// schedCounts is one reading of /proc/gometal/sched: all CPUs' system
// calls and timer interrupts, and CPU 0's idle time in ms (the line
// "0 BUSY_MS IDLE_MS ..." below the header "cpu busy_ms idle_ms ...");
// each -1 where the file does not exist (Linux).
type schedCounts struct{ calls, timerIRQs, idleMs int64 }

// readSched reads the three counts from one reading of the file.
func readSched() schedCounts {
	c := schedCounts{-1, -1, -1}
	f, err := os.Open("/proc/gometal/sched")
	if err != nil {
		return c
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		var k string
		var v int64
		if n, _ := fmt.Sscanf(s.Text(), "%s %d", &k, &v); n == 2 {
			switch {
			case k == "syscall" && c.calls < 0:
				c.calls = v
			case k == "timer_interrupt" && c.timerIRQs < 0:
				c.timerIRQs = v
			}
		}
		var cpu, busy, idle int64
		if n, _ := fmt.Sscanf(s.Text(), "%d %d %d", &cpu, &busy, &idle); n == 3 && cpu == 0 && c.idleMs < 0 {
			c.idleMs = idle
		}
	}
	return c
}

func pipeReadEmpty(n int) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		fail("pipe2", err)
	}
	defer syscall.Close(p[0])
	defer syscall.Close(p[1])
	readEmpty(p[0], n)
}

// readEmpty reads fd, which has nothing to read and does not block, n
// times with raw system calls.
func readEmpty(fd, n int) {
	var b [64]byte
	for i := 0; i < n; i++ {
		if _, _, e := syscall.RawSyscall(syscall.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), 64); e != syscall.EAGAIN {
			fail("read", e)
		}
	}
}

func tcpReadEmpty(n int) {
	rc, err := pair.b.SyscallConn()
	if err != nil {
		fail("syscallconn", err)
	}
	if err := rc.Control(func(fd uintptr) { readEmpty(int(fd), n) }); err != nil {
		fail("control", err)
	}
}

// tcpWrite writes 64 bytes n times with raw system calls on the dialled
// end while a goroutine drains the accepted end.
func tcpWrite(n int) {
	done := make(chan struct{})
	go func() {
		io.CopyN(io.Discard, pair.b, int64(n)*64)
		close(done)
	}()
	rc, err := pair.a.SyscallConn()
	if err != nil {
		fail("syscallconn", err)
	}
	var b [64]byte
	for i := 0; i < n; i++ {
		werr := rc.Write(func(fd uintptr) bool {
			r, _, e := syscall.RawSyscall(syscall.SYS_WRITE, fd, uintptr(unsafe.Pointer(&b[0])), 64)
			if e == syscall.EAGAIN {
				return false
			}
			if r != 64 {
				fail("write", e)
			}
			return true
		})
		if werr != nil {
			fail("write", werr)
		}
	}
	<-done
}

// tcpWriteRead writes 64 bytes on one end and reads them on the other, n
// times, through package net.
func tcpWriteRead(n int) {
	var b [64]byte
	for i := 0; i < n; i++ {
		if _, err := pair.a.Write(b[:]); err != nil {
			fail("write", err)
		}
		if _, err := io.ReadFull(pair.b, b[:]); err != nil {
			fail("read", err)
		}
	}
}

func fail(what string, err error) {
	fmt.Fprintf(os.Stderr, "netcost: %s: %v\n", what, err)
	os.Exit(1)
}
