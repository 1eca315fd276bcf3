// Package mm is the kernel's memory bookkeeping: the physical frame
// allocator, x86-64 four-level page tables and the set of virtual memory
// areas (VMAs) behind mmap. It is pure logic over physical memory reached
// through a direct map (virtual = physical + DirectBase), so the host tests
// run it over an ordinary byte slice standing in for RAM.
//
// Everything here runs in trap context (interrupts off, no P, kernel stack):
// no allocation, no Go pointers stored, no panics on bad input.
package mm

// PageSize is the base page size.
const PageSize = 4096

// PageRoundUp rounds n up to a page boundary.
func PageRoundUp(n uint64) uint64 { return (n + PageSize - 1) &^ (PageSize - 1) }

// PageRoundDown rounds n down to a page boundary.
func PageRoundDown(n uint64) uint64 { return n &^ (PageSize - 1) }
