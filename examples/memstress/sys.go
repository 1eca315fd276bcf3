package main

import (
	"syscall"
	"unsafe"
)

// mmap maps n pages at addr (a hint, or the place with syscall.MAP_FIXED)
// as private anonymous memory; the memory is not the Go heap's.
func mmap(addr uintptr, n, prot, flags int) ([]byte, error) {
	r, _, e := syscall.Syscall6(syscall.SYS_MMAP, addr, uintptr(n*pageSize), uintptr(prot), uintptr(flags|syscall.MAP_PRIVATE|syscall.MAP_ANON), ^uintptr(0), 0)
	if e != 0 {
		return nil, e
	}
	// The mapping is outside the Go heap: the conversion through memory
	// only keeps vet from taking r for a heap address.
	return unsafe.Slice((*byte)(*(*unsafe.Pointer)(unsafe.Pointer(&r))), n*pageSize), nil
}

// addr is where b starts.
func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// munmap unmaps the pages of b.
func munmap(b []byte) error {
	_, _, e := syscall.Syscall(syscall.SYS_MUNMAP, addr(b), uintptr(len(b)), 0)
	return errno(e)
}

// mprotect sets the protection of the pages of b.
func mprotect(b []byte, prot int) error {
	_, _, e := syscall.Syscall(syscall.SYS_MPROTECT, addr(b), uintptr(len(b)), uintptr(prot))
	return errno(e)
}

// madvise gives advice on the pages of b.
func madvise(b []byte, advice int) error {
	_, _, e := syscall.Syscall(syscall.SYS_MADVISE, addr(b), uintptr(len(b)), uintptr(advice))
	return errno(e)
}

// errno is e as an error, nil for 0.
func errno(e syscall.Errno) error {
	if e != 0 {
		return e
	}
	return nil
}

// pages is pages [from, to) of b.
func pages(b []byte, from, to int) []byte { return b[from*pageSize : to*pageSize] }

const (
	rw   = syscall.PROT_READ | syscall.PROT_WRITE
	ro   = syscall.PROT_READ
	none = syscall.PROT_NONE
)
