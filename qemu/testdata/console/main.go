// Command console exercises the console streams for the virtio console
// tests (qemu/vconsole_test.go), on the host and in the guest alike:
//
//	console cat          copy stdin to stdout until end of file
//	console big N        write N bytes of a fixed pattern to stdout, in 1 MiB writes
//	console streams      interleave lines on stdout and stderr, exit 3
//	console par W N      W goroutines write N numbered lines each, one write a line, to stdout (every fifth to stderr)
//	console nonblock N   write N bytes of the pattern to a non-blocking stdout, waiting in epoll for room
//
// par and nonblock end with what the kernel counted, after a line
// "--- sched" on stdout (par) or on stderr (nonblock), where
// /proc/gometal/sched exists (in the guest, not on the host).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"syscall"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: console cat | big N | streams")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "cat":
		n, err := io.Copy(os.Stdout, os.Stdin)
		if err != nil {
			fmt.Fprintln(os.Stderr, "copy:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "copied %d bytes\n", n)
	case "big":
		n, err := strconv.Atoi(os.Args[2])
		if err != nil {
			os.Exit(2)
		}
		writeBig(n)
	case "streams":
		for i := range 20 {
			fmt.Fprintf(os.Stdout, "out %d\n", i)
			fmt.Fprintf(os.Stderr, "err %d\n", i)
		}
		fmt.Print("partial line without newline")
		os.Exit(3)
	case "par":
		w, err1 := strconv.Atoi(os.Args[2])
		n, err2 := strconv.Atoi(os.Args[3])
		if err1 != nil || err2 != nil {
			os.Exit(2)
		}
		writeParallel(w, n)
		printSched(os.Stdout)
	case "nonblock":
		n, err := strconv.Atoi(os.Args[2])
		if err != nil {
			os.Exit(2)
		}
		if err := writeNonblocking(Pattern(n)); err != nil {
			fmt.Fprintln(os.Stderr, "nonblock:", err)
			os.Exit(1)
		}
		printSched(os.Stderr)
	}
}

// writeParallel starts w goroutines that each write n numbered lines,
// each line in one write: to stdout, every fifth to stderr.
func writeParallel(w, n int) {
	var wg sync.WaitGroup
	for g := range w {
		wg.Go(func() {
			for i := range n {
				out := os.Stdout
				if i%5 == 4 {
					out = os.Stderr
				}
				line := fmt.Appendf(nil, "writer %02d line %05d %s\n", g, i, "abcdefghijklmnopqrstuvwxyz"[:g%26])
				if _, err := out.Write(line); err != nil {
					fmt.Fprintln(os.Stderr, "write:", err)
					os.Exit(1)
				}
			}
		})
	}
	wg.Wait()
}

// writeNonblocking writes buf to fd 1 made non-blocking (fcntl's
// F_SETFL, checked with F_GETFL): where a write answers EAGAIN it waits
// for room in epoll, edge-triggered, as the runtime's poller would. It
// reports on stderr how often the write found no room and how often
// epoll_wait returned.
func writeNonblocking(buf []byte) error {
	if err := syscall.SetNonblock(1, true); err != nil {
		return err
	}
	defer syscall.SetNonblock(1, false)
	if fl, err := fcntl(1, syscall.F_GETFL, 0); err != nil || fl&syscall.O_NONBLOCK == 0 {
		return fmt.Errorf("F_GETFL after F_SETFL: %#x, %v", fl, err)
	}
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	defer syscall.Close(ep)
	ev := syscall.EpollEvent{Events: syscall.EPOLLOUT | -syscall.EPOLLET, Fd: 1}
	if err := syscall.EpollCtl(ep, syscall.EPOLL_CTL_ADD, 1, &ev); err != nil {
		return err
	}
	var full, woken int
	for len(buf) > 0 {
		k, err := syscall.Write(1, buf[:min(len(buf), 1<<20)])
		switch {
		case errors.Is(err, syscall.EAGAIN):
			full++
			var evs [1]syscall.EpollEvent
			for {
				n, err := syscall.EpollWait(ep, evs[:], 10_000)
				if errors.Is(err, syscall.EINTR) {
					continue
				}
				if err != nil {
					return err
				}
				if n == 0 {
					return errors.New("no room for 10 s")
				}
				break
			}
			woken++
		case err != nil:
			return err
		default:
			buf = buf[k:]
		}
	}
	fmt.Fprintf(os.Stderr, "nonblock: %d writes found no room, epoll woke %d times\n", full, woken)
	return nil
}

// fcntl is fcntl(2).
func fcntl(fd, cmd, arg int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), uintptr(arg))
	if e != 0 {
		return 0, e
	}
	return int(r), nil
}

// printSched writes /proc/gometal/sched after a line "--- sched", where
// it exists.
func printSched(w io.Writer) {
	if b, err := os.ReadFile("/proc/gometal/sched"); err == nil {
		fmt.Fprintf(w, "--- sched\n%s", b)
	}
}

// writeBig writes n bytes of Pattern(n) in 1 MiB writes.
func writeBig(n int) {
	buf := Pattern(n)
	for len(buf) > 0 {
		k := min(len(buf), 1<<20)
		if _, err := os.Stdout.Write(buf[:k]); err != nil {
			fmt.Fprintln(os.Stderr, "write:", err)
			os.Exit(1)
		}
		buf = buf[k:]
	}
}

// Pattern is n bytes of numbered lines.
func Pattern(n int) []byte {
	b := make([]byte, 0, n+64)
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, "line %08d abcdefghijklmnopqrstuvwxyz\n", i)
	}
	return b[:n]
}
