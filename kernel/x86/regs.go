package x86

// The architectural registers' bits the kernel sets and reads (Intel SDM
// vols. 3 and 4).

// Model-specific registers (Intel SDM vol. 4).
const (
	MsrEFER     = 0xc0000080
	MsrSTAR     = 0xc0000081
	MsrLSTAR    = 0xc0000082
	MsrFMASK    = 0xc0000084
	MsrAPICBase = 0x1b

	EferSCE = 1 << 0 // SYSCALL enable
	EferNXE = 1 << 11

	ApicBaseEnable = 1 << 11
)

// RFLAGS bits.
const (
	FlagTF   = 1 << 8
	FlagIF   = 1 << 9
	FlagDF   = 1 << 10
	FlagIOPL = 3 << 12 // IOPL 3: the program's drivers may use port I/O
	FlagNT   = 1 << 14
	FlagAC   = 1 << 18
	FlagRF   = 1 << 16 // resume: the instruction does not hit its breakpoint again
)

// CPUID feature bits.
const (
	Cpuid1EDXTSC    = 1 << 4
	Cpuid1EDXAPIC   = 1 << 9
	Cpuid1EDXFXSR   = 1 << 24
	Cpuid1EDXSSE2   = 1 << 26
	Cpuid1ECXRDRAND = 1 << 30
	CpuidExtNX      = 1 << 20
)

// Control register bits.
const (
	Cr0MP     = 1 << 1
	Cr0EM     = 1 << 2
	Cr0TS     = 1 << 3
	Cr0WP     = 1 << 16
	Cr4PSE    = 1 << 4
	Cr4PGE    = 1 << 7
	Cr4OSFXSR = 1 << 9
	Cr4OSXMM  = 1 << 10
)
