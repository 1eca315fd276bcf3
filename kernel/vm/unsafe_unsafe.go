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
