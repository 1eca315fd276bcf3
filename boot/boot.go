// Package boot holds the image's first instructions: the 32-bit entry that
// both the PVH and the multiboot v1 protocols jump to, the switch to long
// mode on early page tables, and the parsing of what the boot loader handed
// over (memory map, command line).
//
// The entry code lives in entry_amd64.s; this file documents it.
package boot

// Magic is the value of EAX at entry: 0x2BADB002 when a multiboot loader
// started us, anything else under PVH. Written by entry64 before any Go code
// runs.
var Magic uint32

// InfoAddr is the value of EBX at entry: the physical address of the
// multiboot information or of the PVH hvm_start_info structure.
var InfoAddr uint32

// scratch holds the early page tables (identity map of the first 1 GiB with
// 2 MiB pages) and the early GDT. The stub aligns it to a page at run time,
// hence one page more than it uses.
var scratch [5 * 4096]byte

// entry32 is the image's entry point (ELF e_entry, PVH note, multiboot
// entry_addr). Context: 32-bit protected mode, paging off, no stack.
// It never returns.
func entry32()

// entry64 is where entry32 lands in long mode. It records Magic and InfoAddr
// and jumps to the kernel's start64. Context: 64-bit, interrupts off, no
// stack. It never returns.
func entry64()
