package kernel

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/console"
	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/tlb"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Which locks a system call takes (issue 18). The file layer (descriptor
// table, open file descriptions, root file system, pipes) has its own
// lock, klock.Files, ranked after the kernel lock. Every call takes both
// locks unless callLocks says otherwise:
//
//   - lockKernelOnly: the scheduling calls (futexes, yields, sleeps,
//     signals, clocks, timers), a thread's making and its end (clone,
//     exit) and those with a fixed answer (the ids, uname, wait4). They
//     never touch the file layer, so they
//     do not wait for another CPU's file I/O, nor it for them. Where
//     their path reaches the file layer all the same (a signal or the
//     last thread's exit that ends the program exports the files; a
//     socket wait that times out), it takes the files lock there
//     (lockFiles, shutdown). The table kernelOnlyCalls
//     lists them; tools/trapcheck's TestGometalFileLockDomain reads it
//     out of the built image
//     and fails if a handler marked here can reach the file layer's code
//     or variables without passing through such a gate.
//   - lockFilesFirst: the calls on descriptors of the root file system's
//     files and directories, and on its paths (open, stat, access,
//     readlink, mkdir, unlink, rename, link, chmod, truncate, chdir,
//     ...): those fdcalls.FileCall and the table fileCalls serve, under
//     the files lock alone (fileTrap), and so are the reads and writes
//     that never wait (fdcalls.StreamCall: eventfds, non-blocking pipe
//     ends and Internet stream and datagram sockets, the network stack's
//     moves and releases,
//     the console's writes while a slot is free; and the closes of pipe
//     ends and Internet sockets and the latter's shutdowns) and fcntl's
//     flag commands (on a
//     file's descriptor, those and an epoll_ctl that refuses it take no
//     lock at all: fileCallUnlocked). A
//     descriptor of another kind (a blocking pipe or socket, a raw or
//     Unix-domain socket, the console's input, an unknown number; but
//     the calls of fileCalls, which serve some of those: a datagram
//     socket's connect, say), a console write that must
//     wait and a path that needs the kernel (a device, a FIFO, a kernel
//     file) go to the locked path, which takes both: the files lock
//     exclusively, but shared for an epoll_wait or epoll_pwait that
//     waits (doSyscall, fdcalls.SysEpollWait), beside other CPUs' file
//     calls.
type lockClass uint8

const (
	lockBoth       lockClass = iota // the kernel lock, then the files lock
	lockKernelOnly                  // the kernel lock alone
	lockFilesFirst                  // the files lock alone where fileTrap can serve the call, else both
)

// kernelOnlyCalls are the kernel-only calls' numbers (callLocks: the
// files-first calls are those fdcalls.FileCall and fileCalls serve): a
// list, not a table indexed by call number, whose 319 bytes the image
// would carry mostly empty (issue 16's budget).
var kernelOnlyCalls = [...]uint16{
	unix.SYS_FUTEX,
	unix.SYS_SCHED_YIELD,
	unix.SYS_SCHED_GETAFFINITY,
	unix.SYS_NANOSLEEP,
	unix.SYS_CLOCK_NANOSLEEP,
	unix.SYS_CLOCK_GETTIME,
	unix.SYS_CLOCK_GETRES,
	unix.SYS_GETTIMEOFDAY,
	unix.SYS_TIMER_CREATE,
	unix.SYS_TIMER_SETTIME,
	unix.SYS_TIMER_DELETE,
	unix.SYS_SETITIMER,
	unix.SYS_RT_SIGACTION,
	unix.SYS_RT_SIGPROCMASK,
	unix.SYS_RT_SIGRETURN,
	unix.SYS_SIGALTSTACK,
	unix.SYS_KILL,
	unix.SYS_TGKILL,
	unix.SYS_TKILL,
	unix.SYS_GETRANDOM,
	unix.SYS_ARCH_PRCTL,
	unix.SYS_GETPID,
	unix.SYS_GETTID,
	unix.SYS_GETPPID,
	unix.SYS_GETUID,
	unix.SYS_GETEUID,
	unix.SYS_GETGID,
	unix.SYS_GETEGID,
	unix.SYS_GETGROUPS,
	unix.SYS_UNAME,
	unix.SYS_SCHED_SETAFFINITY,
	unix.SYS_PRCTL,
	unix.SYS_WAIT4,
	unix.SYS_WAITID,
	unix.SYS_CLONE,
	unix.SYS_EXIT,
}

