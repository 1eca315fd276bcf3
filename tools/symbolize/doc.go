// Package symbolize turns a gometal kernel panic report into something a
// person can read: it resolves the faulting rip and every stack word that
// points into the image's text to "function+offset file:line", and
// disassembles the instructions around rip and the report's code bytes.
//
// The report format is fixed by docs/protocols.md ("Kernel panic report").
// Symbols come from the image's .gopclntab through debug/gosym (present
// even in images linked with -s -w), with the ELF symbol table as a
// fallback; instructions are decoded with golang.org/x/arch/x86/x86asm in
// 64-bit mode and printed in Go assembler syntax.
package symbolize
