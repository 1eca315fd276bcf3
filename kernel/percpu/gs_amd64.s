#include "go_asm.h"
#include "textflag.h"

// func getGS() uintptr
TEXT ·getGS(SB),NOSPLIT,$0-8
	MOVQ	CPU_Self(GS), AX
	MOVQ	AX, ret+0(FP)
	RET