// fileCalls serve the lockFilesFirst calls other than those on a file's
// descriptor (fdcalls.FileCall) under the files lock alone (fileTrap):
// the locked path's own handlers where they never need more than the file
// layer, whatever their arguments (the calls on paths, and those on a
// descriptor that answer by the file layer alone: fchmod, fstatfs,
// ...), and for open and stat the forms that answer
// notFileCall, having changed nothing, when the path or descriptor needs
// the kernel lock (a device, a FIFO, a kernel file, a descriptor of
// another kind).
//
// The legacy path calls (open, stat, mkdir, ...) come as their at forms
// (legacyCalls). The first readOnlyFileCalls entries only read the file
// layer (the stat and access calls, readlinkat, getcwd, statfs): fileTrap
// holds the files lock shared for them, beside other CPUs' reads.
var fileCalls = [...]fileCall{
	{unix.SYS_NEWFSTATAT, fileNewfstatat},
	{unix.SYS_STATX, fileStatx},
	{unix.SYS_FACCESSAT, doFaccessat},
	{unix.SYS_FACCESSAT2, doFaccessat2},
	{unix.SYS_READLINKAT, fsys.SysReadlinkat},
	{unix.SYS_GETCWD, fsys.SysGetcwd},
	{unix.SYS_FSTATFS, fdcalls.SysFstatfs},
	{unix.SYS_STATFS, fsys.SysStatfsPath},
	// The calls that change the file layer beside other calls, under the
	// files lock held shared (fileCallShared): the names and files
	// change under their data locks (fs.FS.Create, Unlink, Rmdir, Link,
	// Rename, Truncate, SetTimes, SetAttr); one that must run alone
	// answers fsys.RunAlone having changed nothing, and runs again under
	// the lock held exclusively.
	{unix.SYS_OPENAT, fileOpenat},
	{unix.SYS_MKDIRAT, fileMkdirat},
	{unix.SYS_MKNODAT, fsys.SysMknodat},
	{unix.SYS_LINKAT, fsys.SysLinkat},
	{unix.SYS_SYMLINKAT, fsys.SysSymlinkat},
	{unix.SYS_UNLINKAT, fileUnlinkat},
	{unix.SYS_RENAMEAT, fileRenameat},
	{unix.SYS_RENAMEAT2, fileRenameat2},
	{unix.SYS_TRUNCATE, fileTruncate},
	{unix.SYS_UTIMENSAT, fileUtimensat},
	{unix.SYS_FCHMOD, fdcalls.SysFchmod},
	{unix.SYS_FCHOWN, fdcalls.SysFchown},
	{unix.SYS_FCHMODAT, doFchmodat},
	{unix.SYS_FCHMODAT2, doFchmodat2},
	{unix.SYS_FCHOWNAT, fsys.SysFchownat},
	// The working directory and the creation mask, swapped atomically
	// (fsys.SetCwd, fdcalls.SysUmask).
	{unix.SYS_FCHDIR, fsys.SysFchdir},
	{unix.SYS_CHDIR, fsys.SysChdir},
	{unix.SYS_UMASK, fdcalls.SysUmask},
	// epoll_wait and epoll_pwait that do not wait (events ready, or a
	// timeout of 0: the runtime's non-blocking netpoll); one that would
	// wait answers notFileCall.
	{unix.SYS_EPOLL_WAIT, fileEpollWait},
	{unix.SYS_EPOLL_PWAIT, fileEpollWait},
	// epoll_ctl: a change that gives a waiting thread events is
	// recorded, and woken on the kernel lock's path (fileTrap's wake).
	{unix.SYS_EPOLL_CTL, fdcalls.EpollCtl},
	// fcntl's descriptor flags, on a descriptor of any kind, changed by
	// compare-and-swap of the descriptor's flag word; the other commands
	// (record locks, dup) answer notFileCall.
	{unix.SYS_FCNTL, fileFcntl},
	// fallocate, its pages charged first and under the file's data lock
	// (fdcalls.SysFallocate).
	{unix.SYS_FALLOCATE, fdcalls.SysFallocate},
	// pipe2 (and pipe, as pipe2 with no flags: legacyCalls), its pipe,
	// descriptions and descriptors each claimed atomically
	// (fdcalls.SysPipe2).
	{unix.SYS_PIPE2, filePipe2},
	// The options and names of an Internet socket: the options change
	// and are read under the socket's own lock (socket.SysSetsockopt,
	// socket.SysGetsockopt), and so are the names read
	// (socket.SysGetsockname, socket.SysGetpeername), which the stack's
	// connect outcome changes beside; fileTrap runs them on an Internet
	// socket's descriptor alone (fileSocketCall, fileInetSocket), and
	// sends another (a Unix-domain or netlink socket, a bad number) to
	// the locked path.
	{unix.SYS_SETSOCKOPT, socket.SysSetsockopt},
	{unix.SYS_GETSOCKOPT, socket.SysGetsockopt},
	{unix.SYS_GETSOCKNAME, socket.SysGetsockname},
	{unix.SYS_GETPEERNAME, socket.SysGetpeername},
	// accept4 on a listening Internet socket: the queue's oldest
	// connection taken under the listener's lock, its descriptor made
	// naming it (socket.AcceptNow); an empty queue is EAGAIN for a
	// descriptor opened O_NONBLOCK, and a blocking one waits on the
	// locked path.
	{unix.SYS_ACCEPT4, socket.AcceptNow},
	// socket(2) of an Internet socket: a slot whose old socket no call
	// beside can meet, taken and made under the socket's lock, and its
	// descriptor claimed atomically (socket.NewSocket); where none is
	// free beside others it runs alone (fsys.RunAlone). Another family,
	// or a kernel with no network stack, takes the locked path.
	{unix.SYS_SOCKET, fileSocket},
	// connect(2) of an Internet stream socket's non-blocking descriptor,
	// or of a datagram or raw socket: its ephemeral port chosen under the ports'
	// lock, its state and peer changed under the epoll interest lists'
	// lock and its own (socket.ConnectNow); a stream socket's blocking
	// one, which waits, takes the locked path.
	{unix.SYS_CONNECT, socket.ConnectNow},
	// sendto, recvfrom, sendmsg and recvmsg of an Internet datagram
	// socket that never wait (a descriptor opened O_NONBLOCK, or
	// MSG_DONTWAIT): the datagram queued or taken under the socket's
	// lock (socket.SendtoNow and the like), one to a local address put
	// into its receiver's ring under the receiver's lock; a stream or
	// raw socket's and a call that may wait take the locked path.
	{unix.SYS_SENDTO, socket.SendtoNow},
	{unix.SYS_RECVFROM, socket.RecvfromNow},
	{unix.SYS_SENDMSG, socket.SendmsgNow},
	{unix.SYS_RECVMSG, socket.RecvmsgNow},
}

