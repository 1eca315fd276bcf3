#include "textflag.h"

// doubleFunc is a func value in read-only data, as the compiler lays out
// a func literal that captures nothing.
DATA doubleFunc<>+0(SB)/8, $double<>(SB)
GLOBL doubleFunc<>(SB), RODATA, $8

// func callStatic(x uint64) uint64
TEXT ·callStatic(SB), NOSPLIT, $0-16
	MOVQ	x+0(FP), AX
	MOVQ	doubleFunc<>(SB), CX
	MOVQ	CX, DX
	CALL	DX
	MOVQ	AX, ret+8(FP)
	RET

// double doubles AX.
TEXT double<>(SB), NOSPLIT|NOFRAME, $0
	ADDQ	AX, AX
	RET
