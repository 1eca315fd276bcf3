// Package fs is the kernel's file system: an in-memory root with tmpfs
// semantics (inodes, directories, page-backed file data, symbolic and hard
// links, byte-range locks), filled at boot from cpio (newc) archives, and
// the pipe ring. It is plain Go that runs in trap context: fixed tables
// indexed by integers, no allocation, no pointers stored in globals, and
// data pages taken from the frame allocator passed in by the caller.
package fs