// sharedFileCalls is how many of fileCalls' first entries hold the files
// lock shared (fileCallShared): all of them, since fallocate joined them.
const sharedFileCalls = len(fileCalls)

// readOnlyFileCalls is how many of fileCalls' first entries only read
// the file layer.
const readOnlyFileCalls = 8

// filePipe2 is pipe2(2) under the files lock alone, held shared
// (fileCallShared) or, where a table was full beside others, exclusively
// (fdcalls.SysPipe2, which then answers fsys.RunAlone).
// Context: trap, files lock held; does not allocate.
func filePipe2(c *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return fdcalls.SysPipe2(a[0], int(int32(a[1])), !klock.Files.HeldBy(c))
}

// fileSocket is socket(2) under the files lock alone, held shared
// (fileCallShared) or, where no slot or descriptor was free beside
// others, exclusively (socket.NewSocket, which then answers
// fsys.RunAlone); notFileCall for a family other than AF_INET and
// AF_INET6 or with no network stack (the locked path says why).
// Context: trap, files lock held; does not allocate.
func fileSocket(c *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	if d := int(a[0]); d != unix.AF_INET && d != unix.AF_INET6 || socket.NetStackFD < 0 {
		return notFileCall
	}
	return socket.NewSocket(a, !klock.Files.HeldBy(c))
}

// fileSocketCall reports whether call nr is one of fileCalls' socket
// calls, which serve an Internet socket's descriptor alone
// (fileInetSocket). Context: any; does not allocate.
func fileSocketCall(nr uint64) bool {
	switch nr {
	case unix.SYS_SETSOCKOPT, unix.SYS_GETSOCKOPT, unix.SYS_GETSOCKNAME, unix.SYS_GETPEERNAME, unix.SYS_ACCEPT4, unix.SYS_CONNECT,
		unix.SYS_SENDTO, unix.SYS_RECVFROM, unix.SYS_SENDMSG, unix.SYS_RECVMSG:
		return true
	}
	return false
}

// recordsWakes reports whether call nr of fileCalls may record a
// wake-up (socket.TellStack, fdtab.Notify): epoll_ctl, setsockopt,
// accept4, socket, connect, sendto and sendmsg. Context: any; does not
// allocate.
func recordsWakes(nr uint64) bool {
	switch nr {
	case unix.SYS_EPOLL_CTL, unix.SYS_SETSOCKOPT, unix.SYS_ACCEPT4, unix.SYS_SOCKET, unix.SYS_CONNECT, unix.SYS_SENDTO, unix.SYS_SENDMSG:
		return true
	}
	return false
}

// fileInetSocket reports whether descriptor fd (a socket call's first
// argument) is an Internet socket's, its kind read in one load (opens
// and closes run beside): the locked path serves the others, the
// Unix-domain and netlink sockets first, and answers EBADF or ENOTSOCK.
// Context: trap, files lock held; does not allocate.
func fileInetSocket(fd uintptr) bool {
	w, _ := fdtab.LoadFlags(int(int32(fd)))
	return w.Kind() == fdtab.KindSocket
}

// fileFcntl is fcntl(2)'s flag commands under the files lock alone,
// held shared (fileCallShared) or exclusively (fdcalls.FcntlFlags, which
// answers fsys.RunAlone for an F_SETFL beside others that changes the
// description's flags); notFileCall for the others.
// Context: trap, files lock held; does not allocate.
func fileFcntl(c *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	if r, ok := fdcalls.FcntlFlags(int(int32(a[0])), int(int32(a[1])), a[2], !klock.Files.HeldBy(c)); ok {
		return r
	}
	return notFileCall
}

// fileEpollWait is epoll_wait(2) and epoll_pwait(2) under the files
// lock alone (fdcalls.EpollWaitNow), with the arguments as
// fdcalls.SysEpollWait reads them; epollMustWait where the call must
// wait (fileTrap then answers fileEpollWaits: fastepoll.go blocks it).
// Context: trap, files lock held; does not allocate.
func fileEpollWait(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	if n, done := fdcalls.EpollWaitNow(int(a[0]), a[1], int(a[2]), int(int32(a[3]))); done {
		return n
	}
	return epollMustWait
}

// epollMustWait is fileEpollWait's answer for a call that must wait: a
// value no call returns, as notFileCall (vfs.WouldBlock is -1 << 41).
const epollMustWait = int64(-1) << 42

// fileCallsLockFree counts the calls that fileTrap served without the
// files lock (fileCallUnlocked), for /proc/gometal/sched's
// file_call_lockfree line: one word for all CPUs, not a per-CPU event,
// whose 64 slots of bss would take hello's end past the page that keeps
// its smallest machine at 16 MiB.
var fileCallsLockFree atomic.Uint64

