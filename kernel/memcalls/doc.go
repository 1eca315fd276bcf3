// Package memcalls holds the memory system calls: mmap (anonymous
// memory, files and /dev/mem), munmap, mprotect, madvise and msync, with
// the commit accounting they share over kernel/vm. It imports
// kernel/devices (/dev/mem's areas), kernel/fsys (a file's access
// checks), kernel/vfs (the root file system's pages) and kernel/smp (TLB
// shootdowns); package kernel's system-call table calls it.
//
// Everything here is trap context (docs/trap-context.md) and does not
// allocate. The calls hold the memory lock (klock.Mem): those whose
// range holds no page of the program's under it alone (MemLockCall,
// memlock.go), the others, which may unmap or write-protect pages, under
// the kernel lock and the files lock as well (Mmap, Munmap, Mprotect,
// Madvise, Msync).
package memcalls
