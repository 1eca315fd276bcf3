// Package threadtab holds the program's threads as data: the thread table
// (Threads, one Thread per slot, and their FPU areas), the scheduler's
// state (Sched: thread and CPU states, run queues, timers, futexes), what
// a blocked thread waits for, and the names the kernel's reports print.
// The code that acts on threads (clone, block, wake, signals, the
// scheduler's mechanism) stays in package kernel; the table sits below it
// so that the kernel panic report, which lists the threads, can sit below
// package kernel too (docs/kernel-layout.md). The kernel lock
// (kernel/spin) guards everything here. Context: trap; nothing here
// allocates.
package threadtab

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
)

// What a blocked thread waits for (Thread.Wait): the kernel's reason,
// which says which of its waiter lists to leave on wake (the scheduler
// only knows whether the wait needs a device interrupt).
const (
	WaitNone uint8 = iota
	WaitFutex
	WaitSleep
	WaitEpoll
	WaitRead  // a read that waits for console input
	WaitExit  // exit_group waiting for the sockets to drain (kernel/exitdrain.go)
	WaitStack // bind or listen waiting for the network stack (kernel/socket/socket.go)
	WaitOpen  // a FIFO open waiting for the other end (kernel/fsys/fifo.go)
)

// Thread.EvHeap's values: EvNotBlocked (the zero value: named an
// instance's waiter, not yet blocked, its wake the kernel lock's),
// EvUntimed (blocked with no timeout), or EvTimedOn(cpu) (blocked, its
// timeout in that CPU's heap).
const (
	EvNotBlocked int32 = 0
	EvUntimed    int32 = -1
)

// EvTimedOn is Thread.EvHeap's value for a waiter blocked with its
// timeout in CPU cpu's heap; EvHeapCPU gives cpu back (-1 for the other
// values). Context: any; does not allocate.
func EvTimedOn(cpu int) int32 { return int32(cpu) + 1 }

// EvHeapCPU returns the CPU of an EvTimedOn value, or -1.
// Context: any; does not allocate.
func EvHeapCPU(heap int32) int { return int(heap) - 1 }

// WaitNames names the waits in the kernel panic report.
var WaitNames = [...]string{WaitNone: "-", WaitFutex: "futex", WaitSleep: "sleep", WaitEpoll: "epoll",
	WaitRead: "console-read", WaitExit: "exit-drain", WaitStack: "network-stack", WaitOpen: "fifo-open"}

// StateNames names the scheduling states (sched.State) in the panic
// report and /proc/gometal/threads.
var StateNames = [...]string{sched.Free: "free", sched.Runnable: "runnable", sched.Running: "running", sched.Blocked: "blocked"}

// Thread is one of the program's threads (one of the Go runtime's Ms):
// what the kernel keeps of it besides its scheduling state, which is
// Sched.Threads[t] (state, CPU, CPU time). Threads are named by their
// index in Threads (a sched.TID); the Linux TID is index+1 (LinuxTID), so
// the first thread is both TID and PID 1.
type Thread struct {
	Regs   x86.TrapFrame // user registers while not on a CPU
	FSBase uintptr
	FX     uintptr // 16-byte aligned FXSAVE area in FXAreas
	Wait   uint8   // what it waits for while blocked (WaitNone, ...)
	// WaitSlot is the address of the waiter field that names this thread
	// while it waits (a socket's or an epoll instance's waiter, an
	// interrupt descriptor's or console input's reader: static variables,
	// so the address stays valid), or 0. The wake that ends the wait
	// clears that field if it still names the thread, so that no file or
	// socket keeps a thread that no longer waits on it.
	WaitSlot uintptr

	// Sigmask is written by the thread's own calls alone (with atomic
	// stores where it may unblock a signal), and read by senders with
	// atomic loads (kernel/thread/signal.go); AltStack is the thread's
	// alone.
	Sigmask  uint64
	AltStack [3]uint64 // sigaltstack: sp, flags, size
	// RestartNr is the system call the thread made last, as it made it
	// (a legacy call's own number): the locked path sets it before it
	// dispatches every call (package kernel's doSyscall), and the
	// handlers that serve several calls tell them apart by it (doFixed,
	// doDup3, doPrlimit64, doTgkill, doNoFastCopy); a call restarted
	// after a wait (CallAgain) executes it again.
	RestartNr uint64
	// SignalRestart: a signal ended the thread's wait in a call that Linux
	// restarts under SA_RESTART (kernel/thread/signal.go, InterruptWait).
	SignalRestart bool
	ConnectWait   bool    // blocked in connect on a blocking socket (kernel/socket/socket.go)
	ClearTID      uintptr // CLONE_CHILD_CLEARTID address
	// SleepRem is where a relative nanosleep or clock_nanosleep that
	// waits now reports the time left if a signal ends it (its rem
	// argument), or 0 (kernel/thread's InterruptWait).
	SleepRem uintptr

	// A pending epoll_pwait: where its results go, set when the thread is
	// named its instance's waiter (package fdcalls' nameWaiter, under the
	// interest lists' lock, fdtab.EpollHeld). EvHeap says, under that
	// lock too, whether a file call beside may hand the wait's events
	// and wake to an idle CPU (fdcalls' handOffWaiter): EvNotBlocked
	// until the thread has blocked, then EvUntimed, or EvTimedOn the CPU
	// whose timer heap holds its timeout. EvResult is the count such a
	// hand-off collected, which the wait returns (kernel/thread's
	// EndHandedOffWait).
	EvAddr   uintptr
	EvMax    int
	EvResult int64
	EvHeap   int32

	// Signals waiting for delivery, and the siginfo fields of each,
	// signal sig's at index sig-1 (signals are 1 to abi.NSig: no slot
	// for a signal 0, 24 bytes a thread that every image's memory floor
	// would pay). The signals lock's (klock.Signals): marked and taken
	// under it, Pending with atomic operations, read without it.
	Pending uint64
	SigCode [abi.NSig]int32
	SigF0   [abi.NSig]uint64
	SigF1   [abi.NSig]uint64
	// The trap behind a pending fault signal (for sigcontext).
	FaultErr, FaultTrap, FaultCR2 uint64
}

var (
	// Threads is the thread table, indexed by sched.TID.
	Threads [sched.MaxThreads]Thread
	// FXAreas hold the threads' FPU state, FXSize bytes each (Thread.FX
	// points at its slot's area, thread.New), in one array with 16 bytes
	// to spare for their 16-byte alignment, rather than 16 per thread.
	FXAreas [sched.MaxThreads*FXSize + 16]byte
	// Sched is the scheduler's state: thread and CPU states, run queues,
	// timers, futexes, CPU time (package sched holds the policy).
	Sched sched.Scheduler
)

// FXSize is the size of an FXSAVE area.
const FXSize = 512

// LinuxTID returns the Linux thread id of t. Context: any; does not
// allocate.
func LinuxTID(t sched.TID) int64 { return int64(t) + 1 }
