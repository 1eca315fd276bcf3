package cpu

import "unsafe"

// Pointer turns a kernel virtual address (an MMIO register, a direct-mapped
// physical frame, a user address already validated) into an unsafe.Pointer.
// The memory behind it is never Go-heap memory, so the garbage collector
// has nothing to track. Context: any; does not allocate.
//
//go:noinline
func Pointer(addr uintptr) unsafe.Pointer {
	return *(*unsafe.Pointer)(unsafe.Pointer(&addr))
}