// fileCallUnlocked serves, without the files lock, the calls the Go
// runtime makes on every file it opens (fdtab's FlagWord): fcntl's flag
// commands on a file's descriptor (fdcalls.FcntlFlagsUnlocked) and an
// epoll_ctl that refuses a file (fdcalls.EpollCtlRefusedUnlocked). It
// reports false for the others, which take the files lock.
// Context: trap, no lock held; does not allocate.
func fileCallUnlocked(f *x86.TrapFrame) (int64, bool) {
	switch f.AX {
	case unix.SYS_FCNTL:
		return fdcalls.FcntlFlagsUnlocked(int(int32(f.DI)), int(int32(f.SI)), uintptr(f.DX))
	case unix.SYS_EPOLL_CTL:
		return -abi.EPERM, fdcalls.EpollCtlRefusedUnlocked(int(int32(f.DI)), int(int32(f.SI)), int(int32(f.DX)), uintptr(f.R10))
	}
	return 0, false
}

// notFileCall is a fileCalls handler's answer for a call that needs
// the kernel lock: the locked path serves it from the start.
const notFileCall = fdcalls.NotFileCall

// A fileCall is a call number and its handler under the files lock
// alone: fileCalls lists the few dozen pairs rather than index a table
// of every call number by it (3.5 KB of mostly empty entries in the
// image).
type fileCall struct {
	nr uint64
	fn sysHandler
}

// fileCallIndex returns nr's index in fileCalls, or -1.
// Context: any; does not allocate.
func fileCallIndex(nr uint64) int {
	for i := range fileCalls {
		if fileCalls[i].nr == nr {
			return i
		}
	}
	return -1
}

// fileOpenat is openat(2) under the files lock alone (fsys.OpenFile),
// with the arguments as doOpenat reads them (open and creat come as
// openat: legacyCalls), and notFileCall for an open that needs the
// kernel lock. Context: trap, files lock held; does not allocate.
func fileOpenat(c *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	if r, ok := fsys.OpenFile(int(int32(a[0])), a[1], int(int32(a[2])), uint32(a[3]), !klock.Files.HeldBy(c)); ok {
		return r
	}
	return notFileCall
}

// fileMkdirat is mkdirat(2) under the files lock, held exclusively (on
// the locked path too: the system call table's entry) or shared
// (fileCallShared; fsys.MkdirFile, which answers fsys.RunAlone where a
// mkdir beside others must run alone).
// Context: trap, files lock held; does not allocate.
func fileMkdirat(c *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return fsys.MkdirFile(int(int32(a[0])), a[1], uint32(a[2]), !klock.Files.HeldBy(c))
}

// fileUnlinkat is unlinkat(2) under the files lock, held exclusively
// (on the locked path too: the system call table's entry) or shared
// (fileCallShared; fsys.UnlinkFile, which answers fsys.RunAlone where an
// unlink beside others must run alone).
// Context: trap, files lock held; does not allocate.
func fileUnlinkat(c *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return fsys.UnlinkFile(int(int32(a[0])), a[1], int(int32(a[2])), !klock.Files.HeldBy(c))
}

// fileRenameat is renameat(2) under the files lock, held exclusively
// (on the locked path too: the system call table's entry) or shared
// (fileCallShared), as fileRenameat2 serves renameat2(2) with no flags.
// Context: trap, files lock held (on the locked path the kernel lock too).
func fileRenameat(c *percpu.CPU, t sched.TID, a sysArgs) int64 {
	a[4] = 0
	return fileRenameat2(c, t, a)
}

// fileRenameat2 is renameat2(2) under the files lock, held exclusively
// or shared (fsys.RenameFile, which answers fsys.RunAlone where a rename
// beside others must run alone).
// Context: trap, files lock held (on the locked path the kernel lock too).
func fileRenameat2(c *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return fsys.RenameFile(int(int32(a[0])), a[1], int(int32(a[2])), a[3], uint32(a[4]), !klock.Files.HeldBy(c))
}

// fileUtimensat is utimensat(2) under the files lock, held exclusively
// (on the locked path too: the system call table's entry) or shared
// (fileCallShared; fsys.UtimensatFile).
// Context: trap, files lock held; does not allocate.
func fileUtimensat(c *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return fsys.UtimensatFile(a, !klock.Files.HeldBy(c))
}

// fileTruncate is truncate(2) under the files lock, held exclusively
// (on the locked path too: the system call table's entry) or shared
// (fileCallShared; fsys.TruncateFile, which answers fsys.RunAlone where
// a truncation beside others must run alone).
// Context: trap, files lock held; does not allocate.
func fileTruncate(c *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return fsys.TruncateFile(a[0], int64(a[1]), !klock.Files.HeldBy(c))
}

