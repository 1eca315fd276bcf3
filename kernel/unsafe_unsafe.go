package kernel

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/cpu"
)

type unsafePointer = unsafe.Pointer

// unsafeSlice views n bytes at a validated kernel or user address.
// Context: any. Not inlined: its copies cost the image bytes (issue
// 16's budget).
//
//go:noinline
func unsafeSlice(addr, n uintptr) []byte {
	return unsafe.Slice((*byte)(ptr(addr)), n)
}

// ptrOf returns the address of a kernel variable as a pointer.
func ptrOf(p *byte) unsafe.Pointer { return unsafe.Pointer(p) }

// unsafeString views kernel bytes that never change as a string, without
// copying (the command line buffer, after boot).
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// ptr converts an address the kernel may touch into a pointer.
func ptr(a uintptr) unsafePointer { return cpu.Pointer(a) }
