// Command socklock writes into loopback TCP connections from several
// threads at once, for qemu/socklock_test.go: gometal serves a program's
// reads and writes of its non-blocking stream sockets under the files
// lock held shared, beside each other and beside the file calls, each
// under its socket's own lock (kernel/socket's SocketIO), and so it
// serves the network stack's reads of /dev/netctl and its moves of the
// data. It
// prints what the server side
// received, which must equal the host's output byte for byte, and in the
// guest the files lock's holds over the writes. Then it dials loopback
// connections from several goroutines (connections) and prints how many
// answers came back right, then sends UDP datagrams from several
// goroutines (datagrams) and prints how many echoes came back right, and
// in the guest the files lock's holds over those stages and
// /proc/gometal/sched.
package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"runtime"
	"time"

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
// own lock (kernel/socket's SocketIO), and so it serves the network
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

// datagramRounds is how many datagrams each of threads goroutines
// sends in the datagrams stage, and offHostDatagrams how many go to an
// address off the host.
const datagramRounds, offHostDatagrams = 8, 16

// datagrams runs the datagrams stage: threads goroutines each dial a
// UDP socket to a loopback echo server (socket, and a datagram
// socket's connect) and send it datagramRounds datagrams one after
// another with write(2), reading each echo with read(2) or recvmsg in
// turn; the server reads with recvfrom and echoes with sendto. Then an
// unconnected UDP socket sends offHostDatagrams datagrams with sendto
// and sendmsg in turn to an address off
// the host (192.0.2.1, TEST-NET-1), which the network stack takes (or
// drops: the guest has no route there) and which the host may refuse:
// their outcome is not printed. gometal serves the connects, the reads,
// recvfroms and recvmsgs and the sends, local (the writes and the
// echoes, put into their receiver's ring) or off the host, under the
// files lock held shared (issue 18). It says how many echoes came back
// right, and returns the files lock's holds over the stage.
func datagrams() (string, lockstat.Holds) {
	srv, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	check(err)
	defer srv.Close()
	go func() {
		buf := make([]byte, 64)
		for {
			n, from, err := srv.ReadFromUDP(buf)
			if err != nil {
				return
			}
			srv.WriteToUDP(append([]byte("re: "), buf[:n]...), from)
		}
	}()
	before := lockstat.FilesLock()
	right := make(chan int, threads)
	for n := range threads {
		go func() {
			ok := 0
			defer func() { right <- ok }()
			c, err := net.DialUDP("udp", nil, srv.LocalAddr().(*net.UDPAddr))
			if err != nil {
				return
			}
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			buf := make([]byte, 64)
			for k := range datagramRounds {
				req := fmt.Sprintf("%d/%d", n, k)
				if _, err := c.Write([]byte(req)); err != nil {
					return
				}
				var got int
				if k%2 == 0 {
					got, err = c.Read(buf)
				} else {
					got, _, _, _, err = c.ReadMsgUDP(buf, nil) // recvmsg
				}
				if err != nil {
					return
				}
				if string(buf[:got]) == "re: "+req {
					ok++
				}
			}
		}()
	}
	total := 0
	for range threads {
		total += <-right
	}
	offHost = 0
	if off, err := net.ListenUDP("udp4", nil); err == nil {
		to := &net.UDPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 9}
		for k := range offHostDatagrams {
			if k%2 == 0 {
				off.WriteToUDP([]byte("off host"), to)
			} else {
				off.WriteMsgUDP([]byte("off host"), nil, to) // sendmsg
			}
			offHost++
		}
		off.Close()
	}
	return fmt.Sprintf("%d of %d echoes right", total, threads*datagramRounds), lockstat.FilesLock().Since(before)
}

// offHost counts the sendtos off the host that the datagrams stage made
// (their outcome aside).
var offHost int

func main() {
	sockets, holds := sharedSockets()
	fmt.Printf("socklock: %s\n", sockets)
	answers, connHolds := connections()
	fmt.Printf("socklock: connections: %s\n", answers)
	echoes, dgramHolds := datagrams()
	fmt.Printf("socklock: datagrams: %s\n", echoes)
	if _, err := os.Stat("/proc/gometal/sched"); err == nil {
		fmt.Printf("socklock: files lock exclusive %d shared %d\n", holds.Exclusive, holds.Shared)
		fmt.Printf("socklock: connections stage: files lock exclusive %d shared %d\n", connHolds.Exclusive, connHolds.Shared)
		fmt.Printf("socklock: datagrams stage: files lock exclusive %d shared %d off-host sends %d\n", dgramHolds.Exclusive, dgramHolds.Shared, offHost)
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