// fileCallShared reports whether fileCalls' entry i, call nr, holds the
// files lock shared: its first sharedFileCalls. The first
// readOnlyFileCalls only read (statfs and fstatfs only while no closed
// description waits for its end and no file or directory waits on the
// orphan list, so that the free inodes and blocks they count are a call
// alone's, as on Linux, where an unlink or rmdir frees at once). Then
// every openat, mkdirat, mknodat, linkat, symlinkat, unlinkat,
// renameat, renameat2, truncate and utimensat, the chmod and chown
// calls, chdir, fchdir and umask (fsys.OpenFile, fsys.MkdirFile,
// fsys.SysMknodat, fsys.SysLinkat, fsys.SysSymlinkat, fsys.UnlinkFile,
// fsys.RenameFile, fsys.TruncateFile, fsys.UtimensatFile,
// fsys.SetAttrAt, fsys.SysFchownat, fsys.SetAttrFD, fsys.SetCwd,
// fdcalls.SysUmask): one that must run alone (a
// directory's rename, say) answers fsys.RunAlone having changed nothing,
// and fileTrap runs it again under the lock held exclusively; an open
// that must wait for the kernel lock (a FIFO) answers notFileCall. Then
// epoll_wait, epoll_pwait and epoll_ctl (fdcalls.EpollWaitNow,
// fdcalls.EpollCtl: the interest lists' own lock keeps two apart; what
// they read changes only under the files lock held exclusively, but for
// the eventfds' counters, read atomically, and the pipes' ring counts, a
// word each, read without the pipe's lock as Linux's pipe_poll reads
// them: fsys.PipeReadiness). Then fcntl's flag commands (fileFcntl:
// fdcalls.FcntlFlags swaps a descriptor's flag word; an F_SETFL that
// changes a description's flags or a socket's answers fsys.RunAlone),
// and fallocate (fdcalls.SysFallocate: its pages charged first, under
// the file's data lock; a large one answers fsys.RunAlone). Then pipe2
// (fdcalls.SysPipe2: its pipe, descriptions and descriptors claimed
// atomically), setsockopt, getsockopt, getsockname and getpeername
// of an Internet socket (the options and the names read under the
// socket's lock), and accept4 on an
// Internet listener (its queue under the listener's lock, the new
// descriptor claimed naming its socket: socket.AcceptNow), and socket(2)
// of an Internet socket (a slot whose old socket no call beside can
// meet, made under its lock; a full table answers fsys.RunAlone:
// socket.NewSocket), connect of an Internet socket (its port chosen
// under the ports' lock, its state changed under its lock:
// socket.ConnectNow), and sendto, recvfrom, sendmsg and recvmsg of an
// Internet datagram socket that never wait (the datagram queued or
// taken under the socket's lock, or put into a local receiver's ring
// under the receiver's: socket.SendtoNow and the like).
// Context: any; does not allocate.
func fileCallShared(i int, nr uint64) bool {
	if nr == unix.SYS_STATFS || nr == unix.SYS_FSTATFS {
		return !vfs.HasLeftovers() // else alone, which ends them first (vfs.Reclaim): the counts are those of a call alone
	}
	return i < sharedFileCalls
}

// fileNewfstatat and fileStatx are the stat calls under the files lock
// alone (stat and lstat come as newfstatat: legacyCalls): fsys's, with
// notFileCall where they would describe a descriptor by its kind
// (AT_EMPTY_PATH on a socket, say).
// Context: trap, files lock held; does not allocate.
func fileNewfstatat(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return statFile(fsys.SysNewfstatat(int(int32(a[0])), a[1], a[2], int(int32(a[3]))))
}

// fileStatx is statx(2) under the files lock alone. Context: trap, files lock held.
func fileStatx(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return statFile(fsys.SysStatx(int(int32(a[0])), a[1], int(int32(a[2])), a[4]))
}

// statFile turns fsys.StatDescriptor into notFileCall.
// Context: any; does not allocate.
func statFile(r int64) int64 {
	if r == fsys.StatDescriptor {
		return notFileCall
	}
	return r
}

// callLocks returns the locks system call nr takes: the files lock first
// for the calls fdcalls.FileCall or fileCalls serve, the kernel lock
// alone for those kernelOnlyCalls lists, both for the rest; a legacy
// path call those of its at form (legacyCalls).
// Context: any; does not allocate.
func callLocks(nr uint64) lockClass {
	nr = atCallNr(nr) // a legacy path call as its at form
	switch {
	case fdcalls.FileCallNr(nr) || fdcalls.StreamCallNr(nr) || fileCallIndex(nr) >= 0:
		return lockFilesFirst
	case kernelOnly(nr):
		return lockKernelOnly
	}
	return lockBoth
}

// kernelOnly reports whether system call nr takes the kernel lock alone
// (kernelOnlyCalls): doSyscall's question, without callLocks' look at the
// files-first calls, which userTrap asked already.
// Context: any; does not allocate.
func kernelOnly(nr uint64) bool {
	for _, k := range kernelOnlyCalls {
		if uint64(k) == nr {
			return true
		}
	}
	return false
}

// lockFiles takes the files lock on c, which holds the kernel lock, unless
// c holds it already: on every entry but the kernel-only ones, and where a
// kernel-only path reaches the file layer. unlockKernel releases it.
// Context: trap, kernel lock held, memory lock not held; does not
// allocate.
func lockFiles(c *percpu.CPU) {
	if !klock.Files.HeldBy(c) {
		klock.Files.Lock(c)
		klock.Files.SetHolder(klock.Kernel.Tag())
		vfs.Reclaim(false) // before the call frees or makes a file
	}
}

// fileAnswer is what fileTrap did with a system call.
type fileAnswer uint8

const (
	fileNotServed     fileAnswer = iota // the locked path serves the call, from the start
	fileServed                          // done: the same thread resumes
	fileServedWake                      // done, and a thread must be woken: the locked path acts on the records, without the call
	fileServedSIGPIPE                   // done with EPIPE, which raises SIGPIPE: the locked path sends it (and acts on the records), without the call
	fileEpollWaits                      // not served: an epoll_wait with nothing ready that must wait (fastepoll.go's epollBlock blocks it, or the locked path serves it from the start)
)

