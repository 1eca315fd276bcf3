package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// blocked is returned by a handler whose thread now waits; its result is
// set when it wakes (thread.Blocked).
const blocked = thread.Blocked

// doSyscall runs the system call in t's saved registers (number in RAX,
// arguments in RDI, RSI, RDX, R10, R8, R9) through syscallTable, or the
// Unix-domain and netlink socket code for calls on those sockets, and stores
// the result in RAX unless the thread blocked. A legacy path call (open,
// stat, mkdir, ...) runs as its at form (legacyCalls). A number with no handler
// gets ENOSYS and is logged by name once. Every call but the kernel-only
// ones (kernelOnlyCalls) holds the files lock too, exclusively, but
// epoll_wait and epoll_pwait, which hold it shared (fdcalls.SysEpollWait
// says how a wait beside other CPUs' file calls misses no change): the
// netpoller's wait, each time a P finds nothing to run, no longer stops
// every other CPU's file calls. The files lock is not held on entry: the
// trap took the kernel lock alone.
// Context: trap, kernel lock held; does not allocate.
func doSyscall(c *percpu.CPU, t sched.TID) {
	r := &threadtab.Threads[t].Regs
	a := sysArgs{uintptr(r.DI), uintptr(r.SI), uintptr(r.DX), uintptr(r.R10), uintptr(r.R8), uintptr(r.R9)}
	nr := r.AX
	threadtab.Threads[t].RestartNr = nr // what a restarted call executes again
	countLockedCall(nr)
	nr = atForm(nr, &a) // a legacy path call as its at form
	shared, since := nr == unix.SYS_EPOLL_WAIT || nr == unix.SYS_EPOLL_PWAIT, uint64(0)
	if !kernelOnly(nr) { // the kernel-only calls take no descriptor
		if shared {
			since = klock.Files.RLock(c)
		} else {
			lockFiles(c)
		}
		fdcalls.PathHide(nr, (*[6]uintptr)(&a)) // an O_PATH descriptor where Linux's fdget does not find it
	}
	var ret int64
	switch {
	case socket.UnixCall(nr, a[0]): // a socket call on (or making) a Unix-domain socket
		ret = socket.UnixSyscall(t, nr, a[0], a[1], a[2], a[3], a[4], a[5])
	case socket.NetlinkCall(nr, a[0]): // the same for a netlink socket
		ret = socket.NetlinkSyscall(t, nr, a[0], a[1], a[2], a[3], a[4], a[5])
	case nr < uint64(len(syscallTable)) && syscallTable[nr] != nil:
		ret = syscallTable[nr](c, t, a)
		if ret == -abi.EPIPE && raisesSIGPIPE(nr, a) {
			raiseSIGPIPE(c, t)
		}
	default:
		unimplemented(nr)
		ret = -abi.ENOSYS
	}
	if shared {
		klock.Files.Release(c, true, since, klock.Kernel.Tag()) // before socketEvents, which may take it
	}
	socketEvents()
	if ret != blocked {
		threadtab.Threads[t].Regs.AX = uint64(ret)
		return
	}
	interruptIfSignalled(t)
}

// raisesSIGPIPE reports whether system call nr with arguments a, having
// failed with EPIPE, also raises SIGPIPE, as Linux's pipe_write and
// sk_stream_error do: a write of a pipe with no reader left, or of a
// stream socket that cannot send any more, unless a send says
// MSG_NOSIGNAL. These are the calls here that can fail so (pwrite64
// answers ESPIPE on a pipe or socket; splice and tee are EINVAL). (The
// Unix-domain sockets raise their own: their calls do not come through
// syscallTable, but for sendfile into one.) The Go runtime ignores a
// SIGPIPE for a descriptor other than 1 and 2 unless the program asks
// for it with os/signal. Context: trap, files lock held (sendfile's
// look at its descriptor), or any for the other calls; does not
// allocate.
func raisesSIGPIPE(nr uint64, a sysArgs) bool {
	switch nr {
	case unix.SYS_WRITE, unix.SYS_WRITEV:
		return true
	case unix.SYS_SENDFILE:
		// Into a pipe or a stream socket; a Unix-domain datagram or
		// seqpacket socket's EPIPE raises nothing (unix_dgram_sendmsg).
		f := fdtab.Get(int(a[0]))
		return f == nil || f.Kind != fdtab.KindUnix || socket.Usocks().Type(f.Socket) == unix.SOCK_STREAM
	case unix.SYS_SENDTO:
		return a[3]&unix.MSG_NOSIGNAL == 0
	case unix.SYS_SENDMSG:
		return a[2]&unix.MSG_NOSIGNAL == 0
	}
	return false
}

