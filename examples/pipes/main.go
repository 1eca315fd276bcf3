// Pipes moves data through pipes the ways Go programs do: os.Pipe between
// goroutines (through the runtime's poller), a blocking pipe2 pair read by
// a raw system call that has to wait, standard output redirected into a
// pipe (as the testing package does for examples), end of file, a broken
// pipe and a read deadline. It prints what it sees, so the guest's output
// can be compared with Linux's.
package main

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"
)

func main() {
	bulk()
	eofAndBroken()
	deadline()
	blocking()
	captureStdout()
}

// bulk copies 4 MiB through an os.Pipe and compares checksums.
func bulk() {
	r, w, err := os.Pipe()
	check(err)
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(i ^ i>>9)
	}
	go func() {
		for off := 0; off < len(data); off += 100000 {
			_, err := w.Write(data[off:min(off+100000, len(data))])
			check(err)
		}
		check(w.Close())
	}()
	h := sha256.New()
	n, err := io.Copy(h, r)
	check(err)
	check(r.Close())
	fmt.Printf("copied %d bytes, checksum matches: %v\n", n, string(h.Sum(nil)) == string(sum(data)))
}

func sum(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}

// eofAndBroken shows end of file once the writer closes, and EPIPE once
// the reader closes.
func eofAndBroken() {
	r, w, err := os.Pipe()
	check(err)
	_, err = w.Write([]byte("last words"))
	check(err)
	check(w.Close())
	b, err := io.ReadAll(r)
	fmt.Printf("read %q, err %v\n", b, err)
	n, err := r.Read(make([]byte, 4))
	fmt.Println("read at end:", n, err)
	check(r.Close())

	r, w, err = os.Pipe()
	check(err)
	check(r.Close())
	_, err = w.Write([]byte("nobody listens"))
	fmt.Println("write with no reader:", errors.Is(err, syscall.EPIPE))
	check(w.Close())
}

// deadline shows a read deadline on an empty pipe.
func deadline() {
	r, w, err := os.Pipe()
	check(err)
	check(r.SetReadDeadline(time.Now().Add(50 * time.Millisecond)))
	_, err = r.Read(make([]byte, 1))
	fmt.Println("read past deadline:", errors.Is(err, os.ErrDeadlineExceeded))
	check(r.Close())
	check(w.Close())
}

// blocking reads a blocking pipe with the raw system call, which waits
// until a goroutine writes.
func blocking() {
	var fds [2]int
	check(syscall.Pipe2(fds[:], syscall.O_CLOEXEC))
	go func() {
		time.Sleep(30 * time.Millisecond)
		_, err := syscall.Write(fds[1], []byte("woken up"))
		check(err)
		check(syscall.Close(fds[1]))
	}()
	buf := make([]byte, 64)
	n, err := syscall.Read(fds[0], buf)
	check(err)
	fmt.Printf("blocking read got %q\n", buf[:n])
	n, err = syscall.Read(fds[0], buf)
	fmt.Println("then end of file:", n, err)
	check(syscall.Close(fds[0]))
}

// captureStdout redirects os.Stdout into a pipe, as the testing package
// does to check an example's output.
func captureStdout() {
	saved := os.Stdout
	r, w, err := os.Pipe()
	check(err)
	os.Stdout = w
	done := make(chan string)
	go func() {
		b, err := io.ReadAll(r)
		check(err)
		done <- string(b)
	}()
	fmt.Println("this goes into the pipe")
	fmt.Println("and so does this")
	check(w.Close())
	os.Stdout = saved
	fmt.Printf("captured: %q\n", <-done)
}

func check(err error) {
	if err != nil {
		fmt.Println("unexpected error:", err)
		os.Exit(1)
	}
}
