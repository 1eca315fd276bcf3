package vm

import (
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/mm"
)

// Kernel state the program must not reach through a system call (see
// kernel/mm/kstate.go and docs/architecture.md, "Memory"). The kernel's
// variables share the image's writable pages with the program's, so the
// user-memory checks (UserRange, PresentWritable) also ask kernelState,
// which the image build fills from the ELF symbol table: a pointer into
// kernel state gets EFAULT, as a kernel address does on Linux. Memory the
// kernel takes from frames (page tables, the console's queues, the
// Unix-socket table) is reached only through the direct map, supervisor
// pages above UserTop, which the same checks already refuse.

// kernelState is written in the image file by the image build
// (tools/image.KernelStateSymbol); it is kernel state itself, so the
// program cannot rewrite it through a system call either.
var kernelState = mm.StateTable{Magic: mm.StateMagic}

// CheckKernelState stops the boot when the image build did not fill
// kernelState for this image (an image not built by gometal build, or one
// whose table describes another link): without it the kernel could not
// tell its state from the program's, and fails closed rather than let
// system calls write into it. The table must cover itself, which a table
// computed for another link would not. Context: boot, after Setup;
// does not allocate.
func CheckKernelState() {
	self := uint64(uintptr(ptrOfKernelState()))
	lo, hi := uint64(ImageBase), uint64(ImageEnd)
	why := kernelState.Problem(lo, hi)
	if why == "" && !kernelState.Overlaps(self, self+1) {
		why = "it does not cover itself: written for another link"
	}
	if why != "" {
		var l klog.Line
		l.S("kernel-state table: ").S(why).S("; build the image with gometal build (tools/image), which fills it from the symbol table").Print()
		kpanic.Panic("no kernel-state table", nil)
	}
}

// IsKernelState reports whether a system call may not access
// [addr, addr+n) (writing it if write is set) because it overlaps the
// kernel's variables. Context: trap (every user copy); does not allocate.
func IsKernelState(addr, n uintptr, write bool) bool {
	return kernelStateFrom(uint64(addr), uint64(addr+n), write) < uint64(addr+n)
}

// UserPrefix returns how many bytes from addr, at most n, a system call
// may access before the first byte of kernel state: for reading a
// NUL-terminated string, which may end right before a kernel variable.
// Context: trap; does not allocate.
func UserPrefix(addr, n uintptr, write bool) uintptr {
	return uintptr(kernelStateFrom(uint64(addr), uint64(addr+n), write) - uint64(addr))
}

// vdsoStart and vdsoEnd are the vDSO page's addresses (kernel/clock/vdso.go),
// kernel state the program may read: package kernel hands them down at
// boot (SetVDSO).
var vdsoStart, vdsoEnd uintptr

// SetVDSO records where the vDSO page is: system calls may read from it
// (the program maps it read-only on Linux) but not write to it.
// Context: boot; does not allocate.
func SetVDSO(start, end uintptr) { vdsoStart, vdsoEnd = start, end }

// kernelStateFrom returns the first byte of [start, end) that is kernel
// state for an access (a write if write is set), or end. Reading the vDSO
// page (kernel/clock/vdso.go, SetVDSO) is allowed: the program maps it read-only on
// Linux, so write(2) from it works there and read(2) into it fails.
// Context: trap; does not allocate.
func kernelStateFrom(start, end uint64, write bool) uint64 {
	k := kernelState.FirstIn(start, end)
	if write || k == end {
		return k
	}
	vs, ve := uint64(vdsoStart), uint64(vdsoEnd)
	if k >= vs && k < ve {
		if ve >= end {
			return end
		}
		return kernelState.FirstIn(ve, end)
	}
	return k
}

// IovecsKernelState reports whether one of the cnt iovecs at iov points
// into kernel state (write: the call writes to them). Linux refuses such
// an iovec before it moves any byte (import_iovec), so the calls check
// them all first. An unreadable iovec is left to the caller's own checks.
// Context: trap, kernel lock held; does not allocate.
func IovecsKernelState(iov uintptr, cnt int, write bool) bool {
	for k := range cnt {
		base, ok1 := UserRead64(iov + uintptr(k)*16)
		n, ok2 := UserRead64(iov + uintptr(k)*16 + 8)
		if !ok1 || !ok2 {
			return false
		}
		if n != 0 && IsKernelState(uintptr(base), uintptr(n), write) {
			return true
		}
	}
	return false
}
