// Command gometal builds Go programs into bootable gometal images and runs,
// inspects and debugs them.
//
// Install it from a clone of the repository (it finds the kernel's source
// in that checkout; the module is not published on a module proxy, so
// go install ...@latest does not work):
//
//	go install ./tools/gometal
//
// Usage:
//
//	gometal build [go build flags] PKG [-o IMAGE] [--boot both|pvh|multiboot]
//	gometal run IMAGE [--smp N] [--mem SIZE] [--net NETDEV] [--initrd FILE] [--timeout D] [--gdb[=PORT]] [--env K=V]... [--append CMDLINE] [-- ARGS...]
//	gometal test [go test flags] [packages] [--smp N] [--mem SIZE] [--net NETDEV] [--timeout D] [--qemu BINARY] [-- TEST ARGS...]
//	gometal symbolize IMAGE [LOG]
//	gometal trapcheck [-v] IMAGE
//	gometal info IMAGE
//	gometal iso IMAGE -o FILE.iso [--initrd FILE] [--env K=V]... [--append CMDLINE] [-- ARGS...]
//	gometal conformance [-run REGEXP] [-shard K/N] [-config CPUS[:OPTIONS]]... [-o FILE.md]
//	gometal stdtest [-pkgs LIST] [-shard K/N] [-o FILE.md]
//
// build links PKG, the Go runtime and the gometal kernel into one ELF and
// patches it to boot through PVH and multiboot (see docs/protocols.md and
// package tools/image); --boot pvh or --boot multiboot keeps only one.
// A package outside the gometal module gets the kernel through a temporary
// go.work; set GOMETAL_ROOT to choose the gometal checkout.
//
// run boots an image in QEMU with the serial console on standard output.
// The --env values and the ARGS after "--" reach the program byte for byte
// (any byte but NUL, up to 256 KiB) in an argument block at the end of the
// boot module; --append is the kernel command line (kernel options).
// --smp (1 to 64), --mem (at least the image's minimum, see info) and
// --timeout (0: no limit) are checked before QEMU starts. --gdb starts
// QEMU's gdb stub with the machine paused and prints the gdb command that
// attaches (docs/debugging.md).
//
// test is go test with each package's test binary booted as an image:
// the same package patterns (./..., import paths, the standard library,
// the module cache; no package means the current directory), the same
// output ("ok  \tPKG\tTIME", "FAIL\tPKG\tTIME", "?   \tPKG\t[no test
// files]", a final "FAIL" and status 1 when a package failed) and the
// test flags -v, -run, -skip, -count, -short, -timeout, -bench,
// -benchtime, -benchmem, -cpu, -parallel, -failfast, -list, -shuffle,
// -fullpath, passed to the binary as -test.* arguments, exactly as run
// passes arguments; -json converts the output with go tool test2json, -p N
// boots N packages at once, -c [-o IMAGE] only builds the test image,
// -args or "--" pass the rest unchanged. Coverage and profile files
// (-coverprofile, -cpuprofile, ..., -outputdir) come back from the guest
// through the kernel's export= option; -fuzz and -exec are refused. Each
// test runs in its package's directory, packed into the image. --smp is
// the host's CPU count by default, at least 2, as go test runs tests with
// GOMAXPROCS set to the host's CPUs. --timeout is QEMU's limit per package (default -timeout plus
// 1m). The kernel is linked in through an external test file
// (package NAME_test), so packages the kernel imports have no cycle.
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
// Exit status: test exits with 0 when every package passed, else 1, as go
// test does. run exits with the program's status; 125 after a kernel
// panic (the symbolized report goes to standard error), 124 on a timeout,
// 1 when the image could not be built or run or the guest reset without a
// status. Usage errors exit with status 2.
package main
