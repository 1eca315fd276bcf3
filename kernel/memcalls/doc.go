// Package memcalls holds the memory system calls: mmap (anonymous
// memory, files and /dev/mem), munmap, mprotect, madvise and msync, with
// the commit accounting they share over kernel/vm. It imports
// kernel/devices (/dev/mem's areas), kernel/fsys (a file's access
// checks), kernel/vfs (the root file system's pages) and kernel/smp (TLB
// shootdowns); package kernel's system-call table calls it.
//
// Everything here is trap context (docs/trap-context.md): it runs with
// the kernel lock held and does not allocate.
package memcalls
