package smp

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/percpu"
)

// bytesAt views n bytes of kernel memory at addr (a direct-map address).
// Context: any; does not allocate.
func bytesAt(addr, n uintptr) []byte {
	return unsafe.Slice((*byte)(cpu.Pointer(addr)), n)
}

// ptr turns an address into a pointer. Context: any; does not allocate.
func ptr(a uintptr) unsafe.Pointer { return cpu.Pointer(a) }

// The addresses Start writes into a CPU's own state.
func ptrOfCPU(c *percpu.CPU) unsafe.Pointer   { return unsafe.Pointer(c) }
func ptrOfG(g *percpu.KernelG) unsafe.Pointer { return unsafe.Pointer(g) }
func ptrOfWord(w *uintptr) unsafe.Pointer     { return unsafe.Pointer(w) }
func ptrOfLaunch(l *Launch) unsafe.Pointer    { return unsafe.Pointer(l) }