// raiseSIGPIPE sends SIGPIPE to t, the caller, as Linux's send_sig
// does (SI_USER from the process itself).
// Context: trap, on t's CPU c, kernel lock held; does not allocate.
func raiseSIGPIPE(c *percpu.CPU, t sched.TID) {
	thread.SendSignal(c, t, int(unix.SIGPIPE), abi.SIUser, 1, 0)
}

// interruptIfSignalled ends the wait t has just entered (thread.InterruptWait:
// EINTR, or a restart under SA_RESTART) if
// a signal it does not block is already pending and the wait is one a
// signal interrupts, as Linux does not sleep with a signal pending. The
// signal may have been sent while t ran in ring 3 on this CPU, and t
// entered the system call before it took the kick IPI that thread.SendSignal
// sent (or while this CPU spun for the kernel lock that the sender
// held): thread.SendSignal found t running, so nothing else would wake it.
// A sender without the kernel lock (thread.TrySendSignal, a tgkill) may
// still be looking at t's state: the read is fenced
// (thread.SignalPendingFenced), so that either it sees t blocked (and
// the locked path ends the wait) or this sees its signal.
// Context: trap, kernel lock held; does not allocate.
func interruptIfSignalled(t sched.TID) {
	th := &threadtab.Threads[t]
	if thread.State(t) == sched.Blocked && thread.SignalPendingFenced(t) && thread.Interruptible(th.Wait) {
		thread.InterruptWait(t)
	}
}

// lockedCalls counts the system calls that took the kernel lock, by
// number (the last entry counts every number past the others): what
// /proc/gometal/sched's "locked_syscall" lines show, so that the calls a
// program makes on the locked path can be told from those the lock-free,
// memory-lock and files-lock paths answer (issue 18; a call served under
// the files lock alone that then takes the kernel lock for the wake-ups
// it recorded is not counted: file_call_wake counts those). Written only
// under the kernel lock.
var lockedCalls [abi.NumSyscalls + 1]uint64

// countLockedCall counts system call nr in lockedCalls.
// Context: trap, kernel lock held; does not allocate.
func countLockedCall(nr uint64) {
	lockedCalls[min(nr, uint64(len(lockedCalls)-1))]++
}

// seenSyscalls marks the unimplemented call numbers below
// len(seenSyscalls)*64 already logged; seenLarge is one flag shared by all
// larger numbers (a program looping over bad numbers logs one line).
var (
	seenSyscalls [8]uint64
	seenLarge    bool
)

// unimplemented logs the first use of each unimplemented system call
// number below 512, and the first use of any larger one, with its Linux
// name where it has one: "unimplemented system call statx (332):
// returning ENOSYS".
// Context: trap, kernel lock held; does not allocate.
func unimplemented(nr uint64) {
	large := nr >= uint64(len(seenSyscalls))*64
	switch {
	case large && seenLarge:
		return
	case large:
		seenLarge = true
	case seenSyscalls[nr/64]&(1<<(nr%64)) != 0:
		return
	default:
		seenSyscalls[nr/64] |= 1 << (nr % 64)
	}
	var l klog.Line
	sysName(l.S("unimplemented system call "), nr).S(": returning ENOSYS")
	if large {
		l.S(" (only the first call numbered above 511 is logged)")
	}
	l.Info()
}

// errnoResult is the RAX value of a failed system call.
func errnoResult(errno int64) uint64 { return uint64(-errno) }
