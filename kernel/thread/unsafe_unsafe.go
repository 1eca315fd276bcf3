package thread

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/sched"
)

// unsafeSlice views n bytes at a validated kernel or user address.
func unsafeSlice(addr, n uintptr) []byte {
	return unsafe.Slice((*byte)(ptr(addr)), n)
}

// ptrOf returns the address of a kernel variable as a pointer.
func ptrOf(p *byte) unsafe.Pointer { return unsafe.Pointer(p) }

// addrOf returns the address of a static waiter field (BlockIn).
func addrOf(p *sched.TID) uintptr { return uintptr(unsafe.Pointer(p)) }

// Offsets in the signal frame.
const (
	unsafeOffsetUC   = unsafe.Offsetof(abi.Sigframe{}.UC)
	unsafeOffsetInfo = unsafe.Offsetof(abi.Sigframe{}.Info)
	unsafeSizeofUC   = unsafe.Sizeof(abi.Ucontext{})
)

// ptr converts an address the kernel may touch into a pointer.
func ptr(a uintptr) unsafe.Pointer { return cpu.Pointer(a) }

// ucontextBytes views uc, a kernel variable, as bytes (for the
// fault-tolerant copy from the program's stack).
func ucontextBytes(uc *abi.Ucontext) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(uc)), unsafe.Sizeof(*uc))
}

// sigframeBytes views fr, a frame built on the kernel stack, as bytes
// (for the fault-tolerant copy onto the program's stack).
func sigframeBytes(fr *abi.Sigframe) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(fr)), unsafe.Sizeof(*fr))
}