// fileTrap serves a lockFilesFirst system call (userTrap looks at the
// class first) under the files lock alone, and says whether it did: a
// call on a descriptor of a file or directory of the root file system
// (fdcalls.FileCall), a read or write of an eventfd, or of a pipe end or
// a stream Internet socket opened O_NONBLOCK, or the network stack's
// read of /dev/netctl and its data requests, or a write of the console's
// standard streams on the virtio console while a transmit slot is free
// (fdcalls.StreamCall; the queue's doorbell is rung once the files lock
// is released, since under emulation it is where the host takes the
// bytes), or another call of fileCalls. fcntl's flag commands on a
// file's descriptor and an epoll_ctl that refuses a file come first,
// without the files lock at all (fileCallUnlocked; those it declines
// take the lock below).
// An O_PATH descriptor where Linux's fdget does not find it is given a
// closed descriptor's number first (fdcalls.PathHide), so the handler
// answers as for a closed descriptor.
// The calls that only read the file layer hold the files lock shared
// (klock.Handle.RLock), beside each other on other CPUs: fstat, pread64,
// read, lseek and getdents64 of a file or directory and the first
// readOnlyFileCalls of fileCalls (the stat and access calls, readlinkat,
// getcwd, statfs). So do write and pwrite64 of a file, appending ones
// too, which change only its data, under the file's data lock, with
// their pages charged first (fdcalls.FileCall; a write whose pages do
// not fit goes to the locked path), every openat, which claims its
// description and descriptor atomically, the close of a file or
// directory, which frees its descriptor atomically (fdcalls.FileCall),
// fsync and fdatasync, which
// do nothing, the reads and writes of eventfds (by compare-and-swap of
// the counter), of non-blocking pipe ends (under the pipe's lock; a
// pipe write that would take a page charges it first, and answers
// fsys.RunAlone where the charge does not fit) and of non-blocking
// stream and datagram sockets (under the socket's lock:
// socket.SocketIO, which puts a datagram to a local address into its
// receiver's ring), the
// network stack's read of /dev/netctl, its data moves, its releases
// of closed sockets, its new connections and its connect outcomes where
// no thread waits (each socket's event, move, release and outcome under
// that socket's lock, a new connection under its listener's:
// socket.NetCtlRead, socket.NetCtlSharedIoctl), the writes of the console's standard streams (under
// their queue's word lock: console.VconWriteNow), the close of a pipe
// end but a FIFO's (which ends
// the end at once, under the pipe's lock, and leaves its description
// and a pipe with no end left for later: fdcalls.StreamCall), the close
// of an Internet socket (under the socket's lock; one a thread waits on,
// a listener with queued connections and one with other descriptors go
// to the locked path: socket.CloseFD),
// epoll_wait and epoll_pwait that do not wait and epoll_ctl (under the
// interest lists' lock), every mkdirat, mknodat, linkat, symlinkat,
// renameat, renameat2, truncate, utimensat and unlinkat, the chmod and
// chown calls, chdir, fchdir, umask, fcntl's flag commands, fallocate,
// pipe2 (fileCallShared; a pipe2 that finds a table full answers
// fsys.RunAlone), the option and name calls of an Internet socket
// (socket.SysSetsockopt and the like; another socket's go to the locked
// path: fileSocketCall) and its accept4 (socket.AcceptNow; a blocking
// one with no connection queued goes to the locked path to wait),
// socket(2) of an Internet socket (socket.NewSocket; one that finds no
// slot or descriptor free answers fsys.RunAlone), connect of a
// non-blocking Internet stream socket and of a datagram or raw one
// (socket.ConnectNow), sendto, recvfrom, sendmsg and recvmsg of a
// datagram one that never wait (socket.SendtoNow and the like), and
// ftruncate of a file (fdcalls.FileCall), which truncates under the
// file's data lock: a create, a mkdir, a rename or an unlink changes its
// directories under their data locks, which lookups take too,
// and answers fsys.RunAlone, having changed nothing, where only a call
// alone may go on (a directory's rename, say), which this function then runs
// again under the lock held exclusively (fsys.OpenFile,
// fsys.UnlinkFile). A description closed last, a file unlinked last and
// a directory removed beside others wait until each exclusive hold ends
// them first, or a shared hold that ends alone does (vfs.Reclaim): a
// call beside may still use them. So a program on one thread ends each
// at its call, and a close (but one that drops record locks, a FIFO's
// end's, an eventfd's, a Unix or netlink socket's, an Internet socket's
// that socket.CloseFD leaves to the locked path, or one whose descriptor
// changed before the hold: the locked path's) never holds the lock
// exclusively.
// read, write,
// lseek and getdents64 hold the description's offset lock too
// (vfs.Desc.LockOffset). Every other call holds it exclusively, which
// waits until the shared holders have left, so a shared holder never
// sees a directory moved (one removed beside it keeps its number and
// its ".." until no shared hold remains: fs.FS.Rmdir, vfs.Reclaim),
// nor a description or file go, nor
// another file's data or a directory's names change but through their
// data locks, and every TLB shootdown that removes or restricts areas
// is made with no shared holder either (a madvise's, which only gives
// pages back, is made beside them and frees the frames once their calls
// have ended: below).
// A descriptor that turned into another kind between the look without
// the lock and the shared hold goes to the locked path, unless it is one
// the shared hold serves too (a file's descriptor that became a pipe
// end's, say).
// It answers fileNotServed, having changed nothing, for a descriptor of
// another kind (a bad number included: the locked path answers EBADF;
// the kind is looked at once without the lock, then again under it), for
// a close that drops record locks (which wakes their waiters: the
// scheduler's work), for a console write that must wait for a slot
// (vfs.WouldBlock) and for a path call whose handler answers
// notFileCall. Nothing it runs blocks a thread, and the one wake it
// makes is an epoll_wait's, handed to a halted CPU (package fdcalls'
// handOffWaiter, through RecordsNeedKernel; the wake IPI sent once the
// files lock is released). What a stream
// call or an epoll_ctl changes for another thread is recorded
// (vfs.PipeChanged, fdtab.Notify, the sockets' tellProgram); when that
// wakes someone otherwise (fdcalls.RecordsNeedKernel) it
// answers fileServedWake, and userTrap goes on to the kernel lock's path
// (unless the one wake left is an epoll_wait's waiter on a busy CPU,
// which userTrap may queue there under the run-queue locks:
// epollWakeBusy, c.KickTaken kept for it)
// without running the call again: that path wakes the waiters
// (socketEvents, with the files lock held shared: socketEventsLocked)
// before the scheduler runs, as at the end of every locked
// call, and the waker's CPU sends the kick IPIs. Otherwise the same thread resumes, as on the lock-free
// paths; a signal sent meanwhile comes with its kick IPI, sent again to
// this CPU if a halt while waiting for the files lock took it
// (kickSelfIfTaken).
//
// The calls use the program's memory directly after faulting it in
// (vm.UserBytes), without the kernel lock: every call that unmaps or
// write-protects areas (mmap, munmap, mprotect over touched pages, or
// over pages a madvise beside gave back while a call that may have used
// them goes on: memcalls.zapOpen) takes the files lock too (lockBoth), a
// page fault only adds mappings, a
// memory call under the memory lock alone only changes areas that hold
// no page (kernel.memCall), and a madvise that gives pages back beside
// (memcalls.AdviseFree) frees their frames only once this call has
// ended; a page it gave back before the call's access faults a fresh one
// in from ring 0 (kernelDemandFault). c.InUser is cleared while the
// call runs and set again before the files lock is released, through
// tlb.EnterUser, which flushes this CPU's TLB if that madvise's
// shootdown (under the memory lock alone) passed it by. A
// demand fault that found no frame ends the program as on the locked
// path (stopIfOutOfMemory, under the kernel lock).
// Context: trap, no lock held; does not allocate.
//
// Not inlined: tools/trapcheck names it (the indirect calls through
// fileCalls, and a gate and root of TestGometalFileLockDomain).
//
//go:noinline
func fileTrap(c *percpu.CPU, f *x86.TrapFrame) fileAnswer {
	if r, ok := fileCallUnlocked(f); ok {
		f.AX = uint64(r)
		fileCallsLockFree.Add(1)
		return fileServed
	}
	a := sysArgs{uintptr(f.DI), uintptr(f.SI), uintptr(f.DX), uintptr(f.R10), uintptr(f.R8), uintptr(f.R9)}
	nr := atForm(f.AX, &a)               // a legacy path call as its at form
	i, shared := fileCallIndex(nr), true // every call on a descriptor is served beside others
	if i < 0 {
		d := fdtab.Get(int(a[0]))
		if d == nil || !(d.Kind == fdtab.KindFile && fdcalls.FileCallNr(nr) || fdcalls.StreamCallOn(nr, d, a[1])) {
			// A first look without the lock, so that the calls on
			// sockets, blocking pipes and the console do not take the
			// files lock twice: a descriptor that another CPU is
			// changing right now goes to the locked path, which serves
			// it as well.
			percpu.Count(c, percpu.EvFileCallLocked)
			return fileNotServed
		}
	} else {
		shared = fileCallShared(i, nr)
	}
	c.InUser.Store(false)
	c.KickTaken = false
	since, tag := uint64(0), klock.TrapTag(f) // the tag before f.AX holds the answer
	if shared {
		since = klock.Files.RLock(c)
	} else {
		klock.Files.Lock(c)
		klock.Files.SetHolder(tag)
		vfs.Reclaim(false) // before the call frees or makes a file
	}
	fdcalls.PathHide(nr, (*[6]uintptr)(&a)) // an O_PATH descriptor where Linux's fdget does not find it
	var ret int64
	stream, doorbell := false, -1
	for {
		ret = notFileCall // a descriptor changed before a run alone may match no branch
		if i >= 0 {
			if !fileSocketCall(nr) || fileInetSocket(a[0]) { // a socket call on another descriptor: the locked path
				ret = fileCalls[i].fn(c, sched.None, a) // no handler there uses the thread
			}
		} else if desc := fileDescriptor(int(a[0]), nr); desc >= 0 {
			d, pos := &vfs.Descs[desc], shared && fdcalls.MovesOffset(nr)
			if pos {
				d.LockOffset() // other CPUs may read through this description beside this one
			}
			ret = fdcalls.FileCall(nr, int(a[0]), desc, a[1], a[2], a[3], shared)
			if pos {
				d.UnlockOffset()
			}
		} else if d := fdtab.Get(int(a[0])); d != nil && fdcalls.StreamCallOn(nr, d, a[1]) {
			ret, stream = fdcalls.StreamCall(nr, int(a[0]), d, a[1], a[2], shared), true
			if d.Kind == fdtab.KindConsole && ret > 0 {
				doorbell = console.VconQueueOf(d.Stream) // rung once the lock is released
			}
		}
		if ret == vfs.WouldBlock {
			ret = notFileCall // a console write with no slot free, a pipe end's call after an F_SETFL beside cleared O_NONBLOCK, a blocking accept with none queued, a blocking stream connect, a blocking sendto, recvfrom, sendmsg or recvmsg, a connect outcome a thread waits for: the kernel lock's path
		}
		// A call beside others that must run alone runs again, alone
		// (fileCallShared, vfs.PipeWriteNow).
		if !shared || ret != fsys.RunAlone {
			break
		}
		klock.Files.Release(c, shared, since, tag)
		shared = false
		klock.Files.Lock(c)
		klock.Files.SetHolder(tag)
		vfs.Reclaim(false)
	}
	served, wake, oom := ret != notFileCall && ret != epollMustWait, false, false
	if served {
		f.AX = uint64(ret)
		percpu.Count(c, percpu.EvFileCallFiles)
		// The calls that record wake-ups: the stream calls, epoll_ctl,
		// setsockopt, accept4, socket, connect, sendto and sendmsg
		// (socket.TellStack).
		wake = (stream || recordsWakes(nr)) && fdcalls.RecordsNeedKernel(c)
		oom = vm.OutOfMemory()
	}
	if shared && vfs.HasLeftovers() {
		vfs.Reclaim(true) // if this hold is alone: a close's description ends here
	}
	if served && !oom { // back to ring 3, unless the program stops below: after every wait here (a shooter waits for a CPU in ring 3)
		tlb.EnterUser(c)
	}
	klock.Files.Release(c, shared, since, tag)
	thread.SendKicks(c) // an epoll waiter's hand-off's (fdcalls.RecordsNeedKernel)
	if !served {
		if ret == epollMustWait {
			return fileEpollWaits // counted by epollBlock
		}
		percpu.Count(c, percpu.EvFileCallLocked)
		return fileNotServed
	}
	if oom {
		stopAfterFileCall(c) // c stays out of ring 3: InUser stays clear
	}
	if doorbell >= 0 {
		console.VconQ[doorbell].RingDoorbell() // a console write's: the host's slow part, after the lock
	}
	if stream && ret == -abi.EPIPE && raisesSIGPIPE(nr, a) {
		c.KickTaken = false // the locked path runs the scheduler
		return fileServedSIGPIPE
	}
	if wake {
		if c.EpollBusy == 0 { // else userTrap may queue that waiter and return to ring 3 (epollWakeBusy)
			percpu.Count(c, percpu.EvFileCallWake)
			c.KickTaken = false // the locked path runs the scheduler: no kick to send again
		}
		return fileServedWake
	}
	kickSelfIfTaken(c)
	return fileServed
}

