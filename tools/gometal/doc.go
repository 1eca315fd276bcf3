// Command gometal builds Go programs into bootable gometal images and runs,
// inspects and debugs them.
//
// Install it with
//
//	go install github.com/gometal/gometal/tools/gometal@latest
//
// Usage:
//
//	gometal build [go build flags] PKG [-o IMAGE] [--boot both|pvh|multiboot]
//	gometal run IMAGE [--smp N] [--mem SIZE] [--net NETDEV] [--initrd FILE] [--timeout D] [--gdb[=PORT]] [--env K=V]... [--append CMDLINE] [-- ARGS...]
//	gometal test [go build flags] PKG [--smp N] [--mem SIZE] [--timeout D] [-- TEST ARGS...]
//	gometal symbolize IMAGE [LOG]
//	gometal trapcheck [-v] IMAGE
//	gometal info IMAGE
//
// build links PKG, the Go runtime and the gometal kernel into one ELF and
// patches it to boot through PVH and multiboot (see docs/protocols.md and
// package tools/image); --boot pvh or --boot multiboot keeps only one.
// A package outside the gometal module gets the kernel through a temporary
// go.work; set GOMETAL_ROOT to choose the gometal checkout.
//
// run boots an image in QEMU with the serial console on standard output.
// The --env values and the ARGS after "--" form the kernel command line
// "K=V... -- ARGS..."; --append passes a raw command line instead.
// --smp (1 to 64), --mem (at least the image's minimum, see info) and
// --timeout (0: no limit) are checked before QEMU starts. --gdb starts
// QEMU's gdb stub with the machine paused and prints the gdb command that
// attaches (docs/debugging.md).
//
// test builds PKG's test binary (go test -c) as an image and runs it like
// run, with the TEST ARGS (such as -test.v -test.run=X) as its arguments.
//
// symbolize resolves the kernel panic report in LOG (default standard
// input) against IMAGE: function, offset and file:line for rip and every
// stack word in the text, and a disassembly around rip.
//
// trapcheck disassembles an image and fails when the kernel's trap-context
// code can allocate, run a write barrier, panic, call through an unknown
// function value, recurse or overflow its stack (docs/trap-context.md).
//
// info prints an image's entry point, PVH note, multiboot header and
// segments, and the least memory it boots with. A file that is not a
// gometal image is named for what it is (a dynamically linked executable,
// a gzip file, a script...).
//
// Exit status: run and test exit with the program's status; 125 after a
// kernel panic (the symbolized report goes to standard error), 124 on a
// timeout, 1 when the image could not be built or run or the guest reset
// without a status. Usage errors exit with status 2.
package main
