// Kernel entry in long mode and the per-CPU register helpers: see main.go
// and kernel/percpu.

#include "go_asm.h"
#include "textflag.h"

#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101

// start64 is entered from boot.entry64: long mode, interrupts off, on the
// boot stub's identity map, no stack. It sets up the boot CPU's kernel
// stack, its kernel g and the TLS slot that compiled Go code loads g from,
// points GS at cpus[0], and calls kmain, which never returns.
TEXT ·start64(SB),NOSPLIT|NOFRAME,$0
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	MOVQ	AX, ·bootTSC(SB)

	MOVQ	·bootCPU(SB), BX
	MOVQ	BX, const_cpuSelf(BX)
	LEAQ	·kstack0(SB), AX
	MOVQ	AX, (const_cpuGStackLo)(BX)
	ADDQ	$const_cpuKernelGuard, AX
	MOVQ	AX, (const_cpuGStackguard0)(BX)
	MOVQ	AX, (const_cpuGStackguard1)(BX)
	LEAQ	·kstack0+const_cpuKstackSize(SB), AX
	MOVQ	AX, (const_cpuGStackHi)(BX)
	MOVQ	AX, const_cpuKstackTop(BX)
	MOVQ	AX, SP
	LEAQ	const_cpuG(BX), AX
	MOVQ	AX, const_cpuTLSG(BX)
	LEAQ	const_cpuTLSEnd(BX), AX
	MOVQ	AX, const_cpuKernelFS(BX)

	MOVL	$MSR_FS_BASE, CX
	MOVQ	AX, DX
	SHRQ	$32, DX
	WRMSR
	MOVL	$MSR_GS_BASE, CX
	MOVQ	BX, AX
	MOVQ	BX, DX
	SHRQ	$32, DX
	WRMSR

	// Compiled Go code uses SSE (X15 is its zero register): turn it on.
	MOVQ	CR0, AX
	ANDQ	$~0xc, AX              // clear EM and TS
	ORQ	$0x2, AX               // MP
	MOVQ	AX, CR0
	MOVQ	CR4, AX
	ORQ	$0x600, AX             // OSFXSR, OSXMMEXCPT
	MOVQ	AX, CR4

	// IOPL 3, as in every later kernel context (cpu.SetIOPL3): QEMU's
	// TCG would otherwise translate the code the boot runs before
	// setupCPU once more afterwards.
	PUSHFQ
	ORQ	$0x3000, 0(SP)
	POPFQ

	CALL	·kmain(SB)
hang:
	CLI
	HLT
	JMP	hang

// func enterUser(frame *TrapFrame)
// enterUser starts the first thread on this CPU: it loads the thread's FPU
// state and FS base from the cpu and returns to ring 3 through the frame.
TEXT ·enterUser(SB),NOSPLIT,$0-8
	MOVQ	frame+0(FP), SP
	JMP	·trapExit(SB)

// func syscallEntryAddr() uintptr
TEXT ·syscallEntryAddr(SB),NOSPLIT,$0-8
	LEAQ	·syscallEntry(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// func rt0Addr() uintptr
TEXT ·rt0Addr(SB),NOSPLIT,$0-8
	LEAQ	_rt0_amd64_linux(SB), AX
	MOVQ	AX, ret+0(FP)
	RET

// apEntry64 is where the AP trampoline jumps in long mode, with DI =
// kernel/smp's Launch record and no stack: every AP comes here at once.
// It draws a ticket (a locked add on the record's next ticket); a ticket
// below the record's slot count gives it percpu.CPUs[first+ticket],
// whose stacks the boot CPU mapped before the start-up IPIs, and any
// other (the boot CPU closed the handout, or more CPUs came than slots)
// parks it with interrupts off. It then claims the slot by moving its
// apGo from apExpected to apClaimed (a slot the boot CPU withdrew parks it
// too), takes the slot's kernel stack, points GS at the percpu and FS at
// its kernel TLS (so compiled Go code finds the kernel g) and calls
// apMain, which records the CPU's APIC id in the slot.
TEXT ·apEntry64(SB),NOSPLIT|NOFRAME,$0
	MOVL	$1, AX
	LOCK
	XADDL	AX, const_launchNext(DI)
	CMPL	AX, const_launchSlots(DI)
	JAE	appark
	ADDL	const_launchFirst(DI), AX
	MOVQ	$const_cpuSize, CX
	IMULQ	CX, AX
	MOVQ	·bootCPU(SB), R8
	ADDQ	AX, R8
	MOVL	$const_apExpected, AX
	MOVL	$const_apClaimed, CX
	LOCK
	CMPXCHGL	CX, const_cpuAPGo(R8)
	JNE	appark
	MOVQ	const_cpuKstackTop(R8), SP
	MOVQ	R8, DI
	MOVQ	DI, BX
	MOVL	$MSR_GS_BASE, CX
	MOVQ	BX, AX
	MOVQ	BX, DX
	SHRQ	$32, DX
	WRMSR
	MOVQ	const_cpuKernelFS(BX), AX
	MOVQ	AX, DX
	SHRQ	$32, DX
	MOVL	$MSR_FS_BASE, CX
	WRMSR
	CALL	·apMain(SB)
aphang:
	CLI
	HLT
	JMP	aphang
appark:
	CLI
	HLT
	JMP	appark

// func apEntryAddr() uintptr
TEXT ·apEntryAddr(SB),NOSPLIT,$0-8
	LEAQ	·apEntry64(SB), AX
	MOVQ	AX, ret+0(FP)
	RET