// kickSelfIfTaken sends c a kick IPI if one ended a halt while c waited
// for a lock (percpu.CPU.KickTaken): a signal sent to its thread or a
// thread queued for it meanwhile. The IPI stays pending while interrupts
// are off and enters the kernel again as soon as the thread is back in
// ring 3, where the locked path runs the scheduler.
// Context: trap, no lock held, interrupts off; does not allocate.
func kickSelfIfTaken(c *percpu.CPU) {
	if c.KickTaken {
		c.KickTaken = false
		percpu.Count(c, percpu.EvKickResent)
		clock.LAPIC.SendIPI(c.APICID, x86.VecKick)
	}
}

// stopAfterFileCall ends the program after a call under the files lock
// alone ran out of frames faulting in the program's memory
// (stopIfOutOfMemory), under the kernel lock, as the locked path does:
// fileTrap's, or an epoll_wait's second look under a run-queue lock
// (fastepoll.go's epollBlock).
// Context: trap, no lock held (the caller released the files lock,
// shared or exclusive, and any run-queue lock first); does not
// allocate; does not return.
//
// A gate of tools/trapcheck's TestGometalFileLockDomain (the path under
// the files lock alone goes no further without the kernel lock), so not
// inlined.
//
//go:noinline
func stopAfterFileCall(c *percpu.CPU) {
	klock.Kernel.Lock(c)
	stopIfOutOfMemory()
}

