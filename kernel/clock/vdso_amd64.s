// The vDSO's functions: see vdso.go. They run in ring 3, called by the Go
// runtime with the C calling convention, and read the clock's
// calibration (bootTSC, tscMult, wallAtBoot), which lives in the image's
// user-readable data.

#include "textflag.h"

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define SYS_clock_gettime 228

// clock_gettime(DI = clock id, SI = *timespec) -> AX = 0 or -errno.
TEXT ·vdsoClockGettime(SB),NOSPLIT|NOFRAME,$0
	CMPL	DI, $CLOCK_MONOTONIC
	JEQ	mono
	CMPL	DI, $CLOCK_MONOTONIC_RAW
	JEQ	mono
	CMPL	DI, $CLOCK_MONOTONIC_COARSE
	JEQ	mono
	CMPL	DI, $CLOCK_BOOTTIME
	JEQ	mono
	CMPL	DI, $CLOCK_REALTIME
	JEQ	real
	CMPL	DI, $CLOCK_REALTIME_COARSE
	JEQ	real
	MOVL	$SYS_clock_gettime, AX // CPU-time clocks: ask the kernel
	SYSCALL
	RET
mono:
	XORL	R8, R8
	JMP	now
real:
	MOVQ	·wallAtBoot(SB), R8
now:
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	SUBQ	·bootTSC(SB), AX
	MULQ	·tscMult(SB)           // DX:AX = ticks * (ns per tick << 32)
	SHRQ	$32, AX
	SHLQ	$32, DX
	ORQ	DX, AX                 // ns since kernel entry
	ADDQ	R8, AX
	MOVQ	$1000000000, CX
	XORL	DX, DX
	DIVQ	CX
	MOVQ	AX, 0(SI)
	MOVQ	DX, 8(SI)
	XORL	AX, AX
	RET

// gettimeofday(DI = *timeval, SI = *timezone, ignored) -> AX = 0.
TEXT ·vdsoGettimeofday(SB),NOSPLIT|NOFRAME,$0
	TESTQ	DI, DI
	JEQ	done
	RDTSC
	SHLQ	$32, DX
	ORQ	DX, AX
	SUBQ	·bootTSC(SB), AX
	MULQ	·tscMult(SB)
	SHRQ	$32, AX
	SHLQ	$32, DX
	ORQ	DX, AX
	ADDQ	·wallAtBoot(SB), AX
	MOVQ	$1000, CX
	XORL	DX, DX
	DIVQ	CX                     // microseconds
	MOVQ	$1000000, CX
	XORL	DX, DX
	DIVQ	CX
	MOVQ	AX, 0(DI)
	MOVQ	DX, 8(DI)
done:
	XORL	AX, AX
	RET

// func vdsoAddrs() (clockGettime, gettimeofday uintptr)
TEXT ·vdsoAddrs(SB),NOSPLIT,$0-16
	LEAQ	·vdsoClockGettime(SB), AX
	MOVQ	AX, clockGettime+0(FP)
	LEAQ	·vdsoGettimeofday(SB), AX
	MOVQ	AX, gettimeofday+8(FP)
	RET
