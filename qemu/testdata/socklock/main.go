// Command socklock writes into loopback TCP connections from several
// threads at once, for qemu/socklock_test.go: gometal serves a program's
// reads and writes of its non-blocking stream sockets under the files
// lock held shared, beside each other and beside the file calls, each
// under its socket's own lock (kernel/socket's StreamIO), and so it
// serves the network stack's reads of /dev/netctl and its moves of the
// data. It
// prints what the server side
// received, which must equal the host's output byte for byte, and in the
// guest the files lock's holds over the writes. Then it dials loopback
// connections from several goroutines (connections) and prints how many
// answers came back right, and in the guest the files lock's holds over
// that stage and /proc/gometal/sched.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"

	"github.com/gometal/gometal/qemu/testdata/lockstat"
	"golang.org/x/sys/unix"
)

// The sockets stage: each of threads threads writes socketWrites
// records of socketRecord bytes into a loopback TCP connection of its
// own, 64 KiB each, which fits the socket's send buffer on gometal (128
// KiB) and on Linux.
const (
	threads      = 4
	socketWrites = 256
	socketRecord = 256
)

// sharedSockets has threads threads each write socketWrites
// records into a TCP connection of its own over the loopback interface,
// with write(2) on the connection's non-blocking descriptor (through
// syscall.RawConn, so that no goroutine of the netpoller stands
// between), while a server goroutine per connection reads it to the end
// and sums what came. gometal serves those reads and writes under the
// files lock held shared, beside each other, each under its socket's
// own lock (kernel/socket's StreamIO), and so it serves the network
// stack's side of them (its reads of /dev/netctl, its moves of the
// data, each socket's under its lock). It says what the server received, in counts that do not
// depend on the timing, and returns the files lock's holds over the
// writes.
func sharedSockets() (string, lockstat.Holds) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer ln.Close()
	received := make(chan int64, threads)
	go func() {
		for range threads {
			c, err := ln.Accept()
			if err != nil {
				received <- -1
				continue
			}
			go func() {
				n, _ := io.Copy(io.Discard, c)
				c.Close()
				received <- n
			}()
		}
	}()
	conns := make([]*net.TCPConn, threads)
	for n := range conns {
		c, err := net.Dial("tcp", ln.Addr().String())
		check(err)
		conns[n] = c.(*net.TCPConn)
	}
	before := lockstat.FilesLock()
	bad := lockstat.OnThreads(threads, func(n int) error { return socketWorker(conns[n], n) })
	holds := lockstat.FilesLock().Since(before)
	if bad != "" {
		return bad, lockstat.Holds{}
	}
	for _, c := range conns {
		check(c.CloseWrite())
	}
	var total, whole int64
	for range threads {
		n := <-received
		total += n
		if n == socketWrites*socketRecord {
			whole++
		}
	}
	for _, c := range conns {
		c.Close()
	}
	return fmt.Sprintf("%d connections, %d bytes received, %d of them whole", threads, total, whole),
		holds
}

// socketWorker is thread n's part of the sockets stage: its records
// written whole (a write that finds the send buffer full answers EAGAIN,
// or stores part, and the thread goes on from there).
func socketWorker(c *net.TCPConn, n int) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	rec := make([]byte, socketRecord)
	for j := range rec {
		rec[j] = byte('a' + (n+j)%26)
	}
	var werr error
	err = rc.Write(func(fd uintptr) bool {
		for off := 0; off < socketWrites*socketRecord; {
			k, err := unix.Write(int(fd), rec[off%socketRecord:])
			switch {
			case err == unix.EAGAIN:
				runtime.Gosched()
			case err != nil || k <= 0:
				werr = fmt.Errorf("write at %d: %d, %v", off, k, err)
				return true
			default:
				off += k
			}
		}
		return true
	})
	if err != nil {
		return err
	}
	return werr
}

// connectionRounds is how many connections each of threads goroutines
// makes in the connections stage.
const connectionRounds = 8

// connections runs the connections stage: threads goroutines each dial
// connectionRounds loopback TCP connections one after another, as
// clients of a server that reads each request to its end (the client's
// CloseWrite), answers it and closes, and check the answer. Package net makes its calls on each (socket, connect,
// getsockopt SO_ERROR, getsockname, getpeername, setsockopt TCP_NODELAY
// and the keep-alive options, accept4 on the server's side, shutdown,
// the closes).
// gometal serves the option and name calls under the files lock held
// shared (issue 18). It says how many answers came back right, and
// returns the files lock's holds over the stage.
func connections() (string, lockstat.Holds) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if req, err := io.ReadAll(c); err == nil { // the client's request, to its CloseWrite
					c.Write(append([]byte("re: "), req...))
				}
			}()
		}
	}()
	before := lockstat.FilesLock()
	right := make(chan int, threads)
	for n := range threads {
		go func() {
			ok := 0
			for k := range connectionRounds {
				c, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					break
				}
				req := fmt.Sprintf("%d/%d", n, k)
				_, werr := c.Write([]byte(req))
				cerr := c.(*net.TCPConn).CloseWrite()
				got, _ := io.ReadAll(c)
				c.Close()
				if werr != nil || cerr != nil {
					continue
				}
				if string(got) == "re: "+req {
					ok++
				}
			}
			right <- ok
		}()
	}
	total := 0
	for range threads {
		total += <-right
	}
	return fmt.Sprintf("%d of %d answers right", total, threads*connectionRounds), lockstat.FilesLock().Since(before)
}

func main() {
	sockets, holds := sharedSockets()
	fmt.Printf("socklock: %s\n", sockets)
	answers, connHolds := connections()
	fmt.Printf("socklock: connections: %s\n", answers)
	if _, err := os.Stat("/proc/gometal/sched"); err == nil {
		fmt.Printf("socklock: files lock exclusive %d shared %d\n", holds.Exclusive, holds.Shared)
		fmt.Printf("socklock: connections stage: files lock exclusive %d shared %d\n", connHolds.Exclusive, connHolds.Shared)
		if b, err := os.ReadFile("/proc/gometal/sched"); err == nil {
			fmt.Printf("socklock: sched\n%s", b)
		}
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "socklock:", err)
		os.Exit(1)
	}
}
