// Trap, interrupt and system-call entry and exit: see trap.go.

#include "go_asm.h"
#include "textflag.h"

#define MSR_FS_BASE 0xc0000100

// trapEnter saves the general registers below the stub's vector and error
// code (building a TrapFrame) and calls userTrap or kernelTrap depending on
// the interrupted privilege level.
TEXT ·trapEnter(SB),NOSPLIT|NOFRAME,$0
	PUSHQ	R15
	PUSHQ	R14
	PUSHQ	R13
	PUSHQ	R12
	PUSHQ	R11
	PUSHQ	R10
	PUSHQ	R9
	PUSHQ	R8
	PUSHQ	BP
	PUSHQ	DI
	PUSHQ	SI
	PUSHQ	DX
	PUSHQ	CX
	PUSHQ	BX
	PUSHQ	AX
	TESTQ	$3, const_frameCS(SP)
	JZ	fromKernel

	// From ring 3 the processor left SS null; load the kernel's data
	// segment, as SYSCALL does: QEMU's TCG keys its translations by SS's
	// attributes, so with a null SS every kernel function that both
	// system calls and interrupts reach would be translated twice
	// (x86.GDT.init). IRETQ reloads the thread's SS from the frame.
	MOVL	$const_selKernelData, AX
	MOVW	AX, SS

	// From ring 3: save the thread's FPU/SSE state, switch FS to the
	// kernel's TLS (compiled Go code loads g from -8(FS)). Kernel code
	// uses the XMM registers (and may set MXCSR's status flags) but never
	// the x87 ones, so while the x87 state in the registers is the area's
	// (X87Live: set by the exit that restored it in full) only MXCSR and
	// the XMM registers are stored: plain moves, where FXSAVE64 costs
	// about half a microsecond under QEMU's TCG. thread.SyncFPU stores the
	// rest when the kernel needs it (docs/architecture.md, "FPU state").
	MOVQ	const_cpuCurFX(GS), AX
	CMPQ	AX, const_cpuX87Live(GS)
	JNE	fullSave
	STMXCSR	24(AX)
	MOVUPS	X0, 160(AX)
	MOVUPS	X1, 176(AX)
	MOVUPS	X2, 192(AX)
	MOVUPS	X3, 208(AX)
	MOVUPS	X4, 224(AX)
	MOVUPS	X5, 240(AX)
	MOVUPS	X6, 256(AX)
	MOVUPS	X7, 272(AX)
	MOVUPS	X8, 288(AX)
	MOVUPS	X9, 304(AX)
	MOVUPS	X10, 320(AX)
	MOVUPS	X11, 336(AX)
	MOVUPS	X12, 352(AX)
	MOVUPS	X13, 368(AX)
	MOVUPS	X14, 384(AX)
	MOVUPS	X15, 400(AX)
	JMP	saved
fullSave:
	FXSAVE64	(AX)
saved:
	MOVQ	const_cpuKernelFS(GS), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	MOVL	$MSR_FS_BASE, CX
	WRMSR
	MOVQ	SP, AX
	SUBQ	$16, SP
	MOVQ	AX, 0(SP)
	CALL	·userTrap(SB)
	ADDQ	$16, SP
	JMP	·trapExit(SB)

fromKernel:
	CMPQ	const_frameVector(SP), $2
	JEQ	nmiKernel
	CMPQ	const_frameVector(SP), $14
	JEQ	pageFaultKernel
	MOVQ	SP, AX
	SUBQ	$16, SP
	MOVQ	AX, 0(SP)
	CALL	·kernelTrap(SB)
	ADDQ	$16, SP
	JMP	·popFrame(SB)

	// A page fault in ring 0 interrupts compiled Go code that may hold
	// values in the XMM registers (a copy into the program's memory in
	// the middle of memmove), and its handler may run Go code that uses
	// them (kernelDemandFault maps and zeroes a page): save the FPU/SSE
	// state on the stack, 16-byte aligned as FXSAVE wants, with the
	// stack pointer before it just above the area, and put both back.
