// The boot entry: see boot.go for the contract of each symbol here.

#include "textflag.h"

// Physical address of the top of the image's ELF header page (the image is
// linked with -T 0x200000, so the loader puts the header page at 0x1ff000).
// The stub uses the top few bytes of that page as its only stack: the notes
// that live there have already been read by the loader.
#define HEADER_PAGE_TOP 0x1ffff0

// Offsets inside the 16 KiB boot scratch area (4 KiB aligned at run time).
#define SCRATCH_PML4 0x0000
#define SCRATCH_PDPT 0x1000
#define SCRATCH_PD   0x2000
#define SCRATCH_GDT  0x3000
#define SCRATCH_GDTR 0x3020
#define SCRATCH_MAGIC 0x3030
#define SCRATCH_INFO 0x3034
#define SCRATCH_JMP  0x3038

// entry32 is the 32-bit protected-mode entry for both PVH and multiboot v1.
// Context: paging off, interrupts state unknown, no stack, flat 32-bit
// segments; EAX = multiboot magic (or anything under PVH), EBX = physical
// address of the boot information.
//
// Every instruction below is chosen so that its amd64 encoding, as emitted by
// the Go assembler, decodes to the same instruction in 32-bit mode: no REX
// prefixes, no RIP-relative operands except through the LEAL trick below
// (entry_test.go's TestEntry32Decodes disassembles this function, from a
// built image, in both modes to check that).
TEXT ·entry32(SB),NOSPLIT|NOFRAME,$0
	CLI
	CLD
	MOVL	AX, DX                 // magic
	MOVL	BX, SI                 // boot information
	MOVL	$HEADER_PAGE_TOP, SP

	// Find out where we run: CALL pushes the address of the POP.
	BYTE	$0xE8; LONG $0         // call next instruction
	POPQ	BP                     // 32-bit mode: pop ebp; BP = address L of this POP
	// In 32-bit mode "lea r32, [disp32]" loads the displacement itself, and
	// the Go assembler emits the symbol's distance from the end of the LEAL
	// there. The LEALs end at L+7 and L+13.
	LEAL	·scratch(SB), BX
	LEAL	·entry64(SB), CX
	ADDL	BP, BX
	ADDL	$7, BX
	ADDL	BP, CX
	ADDL	$13, CX
	ADDL	$4095, BX              // align the scratch area up to a page
	ANDL	$0xfffff000, BX

	// Zero PML4, PDPT, PD and the GDT page.
	MOVL	BX, DI
	MOVL	CX, BP                 // keep the 64-bit entry address
	MOVL	$4096, CX              // 4 pages of 1024 dwords
	XORL	AX, AX
	REP;	STOSL
	MOVL	DX, SCRATCH_MAGIC(BX)
	MOVL	SI, SCRATCH_INFO(BX)
	MOVL	BP, SCRATCH_JMP(BX)

	// PML4[0] -> PDPT, PDPT[0] -> PD, PD[i] -> i * 2 MiB: identity map 1 GiB.
	// PML4[256] -> the same PDPT: the first 1 GiB also appears at
	// 0xffff800000000000, where the kernel's direct map will be, so the
	// boot information can be read there before that map exists.
	LEAL	(SCRATCH_PDPT+3)(BX), AX
	MOVL	AX, SCRATCH_PML4(BX)
	MOVL	AX, (SCRATCH_PML4+256*8)(BX)
	LEAL	(SCRATCH_PD+3)(BX), AX
	MOVL	AX, SCRATCH_PDPT(BX)
	MOVL	$0x83, AX              // present, writable, 2 MiB page
	XORL	CX, CX
fill:
	MOVL	AX, SCRATCH_PD(BX)(CX*8)
	ADDL	$0x200000, AX
	INCL	CX
	CMPL	CX, $512
	JNE	fill

	// GDT: null, 64-bit code (0x08), data (0x10).
	MOVL	$0x0000ffff, (SCRATCH_GDT+0x08)(BX)
	MOVL	$0x00af9a00, (SCRATCH_GDT+0x0c)(BX)
	MOVL	$0x0000ffff, (SCRATCH_GDT+0x10)(BX)
	MOVL	$0x00cf9200, (SCRATCH_GDT+0x14)(BX)
	MOVW	$23, SCRATCH_GDTR(BX)
	LEAL	SCRATCH_GDT(BX), AX
	MOVL	AX, (SCRATCH_GDTR+2)(BX)
	LGDT	SCRATCH_GDTR(BX)

	// CR4.PAE, CR3 = PML4, EFER.LME|NXE, CR0.PG|PE: compatibility mode.
	MOVQ	CR4, AX
	ORL	$0x20, AX
	MOVQ	AX, CR4
	MOVQ	BX, CR3
	MOVL	$0xc0000080, CX
	RDMSR
	ORL	$0x900, AX
	WRMSR
	MOVQ	CR0, AX
	ORL	$0x80000001, AX
	MOVQ	AX, CR0

	// Far return into the 64-bit code segment.
	MOVL	SCRATCH_MAGIC(BX), DX
	MOVL	SCRATCH_INFO(BX), SI
	MOVL	SCRATCH_JMP(BX), AX
	PUSHQ	$0x08                  // 32-bit mode: push dword 8
	PUSHQ	AX                     // 32-bit mode: push eax
	BYTE	$0xCB                  // retf (32-bit operand size)

// entry64 continues in 64-bit mode on the stub's page tables.
// Context: long mode, interrupts off, DX = magic, SI = boot information.
TEXT ·entry64(SB),NOSPLIT|NOFRAME,$0
	MOVL	$0x10, AX
	MOVW	AX, DS
	MOVW	AX, ES
	MOVW	AX, SS
	XORL	AX, AX
	MOVW	AX, FS
	MOVW	AX, GS
	MOVL	DX, DX
	MOVL	SI, SI
	MOVL	DX, ·Magic(SB)
	MOVL	SI, ·InfoAddr(SB)
	JMP	github·com∕gometal∕gometal∕kernel·start64(SB)
