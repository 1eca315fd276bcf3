package fdtab

import (
	"sync/atomic"
	"unsafe"
)

// flagWord returns the aligned 64-bit word of f that holds Desc, Kind,
// Cloexec, Nonblock and Vector (flagword.go; TestFlagWordLayout checks
// the layout). Context: any; does not allocate.
func flagWord(f *File) *atomic.Uint64 { return (*atomic.Uint64)(unsafe.Pointer(&f.Desc)) }
