package abi

import "unsafe"

// The signal frame Linux builds on amd64 (arch/x86/include/uapi/asm/
// sigcontext.h, ucontext.h, siginfo.h) and the Go runtime's handlers read:
//
//	sp ->  pretcode (the handler's return address: sa_restorer)
//	       ucontext  (uc_flags, uc_link, uc_stack, uc_mcontext, uc_sigmask)
//	       siginfo
//	       ... FXSAVE area (uc_mcontext.fpstate points here, 64-byte aligned)

// Sigcontext is struct sigcontext (uc_mcontext).
type Sigcontext struct {
	R8, R9, R10, R11, R12, R13, R14, R15 uint64
	RDI, RSI, RBP, RBX, RDX, RAX, RCX    uint64
	RSP, RIP, EFlags                     uint64
	CS, GS, FS, SS                       uint16
	Err, Trapno, Oldmask, CR2            uint64
	Fpstate                              uint64
	Reserved                             [8]uint64
}

// StackT is stack_t.
type StackT struct {
	SP    uint64
	Flags int32
	_     int32
	Size  uint64
}

// Ucontext is struct ucontext.
type Ucontext struct {
	Flags   uint64
	Link    uint64
	Stack   StackT
	Mctx    Sigcontext
	Sigmask uint64
}

// Siginfo is siginfo_t: 128 bytes, the fields the kernel fills.
type Siginfo struct {
	Signo, Errno, Code int32
	_                  int32
	F0                 uint64 // si_addr for faults; si_pid | si_uid<<32 for kill; si_tid | overrun<<32 for timers
	F1                 uint64 // si_value for timers
	_                  [12]uint64
}

// Sigframe is struct rt_sigframe.
type Sigframe struct {
	Pretcode uint64
	UC       Ucontext
	Info     Siginfo
}

// Sizes fixed by the ABI.
var (
	_ [256 - unsafe.Sizeof(Sigcontext{})]byte
	_ [unsafe.Sizeof(Sigcontext{}) - 256]byte
	_ [304 - unsafe.Sizeof(Ucontext{})]byte
	_ [unsafe.Sizeof(Ucontext{}) - 304]byte
	_ [128 - unsafe.Sizeof(Siginfo{})]byte
	_ [unsafe.Sizeof(Siginfo{}) - 128]byte
)

// SigframeSize is the signal frame's size; FXSize the FXSAVE area's below
// it; RedZone the bytes below the interrupted stack pointer the frame
// must leave alone (the System V ABI's red zone).
const (
	SigframeSize = unsafe.Sizeof(Sigframe{})
	FXSize       = 512
	RedZone      = 128
)

// si_code values.
const (
	SIUser     = 0
	SIKernel   = 0x80
	SITimer    = -2
	SITkill    = -6
	SEGVMaperr = 1
	SEGVAccerr = 2
	FPEIntdiv  = 1
	FPEFltinv  = 7
	ILLIllopn  = 2
	BUSAdraln  = 1
	TRAPBrkpt  = 1
)
