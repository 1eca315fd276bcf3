package vm

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/cpu"
)

// bytesAt views n bytes of kernel memory at addr (a direct-map address).
// Context: any; does not allocate.
func bytesAt(addr, n uintptr) []byte {
	return unsafe.Slice((*byte)(cpu.Pointer(addr)), n)
}

// addressOf returns the address of b's first byte (b is not empty).
// Context: any; does not allocate.
func addressOf(b []byte) uintptr {
	return uintptr(unsafe.Pointer(unsafe.SliceData(b)))
}
