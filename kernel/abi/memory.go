package abi

// MaxCPUs is how many CPUs the kernel brings up (its per-CPU table's
// size); it leaves any more off. The host tools refuse a larger --smp.
const MaxCPUs = 64

// DirectBase is where the kernel's direct map of all physical memory
// (and the 32-bit MMIO hole) starts: virtual = physical + DirectBase.
const DirectBase = 0xffff800000000000

// ImageBase is the physical (and virtual) address of the image's first
// byte, its ELF header page: the kernel's link layout (tools/image) puts
// the text right above it. RAM from 1 MiB up to it is the kernel's to
// hand out.
const ImageBase = 0x1ff000

// The memory a gometal guest needs, shared by the kernel (which refuses to
// start the program with less, see kernel/vm/memcheck.go) and the host tools
// (gometal info and run, which refuse to boot an image with less). The
// numbers were measured with examples/hello under QEMU 7.2 (docs/protocols.md, "Memory").
//
// The kernel charges the Go runtime's memory as Linux's heuristic
// overcommit lets it through (kernel/memcalls/memcalls.go): writable mappings at
// addresses of the kernel's choosing (the runtime's 32 MiB heap arena
// index and its other sparsely used metadata) page by page as they are
// touched, the heap's MAP_FIXED growth whole.
const (
	// RuntimeMinMemory is the least commit limit the Go runtime starts
	// with on one CPU: two 4 MiB heap chunks (the first is all hello
	// uses, but in about one boot in seven the runtime maps a second one
	// before main: 8.3 MiB of commit at exit instead of 4.3) and the
	// pages of its other mappings and of the initial stack it touches
	// (about 300 KiB).
	RuntimeMinMemory = 9 << 20
	// RuntimeMemoryPerCPU is added for each CPU beyond the first: every P
	// caches up to 64 pages (256 KiB) of heap and spans of its own, and an
	// M has its own stacks. (hello itself commits only about 10 KiB more
	// per CPU.)
	RuntimeMemoryPerCPU = 512 << 10
	// KernelMemoryNoConsole is the kernel's fixed share of RAM outside
	// the image and the first MiB on one CPU without a virtio console:
	// page tables (the direct map and the image), the boot file system's
	// pages, the boot CPU's own memory and the 64 pages of the page-table
	// reserve. Measured: 204 KiB allocated and 256 KiB of reserve (plus
	// 1/256 of the free frames) on one CPU with 15 MiB (the boot log's
	// "memory:" line).
	KernelMemoryNoConsole = 512 << 10
	// KernelMemory is that share with the virtio console that gometal run
	// adds: its queues take 160 KiB on a machine with less than 32 MiB
	// (kernel/console, vconPoolBytes; 400 KiB on larger ones).
	KernelMemory = KernelMemoryNoConsole + 160<<10
	// KernelMemoryPerCPU is the kernel's own memory for each CPU beyond
	// the first (stacks, the per-CPU block); measured about 84 KiB.
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
// boot modules: the first MiB (firmware's), the image from ImageBase, the
// kernel's share, the Go runtime's minimum, and the page-table reserve
// (1/256 of the free frames) on top.
// Context: any; does not allocate.
func MinMemory(imageEnd, extra uint64, cpus int) uint64 {
	n := 1<<20 + imageEnd - min(imageEnd, ImageBase) + extra + KernelMemory + uint64(max(cpus, 1)-1)*KernelMemoryPerCPU + ProgramMemory(cpus)
	n += n / 255
	return (n + 1<<20 - 1) &^ (1<<20 - 1)
}
