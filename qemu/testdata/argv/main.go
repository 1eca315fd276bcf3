// Command argv prints its arguments (without argv[0]) and its whole
// environment, so that a test can compare what the guest got with what
// the same program gets on the host: counts and a SHA-256 of every string
// with its NUL, then, when they are short, each string quoted and the
// arguments as /proc/self/cmdline has them.
package main

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"os"
)

func main() {
	if show("arg", os.Args[1:]) {
		cmdline()
	}
	show("env", os.Environ())
}

// cmdline prints /proc/self/cmdline without argv[0], which differs
// between the host and the guest ("/init").
func cmdline() {
	b, err := os.ReadFile("/proc/self/cmdline")
	if err != nil {
		fmt.Println("cmdline:", err)
		return
	}
	_, rest, _ := bytes.Cut(b, []byte{0})
	fmt.Printf("cmdline %q\n", rest)
}

// show prints one list and reports whether it was short enough to print
// every string.
func show(what string, list []string) bool {
	h := sha256.New()
	total := 0
	for _, s := range list {
		h.Write([]byte(s))
		h.Write([]byte{0})
		total += len(s) + 1
	}
	fmt.Printf("%s: %d strings, %d bytes, sha256 %x\n", what, len(list), total, h.Sum(nil))
	if total > 4096 {
		return false
	}
	for _, s := range list {
		fmt.Printf("%s %q\n", what, s)
	}
	return true
}