pageFaultKernel:
	MOVQ	SP, BX
	SUBQ	$528, SP
	ANDQ	$~15, SP
	MOVQ	BX, 512(SP)
	FXSAVE64	(SP)
	SUBQ	$16, SP
	MOVQ	BX, 0(SP)
	CALL	·kernelTrap(SB)
	ADDQ	$16, SP
	FXRSTOR64	(SP)
	MOVQ	512(SP), SP
	JMP	·popFrame(SB)

	// An NMI can arrive in ring 0 while the thread's state is live: in
	// syscallEntry before trapEnter saved it, in trapExit after it was
	// restored. Save the FPU/SSE registers (compiled Go code clobbers
	// them, X15 first) and the FS base (the thread's there, whose g the
	// handler's stack checks would read) and load the kernel's TLS;
	// put both back afterwards. NMIs do not nest, so one area per CPU.
nmiKernel:
	MOVQ	const_cpuNmiFX(GS), AX
	FXSAVE64	(AX)
	MOVL	$MSR_FS_BASE, CX
	RDMSR
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	SP, BX
	PUSHQ	AX
	MOVQ	const_cpuKernelFS(GS), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	WRMSR
	SUBQ	$16, SP
	MOVQ	BX, 0(SP)
	CALL	·kernelTrap(SB)
	ADDQ	$16, SP
	POPQ	AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	MOVL	$MSR_FS_BASE, CX
	WRMSR
	MOVQ	const_cpuNmiFX(GS), AX
	FXRSTOR64	(AX)
	JMP	·popFrame(SB)

// trapExit returns to ring 3 through the TrapFrame at SP, with the FPU
// state and FS base of the CPU's current thread: only MXCSR and the XMM
// registers when its x87 state is still live (X87Live, see trapEnter),
// else the whole area, whose x87 state is then live.
TEXT ·trapExit(SB),NOSPLIT|NOFRAME,$0
	MOVQ	const_cpuCurFX(GS), AX
	CMPQ	AX, const_cpuX87Live(GS)
	JNE	fullRestore
	LDMXCSR	24(AX)
	MOVUPS	160(AX), X0
	MOVUPS	176(AX), X1
	MOVUPS	192(AX), X2
	MOVUPS	208(AX), X3
	MOVUPS	224(AX), X4
	MOVUPS	240(AX), X5
	MOVUPS	256(AX), X6
	MOVUPS	272(AX), X7
	MOVUPS	288(AX), X8
	MOVUPS	304(AX), X9
	MOVUPS	320(AX), X10
	MOVUPS	336(AX), X11
	MOVUPS	352(AX), X12
	MOVUPS	368(AX), X13
	MOVUPS	384(AX), X14
	MOVUPS	400(AX), X15
	JMP	restored
fullRestore:
	FXRSTOR64	(AX)
	MOVQ	AX, const_cpuX87Live(GS)
restored:
	MOVQ	const_cpuCurFSBase(GS), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	MOVL	$MSR_FS_BASE, CX
	WRMSR
	JMP	·popFrame(SB)

// popFrame restores the general registers from the TrapFrame at SP and
// returns from the interrupt.
TEXT ·popFrame(SB),NOSPLIT|NOFRAME,$0
	POPQ	AX
	POPQ	BX
	POPQ	CX
	POPQ	DX
	POPQ	SI
	POPQ	DI
	POPQ	BP
	POPQ	R8
	POPQ	R9
	POPQ	R10
	POPQ	R11
	POPQ	R12
	POPQ	R13
	POPQ	R14
	POPQ	R15
	ADDQ	$16, SP // vector, error code
	IRETQ

// syscallEntry is the SYSCALL target (MSR LSTAR). The CPU left RCX = user
// RIP, R11 = user RFLAGS, interrupts off (FMASK), and the user stack in RSP.
// It builds the same frame an interrupt from ring 3 would.
TEXT ·syscallEntry(SB),NOSPLIT|NOFRAME,$0
	MOVQ	SP, const_cpuUserRSP(GS)
	MOVQ	const_cpuKstackTop(GS), SP
	PUSHQ	$const_selUserData
	PUSHQ	const_cpuUserRSP(GS)
	PUSHQ	R11
	PUSHQ	$const_selUserCode
	PUSHQ	CX
	PUSHQ	$0
	PUSHQ	$const_vectorSyscall
	JMP	·trapEnter(SB)
