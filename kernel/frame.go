package kernel

// TrapFrame is the register state saved on the kernel stack at every entry
// from an interrupt, exception or system call, lowest address first. The
// entry code (trap_amd64.s) pushes it; the exit code pops it, so writing a
// thread's saved registers here switches to that thread.
type TrapFrame struct {
	AX, BX, CX, DX, SI, DI, BP           uint64
	R8, R9, R10, R11, R12, R13, R14, R15 uint64
	Vector, Err                          uint64 // pushed by the entry stub
	RIP, CS, RFLAGS, RSP, SS             uint64 // pushed by the CPU (or the syscall entry)
}

// vectorSyscall is the Vector of a frame built by the SYSCALL entry.
const vectorSyscall = 256

// fromUser reports whether the frame interrupted ring 3.
func (f *TrapFrame) fromUser() bool { return f.CS&3 == 3 }
