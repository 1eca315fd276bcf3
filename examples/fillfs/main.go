// Fillfs fills /tmp until the file system is full, which in a gometal
// guest (an in-memory root, as Linux's initramfs) ends in ENOSPC, never a
// crash: then it removes the file and shows that files and the heap still
// work. On a Linux host /tmp is usually a disk, so the boot test runs it
// in the guest only.
package main

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

func main() {
	f, err := os.Create("/tmp/fill")
	check(err)
	chunk := make([]byte, 1<<20)
	var mib int
	for {
		n, err := f.Write(chunk)
		if err != nil {
			fmt.Printf("wrote %d MiB and %d bytes more, then: %v (ENOSPC %v)\n", mib, n, err, errors.Is(err, syscall.ENOSPC))
			break
		}
		mib++
	}
	check(f.Close())
	check(os.Remove("/tmp/fill"))
	check(os.WriteFile("/tmp/after", chunk, 0o644))
	b, err := os.ReadFile("/tmp/after")
	check(err)
	fmt.Println("a file after the removal:", len(b), "bytes")
	heap := make([][]byte, 16)
	for i := range heap {
		heap[i] = make([]byte, 1<<20)
		heap[i][i] = byte(i)
	}
	fmt.Println("the heap still grows:", len(heap), "MiB")
}

func check(err error) {
	if err != nil {
		fmt.Println("unexpected error:", err)
		os.Exit(1)
	}
}
