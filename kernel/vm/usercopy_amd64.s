// Fault-tolerant accesses to the program's memory: see usercopy.go.
//
// Each access that may fault is the first instruction of its own symbol
// (userMovs, userLoad32, ...), followed by RET, so the faulting PC is the
// symbol's address, which the fixup table gets with LEAQ. The wrappers
// CALL them; on a page fault the kernel's trap handler resumes at
// userFixupRet, a RET, which returns to the wrapper as if the access had
// finished, with CX saying what failed. No instruction length is written
// down anywhere (TestAccessRoutinesCode disassembles the routines).

#include "textflag.h"

// userMovs copies CX bytes from SI to DI; on a fault CX is the count of
// bytes not copied (REP MOVSB updates CX, SI and DI as it goes).
TEXT ·userMovs(SB),NOSPLIT|NOFRAME,$0
	REP; MOVSB
	RET

// userLoad32 loads the 32-bit word at DI into AX.
TEXT ·userLoad32(SB),NOSPLIT|NOFRAME,$0
	MOVL	(DI), AX
	RET

// userLoad64 loads the 64-bit word at DI into AX.
TEXT ·userLoad64(SB),NOSPLIT|NOFRAME,$0
	MOVQ	(DI), AX
	RET

// userStore32 stores AX's low 32 bits at DI.
TEXT ·userStore32(SB),NOSPLIT|NOFRAME,$0
	MOVL	AX, (DI)
	RET

// userStore64 stores AX at DI.
TEXT ·userStore64(SB),NOSPLIT|NOFRAME,$0
	MOVQ	AX, (DI)
	RET

// userFixupRet is where a faulting access resumes: it returns to the
// wrapper that called the access.
TEXT ·userFixupRet(SB),NOSPLIT|NOFRAME,$0
	RET

// func copyUser(dst, src, n uintptr) (left uintptr)
TEXT ·copyUser(SB),NOSPLIT,$0-32
	MOVQ	dst+0(FP), DI
	MOVQ	src+8(FP), SI
	MOVQ	n+16(FP), CX
	CALL	·userMovs(SB)
	MOVQ	CX, left+24(FP)
	RET

// func load32User(addr uintptr) (v uint32, ok bool)
TEXT ·load32User(SB),NOSPLIT,$0-13
	MOVQ	addr+0(FP), DI
	XORL	AX, AX
	XORL	CX, CX
	CALL	·userLoad32(SB)
	MOVL	AX, v+8(FP)
	TESTQ	CX, CX
	SETEQ	ok+12(FP)
	RET

// func load64User(addr uintptr) (v uint64, ok bool)
TEXT ·load64User(SB),NOSPLIT,$0-17
	MOVQ	addr+0(FP), DI
	XORL	AX, AX
	XORL	CX, CX
	CALL	·userLoad64(SB)
	MOVQ	AX, v+8(FP)
	TESTQ	CX, CX
	SETEQ	ok+16(FP)
	RET

// func store32User(addr uintptr, v uint32) (ok bool)
TEXT ·store32User(SB),NOSPLIT,$0-17
	MOVQ	addr+0(FP), DI
	MOVL	v+8(FP), AX
	XORL	CX, CX
	CALL	·userStore32(SB)
	TESTQ	CX, CX
	SETEQ	ok+16(FP)
	RET

// func store64User(addr uintptr, v uint64) (ok bool)
TEXT ·store64User(SB),NOSPLIT,$0-17
	MOVQ	addr+0(FP), DI
	MOVQ	v+8(FP), AX
	XORL	CX, CX
	CALL	·userStore64(SB)
	TESTQ	CX, CX
	SETEQ	ok+16(FP)
	RET

// func accessPCs(pcs *[nAccessPCs]uintptr)
TEXT ·accessPCs(SB),NOSPLIT,$0-8
	MOVQ	pcs+0(FP), DI
	LEAQ	·userMovs(SB), AX
	MOVQ	AX, 0(DI)
	LEAQ	·userLoad32(SB), AX
	MOVQ	AX, 8(DI)
	LEAQ	·userLoad64(SB), AX
	MOVQ	AX, 16(DI)
	LEAQ	·userStore32(SB), AX
	MOVQ	AX, 24(DI)
	LEAQ	·userStore64(SB), AX
	MOVQ	AX, 32(DI)
	LEAQ	·userFixupRet(SB), AX
	MOVQ	AX, 40(DI)
	RET
