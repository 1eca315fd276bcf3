package main

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// load reads *p, which may fault: a goroutine that calls it runs under
// debug.SetPanicOnFault(true), so the fault must come back as a runtime
// error naming p's address; anything else fails the run.
func load(p *uint64) (v uint64, faulted bool) {
	defer func() { faulted = recovered(recover(), p) }()
	return atomic.LoadUint64(p), false
}

// store writes v at p, which may fault, as load.
func store(p *uint64, v uint64) (faulted bool) {
	defer func() { faulted = recovered(recover(), p) }()
	atomic.StoreUint64(p, v)
	return false
}

// recovered judges what a load or store of p recovered: nothing, or a
// runtime error at p's address.
func recovered(r any, p *uint64) bool {
	if r == nil {
		return false
	}
	err, ok := r.(runtime.Error)
	if !ok {
		fail("fault", "access to %p panicked with %T, not a runtime.Error: %v", p, r, r)
	}
	a, ok := r.(interface{ Addr() uintptr })
	if !ok {
		fail("fault", "access to %p: %v, without a fault address", p, err)
	}
	if a.Addr() != uintptr(unsafe.Pointer(p)) {
		fail("fault", "access to %p: %v, at address %#x", p, err, a.Addr())
	}
	return true
}
