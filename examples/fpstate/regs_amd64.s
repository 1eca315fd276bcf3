#include "textflag.h"

// func churn(p *params) (bad int)
// Loads p.xmm[0..15] into X0-X15, p.mxcsr into MXCSR, p.fcw into the x87
// control word and pushes p.x87a and p.x87b (int64s) onto the x87 stack;
// then p.iters times makes system call p.nr, spins p.spin times, and
// compares every XMM register, MXCSR and the x87 control word with what
// it loaded, counting mismatches. At the end it pops and compares the x87
// values, and puts MXCSR and the control word back to Go's defaults.
TEXT ·churn(SB),NOSPLIT,$0-16
	MOVQ	p+0(FP), DI
	MOVUPS	0(DI), X0
	MOVUPS	16(DI), X1
	MOVUPS	32(DI), X2
	MOVUPS	48(DI), X3
	MOVUPS	64(DI), X4
	MOVUPS	80(DI), X5
	MOVUPS	96(DI), X6
	MOVUPS	112(DI), X7
	MOVUPS	128(DI), X8
	MOVUPS	144(DI), X9
	MOVUPS	160(DI), X10
	MOVUPS	176(DI), X11
	MOVUPS	192(DI), X12
	MOVUPS	208(DI), X13
	MOVUPS	224(DI), X14
	MOVUPS	240(DI), X15
	LDMXCSR	256(DI)
	FLDCW	260(DI)
	FMOVV	264(DI), F0
	FMOVV	272(DI), F0
	XORQ	R12, R12         // mismatches
	MOVQ	280(DI), R13     // iterations left
loop:
	MOVQ	288(DI), AX      // system call number
	MOVQ	DI, R14
	SYSCALL
	MOVQ	R14, DI
	MOVQ	296(DI), CX      // spin
spin:
	DECQ	CX
	JNZ	spin
	// Store the registers next to the expected values and compare.
	MOVUPS	X0, 320(DI)
	MOVUPS	X1, 336(DI)
	MOVUPS	X2, 352(DI)
	MOVUPS	X3, 368(DI)
	MOVUPS	X4, 384(DI)
	MOVUPS	X5, 400(DI)
	MOVUPS	X6, 416(DI)
	MOVUPS	X7, 432(DI)
	MOVUPS	X8, 448(DI)
	MOVUPS	X9, 464(DI)
	MOVUPS	X10, 480(DI)
	MOVUPS	X11, 496(DI)
	MOVUPS	X12, 512(DI)
	MOVUPS	X13, 528(DI)
	MOVUPS	X14, 544(DI)
	MOVUPS	X15, 560(DI)
	STMXCSR	576(DI)
	FSTCW	580(DI)
	XORQ	BX, BX
cmp:
	MOVQ	0(DI)(BX*8), AX
	CMPQ	AX, 320(DI)(BX*8)
	JEQ	same
	INCQ	R12
same:
	INCQ	BX
	CMPQ	BX, $32
	JNE	cmp
	MOVL	256(DI), AX
	CMPL	AX, 576(DI)
	JEQ	mxok
	INCQ	R12
mxok:
	MOVW	260(DI), AX
	CMPW	AX, 580(DI)
	JEQ	cwok
	INCQ	R12
cwok:
	DECQ	R13
	JNZ	loop
	FMOVVP	F0, 584(DI)
	FMOVVP	F0, 592(DI)
	MOVQ	584(DI), AX
	CMPQ	AX, 272(DI)
	JEQ	bok
	INCQ	R12
bok:
	MOVQ	592(DI), AX
	CMPQ	AX, 264(DI)
	JEQ	aok
	INCQ	R12
aok:
	MOVL	$0x1f80, 576(DI)
	LDMXCSR	576(DI)
	MOVW	$0x37f, 580(DI)
	FLDCW	580(DI)
	XORPS	X15, X15
	MOVQ	R12, bad+8(FP)
	RET
