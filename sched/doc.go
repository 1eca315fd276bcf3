// Package sched holds the kernel's scheduling data structures: the run
// queue, the timer queue and the futex wait queues. Threads are named by
// their index in the kernel's thread table (a TID), so the structures hold
// only integers: they never allocate and never store Go pointers, and every
// method is safe in trap context (interrupts off, no P, kernel stack).
//
// The policy that uses them (who runs next, when the timer fires) lives in
// the kernel; everything here is plain Go, tested on the host.
package sched

// MaxThreads bounds the thread table. The Go runtime starts one thread per
// P plus a few (sysmon, template thread, threads blocked in system calls).
const MaxThreads = 256

// TID names a thread: an index into the kernel's thread table, or None.
type TID int32

// None is the absent thread.
const None TID = -1
