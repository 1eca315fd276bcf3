package x86

// TrapFrame is the register state saved on the kernel stack at every entry
// from an interrupt, exception or system call, lowest address first. The
// kernel's entry code (kernel/trap_amd64.s) pushes it; the exit code pops
// it, so writing a thread's saved registers here switches to that thread.
// The assembly reads its fields through offsets package kernel derives
// with unsafe.Offsetof (kernel/bootcpu.go: const_frameCS, ...).
type TrapFrame struct {
	AX, BX, CX, DX, SI, DI, BP           uint64
	R8, R9, R10, R11, R12, R13, R14, R15 uint64
	Vector, Err                          uint64 // pushed by the entry stub
	RIP, CS, RFLAGS, RSP, SS             uint64 // pushed by the CPU (or the syscall entry)
}

// FromUser reports whether the frame interrupted ring 3.
// Context: any; does not allocate.
func (f *TrapFrame) FromUser() bool { return f.CS&3 == 3 }
