package socket

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/fs"
)

// unsafeSlice views n bytes at a validated kernel or user address.
func unsafeSlice(addr, n uintptr) []byte {
	return unsafe.Slice((*byte)(ptr(addr)), n)
}

// ptrOf returns the address of a kernel variable as a pointer.
func ptrOf(p *byte) unsafe.Pointer { return unsafe.Pointer(p) }

// ptr converts an address the kernel may touch into a pointer.
func ptr(a uintptr) unsafe.Pointer { return cpu.Pointer(a) }

// unixTableBytes is the size of the Unix-domain socket table.
const unixTableBytes = uint64(unsafe.Sizeof(fs.UnixSockets{}))
