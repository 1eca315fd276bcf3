/*
 * Application-processor start-up trampoline, copied to physical 0x8000
 * and entered by the INIT-SIPI-SIPI sequence (SIPI vector 0x08) in real
 * mode at CS:IP = 0800:0000. It switches to 32-bit protected mode, then to
 * long mode on the kernel's page table, and jumps to the 64-bit entry with
 * RDI = the block's argument word and no stack: every AP runs this same
 * code at once, so nothing here is any one CPU's; the entry finds its CPU's
 * slot (and stack) itself. The BSP fills the parameter block.
 */
	.set BASE, 0x8000
	.set PARAMS, 0xf00
	.set P_CR3, PARAMS + 0x00
	.set P_ENTRY, PARAMS + 0x10
	.set P_ARG, PARAMS + 0x18
	.text
	.code16
start:
	cli
	cld
	xorw	%ax, %ax
	movw	%ax, %ds
	lgdtl	BASE + gdtr - start
	movl	%cr0, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$0x08, $(BASE + pm32 - start)

	.code32
pm32:
	movw	$0x10, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	%cr4, %eax
	orl	$0x620, %eax		/* PAE, OSFXSR, OSXMMEXCPT */
	movl	%eax, %cr4
	movl	BASE + P_CR3, %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx
	rdmsr
	orl	$0x901, %eax		/* SCE, LME, NXE */
	wrmsr
	movl	%cr0, %eax
	andl	$~0xc, %eax		/* EM, TS off */
	orl	$0x80010002, %eax	/* PG, WP, MP */
	movl	%eax, %cr0
	ljmpl	$0x18, $(BASE + lm64 - start)

	.code64
lm64:
	movq	BASE + P_ARG, %rdi
	movq	BASE + P_ENTRY, %rax
	jmpq	*%rax

	.balign 8
gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad	0x00cf92000000ffff	/* 0x10: data */
	.quad	0x00af9a000000ffff	/* 0x18: 64-bit code */
gdtr:
	.word	gdtr - gdt - 1
	.long	BASE + gdt - start
end:
