// Command console exercises the console streams for the virtio console
// tests (qemu/vconsole_test.go), on the host and in the guest alike:
//
//	console cat          copy stdin to stdout until end of file
//	console big N        write N bytes of a fixed pattern to stdout, in 1 MiB writes
//	console streams      interleave lines on stdout and stderr, exit 3
package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
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
