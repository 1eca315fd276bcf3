package abi

// MaxCPUs is how many CPUs the kernel brings up (its per-CPU table's
// size); it leaves any more off. The host tools refuse a larger --smp.
const MaxCPUs = 64

// The memory a gometal guest needs, shared by the kernel (which refuses to
// start the program with less, see kernel/memcheck.go) and the host tools
// (gometal info and run, which refuse to boot an image with less). The
// numbers were measured with examples/hello under QEMU 7.2 (docs/protocols.md, "Memory").
const (
	// RuntimeMinMemory is the least commit limit the Go runtime starts
	// with on one CPU: its heap arena index alone (the arenas' L2 map,
	// 1<<22 pointers on amd64) is a 32 MiB writable mapping, then come
	// the first 4 MiB heap chunk, the page allocator's summaries, the
	// goroutine and signal stacks and the program's 1 MiB initial stack.
	// examples/hello starts with 40 MiB and runs out of memory with 39.
	RuntimeMinMemory = 40 << 20
	// RuntimeMemoryPerCPU is added for each CPU beyond the first: every P
	// caches pages (up to 512 KiB) and spans of its own, and an M has its
	// own stacks, so the heap grows by another 4 MiB chunk sooner.
	RuntimeMemoryPerCPU = 2 << 20
	// KernelMemory is the kernel's fixed share of RAM outside the image:
	// the first MiB (left to the firmware), page tables and the 64 pages
	// of the page-table reserve. Measured: 1694 KiB on one CPU with 47
	// MiB of RAM, the reserve's 1/256 of the free frames included.
	KernelMemory = 1536 << 10
	// KernelMemoryPerCPU is the kernel's own per-CPU memory (stacks, the
	// per-CPU block); measured about 84 KiB.
	KernelMemoryPerCPU = 96 << 10
)

// ProgramMemory returns the least commit limit (memory the kernel lets the
// program map) the Go runtime needs on cpus CPUs. Context: any; does not
// allocate.
func ProgramMemory(cpus int) uint64 {
	return RuntimeMinMemory + uint64(max(cpus, 1)-1)*RuntimeMemoryPerCPU
}

// MinMemory returns the least guest memory, in bytes and a whole number
// of MiB, that boots an image whose loaded segments end at the physical
// address imageEnd (bss included) on cpus CPUs, with extra more bytes of
// boot modules: the image, the kernel's share, the Go runtime's minimum,
// and the page-table reserve (1/256 of the free frames) on top.
// Context: any; does not allocate.
func MinMemory(imageEnd, extra uint64, cpus int) uint64 {
	n := imageEnd + extra + KernelMemory + uint64(max(cpus, 1))*KernelMemoryPerCPU + ProgramMemory(cpus)
	n += n / 255
	return (n + 1<<20 - 1) &^ (1<<20 - 1)
}
