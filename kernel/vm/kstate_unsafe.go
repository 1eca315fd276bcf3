package vm

import "unsafe"

// ptrOfKernelState returns the address of kernelState.
func ptrOfKernelState() unsafe.Pointer { return unsafe.Pointer(&kernelState) }
