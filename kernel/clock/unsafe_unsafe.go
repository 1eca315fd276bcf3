package clock

import "unsafe"

// addrOf returns the address of kernel data that never moves (a global).
// Context: any; does not allocate.
func addrOf(p *byte) uintptr { return uintptr(unsafe.Pointer(p)) }