// fileDescriptor returns the description of descriptor fd, read with
// its kind in one load (fdtab.LoadFlags: beside a shared hold another
// CPU may close fd and give its number to another open), if fd is a
// descriptor of a file or directory of the root file system that system
// call nr, one of fdcalls.FileCall's, can use under the files lock
// alone, else -1: for a close, one whose file holds no record locks
// (dropping them wakes their waiters). Regular files and directories
// are never in an epoll instance (epoll_ctl refuses them with EPERM), so
// their close has nothing to tell epoll either. An O_PATH description
// where Linux's fdget does not find it (fdcalls.PathHide looked before a
// close and an open beside gave fd to it) goes to the locked path too. A
// description found so stays whole until the caller's hold ends
// (vfs.CloseShared).
// Context: trap, files lock held; does not allocate.
func fileDescriptor(fd int, nr uint64) int32 {
	w, ok := fdtab.LoadFlags(fd)
	if !ok || w.Kind() != fdtab.KindFile || !fdcalls.FileCallNr(nr) {
		return -1
	}
	d := vfs.DescAt(w.Desc())
	if d.Flags&unix.O_PATH != 0 && nr != unix.SYS_FSTAT && nr != unix.SYS_CLOSE ||
		nr == unix.SYS_CLOSE && vfs.Root.HasLocks(d.Ino) {
		return -1 // an O_PATH description since PathHide looked (a close and an open beside): the locked path's EBADF
	}
	return w.Desc()
}
