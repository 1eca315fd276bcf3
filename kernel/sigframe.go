package kernel

import "unsafe"

// The signal frame Linux builds on amd64 (arch/x86/include/uapi/asm/
// sigcontext.h, ucontext.h, siginfo.h) and the Go runtime's handlers read:
//
//	sp ->  pretcode (the handler's return address: sa_restorer)
//	       ucontext  (uc_flags, uc_link, uc_stack, uc_mcontext, uc_sigmask)
//	       siginfo
//	       ... FXSAVE area (uc_mcontext.fpstate points here, 64-byte aligned)

// sigcontext is struct sigcontext (uc_mcontext).
type sigcontext struct {
	r8, r9, r10, r11, r12, r13, r14, r15 uint64
	rdi, rsi, rbp, rbx, rdx, rax, rcx    uint64
	rsp, rip, eflags                     uint64
	cs, gs, fs, ss                       uint16
	err, trapno, oldmask, cr2            uint64
	fpstate                              uint64
	reserved                             [8]uint64
}

// stackT is stack_t.
type stackT struct {
	sp    uint64
	flags int32
	_     int32
	size  uint64
}

// ucontext is struct ucontext.
type ucontext struct {
	flags   uint64
	link    uint64
	stack   stackT
	mctx    sigcontext
	sigmask uint64
}

// siginfo is siginfo_t: 128 bytes, the fields the kernel fills.
type siginfo struct {
	signo, errno, code int32
	_                  int32
	f0                 uint64 // si_addr for faults; si_pid | si_uid<<32 for kill; si_tid | overrun<<32 for timers
	f1                 uint64 // si_value for timers
	_                  [12]uint64
}

// sigframe is struct rt_sigframe.
type sigframe struct {
	pretcode uint64
	uc       ucontext
	info     siginfo
}

// Sizes fixed by the ABI.
var (
	_ [256 - unsafe.Sizeof(sigcontext{})]byte
	_ [unsafe.Sizeof(sigcontext{}) - 256]byte
	_ [304 - unsafe.Sizeof(ucontext{})]byte
	_ [unsafe.Sizeof(ucontext{}) - 304]byte
	_ [128 - unsafe.Sizeof(siginfo{})]byte
	_ [unsafe.Sizeof(siginfo{}) - 128]byte
)

const (
	sigframeSize = unsafe.Sizeof(sigframe{})
	fxSize       = 512
	redZone      = 128
)

// si_code values.
const (
	siUser     = 0
	siKernel   = 0x80
	siTimer    = -2
	siTkill    = -6
	segvMaperr = 1
	segvAccerr = 2
	fpeIntdiv  = 1
	fpeFltinv  = 7
	illIllopn  = 2
	busAdraln  = 1
	trapBrkpt  = 1
)
