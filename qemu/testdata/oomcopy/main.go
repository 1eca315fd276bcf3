// Command oomcopy makes the kernel run out of physical memory inside a
// system call's copy to user memory: it maps a large anonymous region
// (the kernel picks the address, so its pages get frames only when
// touched), never touches the region itself, and reads /dev/zero into it
// 1 MiB at a time, so that the kernel faults the pages in while read(2)
// copies. In a guest with little memory the kernel runs out of frames
// there and must stop the program ("out of physical memory", status 137)
// rather than let read fail with EFAULT (qemu/memory_test.go). On a host
// it reads the whole region and exits with status 1.
package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

func main() {
	const (
		size  = 1 << 30
		chunk = 1 << 20
	)
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		fmt.Println("mmap:", err)
		os.Exit(1)
	}
	start := uintptr(unsafe.Pointer(&b[0]))
	fmt.Printf("region %#x-%#x\n", start, start+size)
	f, err := os.Open("/dev/zero")
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	fd := int(f.Fd())
	for off := 0; off < size; off += chunk {
		n, err := syscall.Read(fd, b[off:off+chunk])
		if err != nil || n != chunk {
			fmt.Printf("read at %d MiB: %d %v\n", off>>20, n, err)
			os.Exit(1)
		}
	}
	fmt.Println("read the whole region: no out-of-memory stop")
	os.Exit(1)
}
