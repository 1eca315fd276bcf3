// Package spin holds the kernel's locks: spinlocks between CPUs (the
// kernel lock, the files lock, the memory lock, the slices lock and the signals lock), and their state (held, and by which
// CPU) where the panic report can read it. It
// sits at the bottom of the kernel's imports (docs/kernel-layout.md) and
// never panics or waits: taking the lock is TryLock, which package kernel
// calls in its spin loop (kernel/klock/lock.go: the loop keeps answering TLB
// shootdowns), and a release by the wrong CPU is Unlock's false, which
// package kernel turns into a kernel panic. Context: trap; nothing here
// allocates.
package spin

import "sync/atomic"

// Lock is a spinlock that records its holder. Kernel code runs with
// interrupts off, so mutual exclusion between CPUs is all it provides.
// The zero value is unlocked.
//
// A lock may also be held shared, by any number of CPUs at once while no
// CPU holds it exclusively (TryRLock, RUnlock: the files lock's readers,
// kernel/klock's RLock). An exclusive taker first takes held, which keeps
// new readers out, and then waits until readers is 0 (Readers); a reader
// adds itself to readers and then looks at held, backing out if it is
// taken. Each side's first step is a locked instruction (a full barrier
// on x86), before its look at the other's word, so of a reader and a
// taker that meet, at least one sees the other: the reader backs out, or
// the taker waits for it.
type Lock struct {
	held  atomic.Uint32
	owner atomic.Int32 // CPU id + 1 of the holder; 0 while free
	// shared is the CPUs holding the lock shared (Readers, the low 32
	// bits) and the count of quiet moments, when the last of them left
	// (Quiet, the high 32 bits): one word, so that the count moves only
	// while no CPU holds the lock shared.
	shared atomic.Uint64
}

// KernelLock guards the kernel's shared state (threads, run queues,
// timers, futexes, descriptors, sockets): see kernel/klock/lock.go.
var KernelLock Lock

// FilesLock guards the file layer (the descriptor table, the open file
// descriptions, the root file system and its pipes): see
// kernel/klock/lock.go, klock.Files.
var FilesLock Lock

// MemLock guards the program's memory map (the page table's user half,
// the memory areas): see kernel/klock/lock.go, klock.Mem.
var MemLock Lock

// SlicesLock guards the goroutine time slices' shared evidence (the
// runtime layout's verdict, the Ps' schedticks): see
// kernel/klock/lock.go, klock.Slices.
var SlicesLock Lock

// SignalsLock guards the threads' pending signals and their siginfo:
// see kernel/klock/lock.go, klock.Signals.
var SignalsLock Lock

// TryLock takes l for CPU id if it is free and reports whether it did.
// Context: trap, interrupts off; does not allocate.
func (l *Lock) TryLock(id int) bool {
	if !l.held.CompareAndSwap(0, 1) {
		return false
	}
	l.owner.Store(int32(id + 1))
	return true
}

// TryRLock takes l shared if no CPU holds it exclusively, or has taken
// it to do so (an exclusive taker waiting for the readers to leave), and
// reports whether it did. A try that backs out reports last when it left
// readers at 0: the exclusive taker may have counted it and wait for it
// to leave, as for a release (RUnlock).
// Context: trap, interrupts off; does not allocate.
func (l *Lock) TryRLock() (ok, last bool) {
	if l.held.Load() != 0 {
		return false, false
	}
	l.shared.Add(1)
	if l.held.Load() != 0 {
		return false, l.RUnlock() // an exclusive taker came first
	}
	return true, false
}

// RUnlock lets go of a shared hold of l and reports whether it was the
// last one (an exclusive taker may be waiting for it); the last counts a
// quiet moment (Quiet).
// Context: trap, interrupts off; does not allocate.
func (l *Lock) RUnlock() bool {
	v := l.shared.Add(^uint64(0)) // one reader less
	if uint32(v) != 0 {
		return false
	}
	// Counted only if no reader came meanwhile: one that did holds the
	// lock now, and a quiet moment missed is only a later reuse.
	l.shared.CompareAndSwap(v, v+1<<32)
	return true
}

// Quiet returns how many times no CPU held l shared since boot, counted
// as the last shared holder left: a value that changes after a look
// proves that every shared hold of the look's time has ended since,
// while it stays the same as long as the caller holds l shared. What a
// shared holder frees beside others may be reused beside them only once
// it has changed (kernel/socket's allocSocket): a call beside that found
// the freed thing before is over then. Context: any; does not allocate.
func (l *Lock) Quiet() uint32 { return uint32(l.shared.Load() >> 32) }

// Readers returns how many CPUs hold l shared.
// Context: any; does not allocate.
func (l *Lock) Readers() int32 { return int32(uint32(l.shared.Load())) }

// Held reports whether some CPU holds l (spinners wait while it does).
// Context: any; does not allocate.
func (l *Lock) Held() bool { return l.held.Load() != 0 }

// Unlock releases l if CPU id holds it. It returns false, leaving l as it
// is, if id does not hold it; the caller reports that (Owner names the
// holder). Context: trap or boot, interrupts off; does not allocate.
func (l *Lock) Unlock(id int) bool {
	if !l.HeldBy(id) {
		return false
	}
	l.owner.Store(0)
	l.held.Store(0)
	return true
}

// HeldBy reports whether CPU id holds l. Context: any; does not allocate.
func (l *Lock) HeldBy(id int) bool { return l.owner.Load() == int32(id+1) }

// Owner returns the id of the CPU that holds l, and false if l is free or
// its holder is not recorded yet (between TryLock's two steps). Context:
// any (the panic report reads it with the other CPUs stopped); does not
// allocate.
func (l *Lock) Owner() (id int, ok bool) {
	o := l.owner.Load()
	if !l.Held() || o <= 0 {
		return 0, false
	}
	return int(o - 1), true
}
