package kpanic

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/x86"
)

// frameWords returns f's 22 words in their order in memory: AX to R15,
// Vector, Err, then RIP, CS, RFLAGS, RSP and SS (x86.TrapFrame; a test
// checks the layout). Context: any; does not allocate.
func frameWords(f *x86.TrapFrame) *[22]uint64 { return (*[22]uint64)(unsafe.Pointer(f)) }

// The frame is 22 words, no more and no less: a compile-time check.
var (
	_ [unsafe.Sizeof(x86.TrapFrame{}) - 22*8]byte
	_ [22*8 - unsafe.Sizeof(x86.TrapFrame{})]byte
)
