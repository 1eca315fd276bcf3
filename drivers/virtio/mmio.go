package virtio

import (
	"sync/atomic"
	"unsafe"
)

// Register access on a mapped []byte. The functions are not inlined, so
// the compiler cannot merge or drop repeated accesses to the same register
// (a status poll); 32-bit accesses are atomic. The device mapping is
// uncached and x86 orders stores, so each access reaches the device in
// program order.

//go:noinline
func read8(b []byte, off int) uint8 { return *(*uint8)(unsafe.Pointer(&b[off])) }

//go:noinline
func write8(b []byte, off int, v uint8) { *(*uint8)(unsafe.Pointer(&b[off])) = v }

//go:noinline
func read16(b []byte, off int) uint16 {
	_ = b[off+1]
	return *(*uint16)(unsafe.Pointer(&b[off]))
}

//go:noinline
func write16(b []byte, off int, v uint16) {
	_ = b[off+1]
	*(*uint16)(unsafe.Pointer(&b[off])) = v
}

func read32(b []byte, off int) uint32 {
	_ = b[off+3]
	return atomic.LoadUint32((*uint32)(unsafe.Pointer(&b[off])))
}

func write32(b []byte, off int, v uint32) {
	_ = b[off+3]
	atomic.StoreUint32((*uint32)(unsafe.Pointer(&b[off])), v)
}
