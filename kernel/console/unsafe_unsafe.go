package console

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/cpu"
)

// unsafeSlice views n bytes at a validated kernel or user address.
func unsafeSlice(addr, n uintptr) []byte {
	return unsafe.Slice((*byte)(ptr(addr)), n)
}

// ptr converts an address the kernel may touch into a pointer.
func ptr(a uintptr) unsafe.Pointer { return cpu.Pointer(a) }
