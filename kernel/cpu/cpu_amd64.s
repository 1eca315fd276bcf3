// Instruction wrappers: see cpu.go.

#include "textflag.h"

TEXT ·Inb(SB),NOSPLIT,$0-9
	MOVW	port+0(FP), DX
	INB
	MOVB	AX, ret+8(FP)
	RET

TEXT ·Outb(SB),NOSPLIT,$0-3
	MOVW	port+0(FP), DX
	MOVB	v+2(FP), AX
	OUTB
	RET

TEXT ·Inl(SB),NOSPLIT,$0-12
	MOVW	port+0(FP), DX
	INL
	MOVL	AX, ret+8(FP)
	RET

TEXT ·Outl(SB),NOSPLIT,$0-8
	MOVW	port+0(FP), DX
	MOVL	v+4(FP), AX
	OUTL
	RET

TEXT ·Rdmsr(SB),NOSPLIT,$0-16
	MOVL	msr+0(FP), CX
	RDMSR
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, ret+8(FP)
	RET

TEXT ·Wrmsr(SB),NOSPLIT,$0-16
	MOVL	msr+0(FP), CX
	MOVQ	v+8(FP), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	WRMSR
	RET

TEXT ·Cpuid(SB),NOSPLIT,$0-24
	MOVL	leaf+0(FP), AX
	MOVL	subleaf+4(FP), CX
	CPUID
	MOVL	AX, eax+8(FP)
	MOVL	BX, ebx+12(FP)
	MOVL	CX, ecx+16(FP)
	MOVL	DX, edx+20(FP)
	RET

TEXT ·Rdtsc(SB),NOSPLIT,$0-8
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·Rdrand(SB),NOSPLIT,$0-9
	RDRANDQ	AX
	SETCS	BX
	MOVQ	AX, v+0(FP)
	MOVB	BX, ok+8(FP)
	RET

TEXT ·ReadCR0(SB),NOSPLIT,$0-8
	MOVQ	CR0, AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·ReadCR2(SB),NOSPLIT,$0-8
	MOVQ	CR2, AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·ReadCR3(SB),NOSPLIT,$0-8
	MOVQ	CR3, AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·ReadCR4(SB),NOSPLIT,$0-8
	MOVQ	CR4, AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·WriteCR0(SB),NOSPLIT,$0-8
	MOVQ	v+0(FP), AX
	MOVQ	AX, CR0
	RET

TEXT ·WriteCR3(SB),NOSPLIT,$0-8
	MOVQ	v+0(FP), AX
	MOVQ	AX, CR3
	RET

TEXT ·WriteCR4(SB),NOSPLIT,$0-8
	MOVQ	v+0(FP), AX
	MOVQ	AX, CR4
	RET

TEXT ·WriteDR0(SB),NOSPLIT,$0-8
	MOVQ	v+0(FP), AX
	MOVQ	AX, DR0
	RET

TEXT ·WriteDR7(SB),NOSPLIT,$0-8
	MOVQ	v+0(FP), AX
	MOVQ	AX, DR7
	RET

TEXT ·ReadDR6(SB),NOSPLIT,$0-8
	MOVQ	DR6, AX
	MOVQ	AX, ret+0(FP)
	RET

TEXT ·WriteDR6(SB),NOSPLIT,$0-8
	MOVQ	v+0(FP), AX
	MOVQ	AX, DR6
	RET

TEXT ·Lgdt(SB),NOSPLIT,$0-12
	MOVQ	addr+0(FP), AX
	LGDT	(AX)
	MOVWLZX	dataSel+10(FP), AX
	MOVW	AX, DS
	MOVW	AX, ES
	MOVW	AX, SS
	// Reload CS with a far return to the next instruction.
	MOVWLZX	codeSel+8(FP), AX
	POPQ	BX                     // our return address
	PUSHQ	AX
	PUSHQ	BX
	BYTE	$0x48; BYTE $0xCB      // retfq: pops RIP (our caller) and CS

TEXT ·Lidt(SB),NOSPLIT,$0-8
	MOVQ	addr+0(FP), AX
	LIDT	(AX)
	RET

TEXT ·Ltr(SB),NOSPLIT,$0-2
	MOVW	sel+0(FP), AX
	LTR	AX
	RET

TEXT ·Invlpg(SB),NOSPLIT,$0-8
	MOVQ	addr+0(FP), AX
	INVLPG	(AX)
	RET

TEXT ·Halt(SB),NOSPLIT,$0-0
	STI
	HLT
	CLI
	RET

TEXT ·HaltOff(SB),NOSPLIT,$0-0
	HLT
	RET

TEXT ·DisableInterrupts(SB),NOSPLIT,$0-0
	CLI
	RET

TEXT ·EnableInterrupts(SB),NOSPLIT,$0-0
	STI
	RET

TEXT ·Pause(SB),NOSPLIT,$0-0
	PAUSE
	RET

TEXT ·Outw(SB),NOSPLIT,$0-4
	MOVW	port+0(FP), DX
	MOVW	v+2(FP), AX
	OUTW
	RET

// TripleFault loads an empty IDT and raises a breakpoint: the CPU finds no
// handler for it, nor for the resulting #GP and #DF, and shuts down, which
// a virtual machine monitor or the chipset turns into a reset.
TEXT ·TripleFault(SB),NOSPLIT,$16-0
	MOVQ	$0, 0(SP)
	MOVQ	$0, 8(SP)
	LIDT	0(SP)
	INT	$3
	RET

// func CompleteFX(area uintptr)
// The XMM registers and MXCSR come back from area first (the kernel's
// own code clobbered the registers; the ABI0 wrapper zeroes X15 again on
// return), then FXSAVE64 writes them and the x87 state, live since the
// trap, into area.
TEXT ·CompleteFX(SB),NOSPLIT,$0-8
	MOVQ	area+0(FP), AX
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
	FXSAVE64	(AX)
	RET

TEXT ·SetIOPL3(SB),NOSPLIT,$0-0
	PUSHFQ
	ORQ	$0x3000, 0(SP)
	POPFQ
	RET
