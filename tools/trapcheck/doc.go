// Package trapcheck statically checks the trap-context code of a linked
// gometal image: everything reachable from the kernel's entry points
// (boot, the SYSCALL and interrupt entries, kmain, userTrap, kernelTrap)
// runs with no M and no P on a fixed kernel stack, so it must not
// allocate, run a GC write barrier, panic or throw, or call through a
// function value the checker cannot see, and its stack depth must stay
// above the kernel g's stack guard.
//
// The check works on the final image, after the compiler's inlining and
// the linker's dead-code elimination: it disassembles each reachable
// function (symbol table start and size) with
// golang.org/x/arch/x86/x86asm, follows direct CALL and JMP targets to
// build the call graph, classifies runtime callees (policy.go), bounds
// the stack depth from the prologues' frame sizes and fails on recursion.
// The policy is docs/trap-context.md.
//
// CheckDomain (domain.go) uses the same walk to check which code may
// touch the state one lock guards: no call into a domain's packages and
// no use of its variables from code that runs without its lock, except
// through a gate that takes it (docs/trap-context.md, "Lock domains").
package trapcheck
