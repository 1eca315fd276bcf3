#include "textflag.h"

// entry32 stands in for the 32-bit boot stub. Like the real one it leads
// to the runtime's entry point, which keeps the whole program reachable
// for the linker's dead-code pass; it never runs.
TEXT ·entry32(SB),NOSPLIT|NOFRAME,$0
	HLT
	JMP _rt0_amd64_linux(SB)
