package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/memcalls"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/sysinfo"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// The system-call table: one entry per Linux x86-64 call number the kernel
// answers, with its handler, but for the legacy path calls (open, stat,
// mkdir, ...), which are served as their at forms (legacyCalls); how
// much of Linux's behaviour each call has and the note for the reader
// are in syscallSupport and syscallNotes, below the table, the legacy
// calls' included. A number with neither an entry nor a legacyCalls row
// returns ENOSYS and is logged by name once (unimplemented). docs/syscalls.md is generated from these
// tables (TestSyscallsDoc), so they and the document cannot drift apart.
//
// Handlers run in trap context. doSyscall calls them through the table's
// function values; tools/trapcheck reads the table out of the image and
// checks every handler as if it were called directly.

// support says how much of a call's Linux behaviour the kernel provides.
type support uint8

const (
	// supFull: the call behaves as on Linux for every argument a
	// single-process, single-user program can pass.
	supFull support = iota + 1
	// supPartial: the common uses behave as on Linux; the note says what
	// is missing and what error the rest gets.
	supPartial
	// supFixed: the call succeeds with a fixed answer that is true of
	// the machine (one process, user root), or is accepted without effect.
	supFixed
)

// sysArgs are a system call's six argument registers (abi.SysArgs). The
// handlers in other packages (fsys.SysLinkat, thread.SysClockGettime,
// ...) take them as abi.SysArgs, so that the table holds them directly:
// a one-line wrapper here per call cost the image about 200 bytes of
// code and function tables each (issue 16's budget).
type sysArgs = abi.SysArgs

// sysHandler runs one system call for thread t on CPU c and returns its
// result: a value, a negated errno, or blocked.
type sysHandler func(c *percpu.CPU, t sched.TID, a sysArgs) int64

// syscallTable is indexed by system call number: each call's handler,
// nil for ENOSYS. How much of Linux's behaviour each has is in
// syscallSupport, below the table.
var syscallTable = [...]sysHandler{
	// Files and descriptors.
	unix.SYS_READ:            doRead,
	unix.SYS_WRITE:           doWrite,
	unix.SYS_READV:           fdcalls.SysReadv,
	unix.SYS_WRITEV:          fdcalls.SysWritev,
	unix.SYS_PREAD64:         fdcalls.SysPread64,
	unix.SYS_PWRITE64:        fdcalls.SysPwrite64,
	unix.SYS_CLOSE:           doClose,
	unix.SYS_LSEEK:           fdcalls.SysLseek,
	unix.SYS_FCNTL:           fdcalls.SysFcntl,
	unix.SYS_IOCTL:           fdcalls.SysIoctl,
	unix.SYS_DUP:             doDup,
	unix.SYS_DUP2:            doDup3,
	unix.SYS_DUP3:            doDup3,
	unix.SYS_PIPE2:           doPipe2,
	unix.SYS_FSTAT:           doFstat,
	unix.SYS_NEWFSTATAT:      doNewfstatat,
	unix.SYS_STATX:           doStatx,
	unix.SYS_GETDENTS64:      fdcalls.SysGetdents64,
	unix.SYS_FTRUNCATE:       fdcalls.SysFtruncate,
	unix.SYS_TRUNCATE:        fileTruncate,
	unix.SYS_FALLOCATE:       fdcalls.SysFallocate,
	unix.SYS_FSYNC:           fdcalls.SysFsync,
	unix.SYS_FDATASYNC:       fdcalls.SysFsync,
	unix.SYS_SYNCFS:          fdcalls.SysFsync,
	unix.SYS_FADVISE64:       fdcalls.SysFadvise,
	unix.SYS_SYNC:            doFixed,
	unix.SYS_FSTATFS:         fdcalls.SysFstatfs,
	unix.SYS_STATFS:          fsys.SysStatfsPath,
	unix.SYS_FCHMOD:          fdcalls.SysFchmod,
	unix.SYS_FCHOWN:          fdcalls.SysFchown,
	unix.SYS_FCHDIR:          fsys.SysFchdir,
	unix.SYS_FLOCK:           fdcalls.SysFlock,
	unix.SYS_MSYNC:           memcalls.Msync,
	unix.SYS_EVENTFD2:        fdcalls.SysEventfd,
	unix.SYS_COPY_FILE_RANGE: doNoFastCopy,
	unix.SYS_SPLICE:          doNoFastCopy,
	unix.SYS_TEE:             doNoFastCopy,
	unix.SYS_SENDFILE:        fsys.SysSendfile,

	// Paths.
	unix.SYS_OPENAT:     doOpenat,
	unix.SYS_FACCESSAT:  doFaccessat,
	unix.SYS_FACCESSAT2: doFaccessat2,
	unix.SYS_READLINKAT: fsys.SysReadlinkat,
	unix.SYS_MKDIRAT:    fileMkdirat,
	unix.SYS_MKNODAT:    fsys.SysMknodat,
	unix.SYS_UNLINKAT:   fileUnlinkat,
	unix.SYS_RENAMEAT:   fileRenameat,
	unix.SYS_RENAMEAT2:  fileRenameat2,
	unix.SYS_LINKAT:     fsys.SysLinkat,
	unix.SYS_SYMLINKAT:  fsys.SysSymlinkat,
	unix.SYS_FCHMODAT:   doFchmodat,
	unix.SYS_FCHMODAT2:  doFchmodat2,
	unix.SYS_FCHOWNAT:   fsys.SysFchownat,
	unix.SYS_UTIMENSAT:  fileUtimensat,
	unix.SYS_GETCWD:     fsys.SysGetcwd,
	unix.SYS_CHDIR:      fsys.SysChdir,
	unix.SYS_UMASK:      fdcalls.SysUmask,

	// Memory.
	unix.SYS_MMAP:     memcalls.Mmap,
	unix.SYS_MUNMAP:   memcalls.Munmap,
	unix.SYS_MPROTECT: memcalls.Mprotect,
	unix.SYS_MADVISE:  memcalls.Madvise,

	// Threads, the process and scheduling.
	unix.SYS_CLONE:             thread.SysClone,
	unix.SYS_EXIT:              doExit,
	unix.SYS_EXIT_GROUP:        doExitGroup,
	unix.SYS_FUTEX:             doFutex,
	unix.SYS_SCHED_YIELD:       doSchedYield,
	unix.SYS_SCHED_GETAFFINITY: thread.SysSchedGetaffinity,
	unix.SYS_SCHED_SETAFFINITY: doFixed,
	unix.SYS_PRCTL:             doFixed,
	unix.SYS_ARCH_PRCTL:        thread.SysArchPrctl,
	unix.SYS_GETPID:            doFixed,
	unix.SYS_GETPPID:           doFixed,
	unix.SYS_GETTID:            doFixed,
	unix.SYS_GETUID:            doFixed,
	unix.SYS_GETEUID:           doFixed,
	unix.SYS_GETGID:            doFixed,
	unix.SYS_GETEGID:           doFixed,
	unix.SYS_GETGROUPS:         doFixed,
	unix.SYS_WAIT4:             doFixed,
	unix.SYS_WAITID:            doFixed,
	unix.SYS_UNAME:             sysinfo.SysUname,
	unix.SYS_GETRANDOM:         sysinfo.SysGetrandom,
	unix.SYS_PRLIMIT64:         doPrlimit64,
	unix.SYS_GETRLIMIT:         doPrlimit64,

	// Time and timers.
	unix.SYS_NANOSLEEP:       doNanosleep,
	unix.SYS_CLOCK_NANOSLEEP: thread.SysClockNanosleep,
	unix.SYS_CLOCK_GETTIME:   thread.SysClockGettime,
	unix.SYS_CLOCK_GETRES:    thread.SysClockGetres,
	unix.SYS_GETTIMEOFDAY:    thread.SysGettimeofday,
	unix.SYS_TIMER_CREATE:    thread.SysTimerCreate,
	unix.SYS_TIMER_SETTIME:   thread.SysTimerSettime,
	unix.SYS_TIMER_DELETE:    thread.SysTimerDelete,
	unix.SYS_SETITIMER:       thread.SysSetitimer,

	// Signals.
	unix.SYS_RT_SIGACTION:   thread.SysRtSigaction,
	unix.SYS_RT_SIGPROCMASK: thread.SysRtSigprocmask,
	unix.SYS_RT_SIGRETURN:   doRtSigreturn,
	unix.SYS_SIGALTSTACK:    thread.SysSigaltstack,
	unix.SYS_KILL:           thread.SysKill,
	unix.SYS_TGKILL:         doTgkill,
	unix.SYS_TKILL:          doTgkill,

	// epoll.
	unix.SYS_EPOLL_CREATE:  doEpollCreate,
	unix.SYS_EPOLL_CREATE1: fdcalls.SysEpollCreate,
	unix.SYS_EPOLL_CTL:     fdcalls.EpollCtl,
	unix.SYS_EPOLL_WAIT:    fdcalls.SysEpollWait,
	unix.SYS_EPOLL_PWAIT:   fdcalls.SysEpollWait,

	// Sockets: TCP and UDP over IPv4 through gVisor's netstack. Calls on
	// Unix-domain and netlink sockets go to their own code before the
	// table (doSyscall).
	unix.SYS_SOCKET:      socket.SysSocket,
	unix.SYS_SOCKETPAIR:  doSocketpair,
	unix.SYS_BIND:        socket.SysBind,
	unix.SYS_LISTEN:      socket.SysListen,
	unix.SYS_CONNECT:     socket.SysConnect,
	unix.SYS_ACCEPT4:     socket.SysAccept,
	unix.SYS_SHUTDOWN:    socket.SysShutdown,
	unix.SYS_GETSOCKNAME: socket.SysGetsockname,
	unix.SYS_GETPEERNAME: socket.SysGetpeername,
	unix.SYS_SETSOCKOPT:  socket.SysSetsockopt,
	unix.SYS_GETSOCKOPT:  socket.SysGetsockopt,
	unix.SYS_SENDTO:      socket.SysSendto,
	unix.SYS_RECVFROM:    socket.SysRecvfrom,
	unix.SYS_SENDMSG:     socket.SysSendmsg,
	unix.SYS_RECVMSG:     socket.SysRecvmsg,
}

// syscallSupport says, for each call syscallTable answers (a legacy path
// call through its at form's handler: legacyCalls), how much of its
// Linux behaviour the kernel provides (TestSyscallTable checks that the
// two name the same calls); docs/syscalls.md shows it
// (TestSyscallsDoc). No kernel code reads it, so the linker leaves it out
// of the image, and the table the kernel dispatches through holds a
// handler per call and nothing else (3.6 KB less image).
var syscallSupport = [...]support{
	// Files and descriptors.
	unix.SYS_READ:            supFull,
	unix.SYS_WRITE:           supFull,
	unix.SYS_READV:           supFull,
	unix.SYS_WRITEV:          supFull,
	unix.SYS_PREAD64:         supFull,
	unix.SYS_PWRITE64:        supFull,
	unix.SYS_CLOSE:           supFull,
	unix.SYS_LSEEK:           supFull,
	unix.SYS_FCNTL:           supFull,
	unix.SYS_IOCTL:           supPartial,
	unix.SYS_DUP:             supFull,
	unix.SYS_DUP2:            supFull,
	unix.SYS_DUP3:            supFull,
	unix.SYS_PIPE:            supFull,
	unix.SYS_PIPE2:           supFull,
	unix.SYS_FSTAT:           supFull,
	unix.SYS_NEWFSTATAT:      supFull,
	unix.SYS_STAT:            supFull,
	unix.SYS_LSTAT:           supFull,
	unix.SYS_STATX:           supFull,
	unix.SYS_GETDENTS64:      supFull,
	unix.SYS_FTRUNCATE:       supFull,
	unix.SYS_TRUNCATE:        supFull,
	unix.SYS_FALLOCATE:       supPartial,
	unix.SYS_FSYNC:           supFixed,
	unix.SYS_FDATASYNC:       supFixed,
	unix.SYS_SYNCFS:          supFixed,
	unix.SYS_FADVISE64:       supFixed,
	unix.SYS_SYNC:            supFixed,
	unix.SYS_FSTATFS:         supFull,
	unix.SYS_STATFS:          supFull,
	unix.SYS_FCHMOD:          supFull,
	unix.SYS_FCHOWN:          supFull,
	unix.SYS_FCHDIR:          supFull,
	unix.SYS_FLOCK:           supFull,
	unix.SYS_MSYNC:           supFull,
	unix.SYS_EVENTFD2:        supPartial,
	unix.SYS_COPY_FILE_RANGE: supFixed,
	unix.SYS_SPLICE:          supFixed,
	unix.SYS_TEE:             supFixed,
	unix.SYS_SENDFILE:        supPartial,

	// Paths.
	unix.SYS_OPEN:       supFull,
	unix.SYS_OPENAT:     supFull,
	unix.SYS_CREAT:      supFull,
	unix.SYS_ACCESS:     supFull,
	unix.SYS_FACCESSAT:  supFull,
	unix.SYS_FACCESSAT2: supFull,
	unix.SYS_READLINK:   supFull,
	unix.SYS_READLINKAT: supFull,
	unix.SYS_MKDIR:      supFull,
	unix.SYS_MKDIRAT:    supFull,
	unix.SYS_MKNOD:      supPartial,
	unix.SYS_MKNODAT:    supPartial,
	unix.SYS_UNLINK:     supFull,
	unix.SYS_UNLINKAT:   supFull,
	unix.SYS_RMDIR:      supFull,
	unix.SYS_RENAME:     supFull,
	unix.SYS_RENAMEAT:   supFull,
	unix.SYS_RENAMEAT2:  supFull,
	unix.SYS_LINK:       supFull,
	unix.SYS_LINKAT:     supFull,
	unix.SYS_SYMLINK:    supFull,
	unix.SYS_SYMLINKAT:  supFull,
	unix.SYS_CHMOD:      supFull,
	unix.SYS_FCHMODAT:   supFull,
	unix.SYS_FCHMODAT2:  supFull,
	unix.SYS_CHOWN:      supFull,
	unix.SYS_LCHOWN:     supFull,
	unix.SYS_FCHOWNAT:   supFull,
	unix.SYS_UTIMENSAT:  supFull,
	unix.SYS_GETCWD:     supFull,
	unix.SYS_CHDIR:      supFull,
	unix.SYS_UMASK:      supFull,

	// Memory.
	unix.SYS_MMAP:     supFull,
	unix.SYS_MUNMAP:   supFull,
	unix.SYS_MPROTECT: supFull,
	unix.SYS_MADVISE:  supPartial,

	// Threads, the process and scheduling.
	unix.SYS_CLONE:             supPartial,
	unix.SYS_EXIT:              supFull,
	unix.SYS_EXIT_GROUP:        supFull,
	unix.SYS_FUTEX:             supPartial,
	unix.SYS_SCHED_YIELD:       supFull,
	unix.SYS_SCHED_GETAFFINITY: supFull,
	unix.SYS_SCHED_SETAFFINITY: supFixed,
	unix.SYS_PRCTL:             supFixed,
	unix.SYS_ARCH_PRCTL:        supPartial,
	unix.SYS_GETPID:            supFixed,
	unix.SYS_GETPPID:           supFixed,
	unix.SYS_GETTID:            supFull,
	unix.SYS_GETUID:            supFixed,
	unix.SYS_GETEUID:           supFixed,
	unix.SYS_GETGID:            supFixed,
	unix.SYS_GETEGID:           supFixed,
	unix.SYS_GETGROUPS:         supFixed,
	unix.SYS_WAIT4:             supFixed,
	unix.SYS_WAITID:            supFixed,
	unix.SYS_UNAME:             supFull,
	unix.SYS_GETRANDOM:         supFull,
	unix.SYS_PRLIMIT64:         supPartial,
	unix.SYS_GETRLIMIT:         supFull,

	// Time and timers.
	unix.SYS_NANOSLEEP:       supFull,
	unix.SYS_CLOCK_NANOSLEEP: supFull,
	unix.SYS_CLOCK_GETTIME:   supFull,
	unix.SYS_CLOCK_GETRES:    supFull,
	unix.SYS_GETTIMEOFDAY:    supFull,
	unix.SYS_TIMER_CREATE:    supPartial,
	unix.SYS_TIMER_SETTIME:   supFull,
	unix.SYS_TIMER_DELETE:    supFull,
	unix.SYS_SETITIMER:       supPartial,

	// Signals.
	unix.SYS_RT_SIGACTION:   supFull,
	unix.SYS_RT_SIGPROCMASK: supFull,
	unix.SYS_RT_SIGRETURN:   supFull,
	unix.SYS_SIGALTSTACK:    supFull,
	unix.SYS_KILL:           supFull,
	unix.SYS_TGKILL:         supFull,
	unix.SYS_TKILL:          supFull,

	// epoll.
	unix.SYS_EPOLL_CREATE:  supFull,
	unix.SYS_EPOLL_CREATE1: supFull,
	unix.SYS_EPOLL_CTL:     supFull,
	unix.SYS_EPOLL_WAIT:    supFull,
	unix.SYS_EPOLL_PWAIT:   supPartial,

	// Sockets: TCP and UDP over IPv4 through gVisor's netstack. Calls on
	// Unix-domain and netlink sockets go to their own code before the
	// table (doSyscall).
	unix.SYS_SOCKET:      supPartial,
	unix.SYS_SOCKETPAIR:  supPartial,
	unix.SYS_BIND:        supFull,
	unix.SYS_LISTEN:      supFull,
	unix.SYS_CONNECT:     supFull,
	unix.SYS_ACCEPT:      supFull,
	unix.SYS_ACCEPT4:     supFull,
	unix.SYS_SHUTDOWN:    supFull,
	unix.SYS_GETSOCKNAME: supFull,
	unix.SYS_GETPEERNAME: supFull,
	unix.SYS_SETSOCKOPT:  supPartial,
	unix.SYS_GETSOCKOPT:  supPartial,
	unix.SYS_SENDTO:      supFull,
	unix.SYS_RECVFROM:    supFull,
	unix.SYS_SENDMSG:     supPartial,
	unix.SYS_RECVMSG:     supPartial,
}

// syscallNotes holds the notes for the reader: for every call whose
// support is partial or fixed, what differs from Linux (TestSyscallTable),
// and a remark on some others; docs/syscalls.md shows them beside the table
// (TestSyscallsDoc). No kernel code reads them, so the linker leaves them
// out of the image (about 10 KB: docs/performance.md, "Image size").
var syscallNotes = [...]string{
	unix.SYS_FCNTL:             "F_DUPFD*, F_GETFD/F_SETFD, F_GETFL/F_SETFL, F_SETLK/F_SETLKW/F_GETLK and the OFD locks",
	unix.SYS_IOCTL:             "SIOCINQ (FIONREAD) on pipes and sockets, and the requests of /dev/irq and the network control file; others ENOTTY: there are no terminals",
	unix.SYS_FALLOCATE:         "mode 0 and FALLOC_FL_KEEP_SIZE; other modes EOPNOTSUPP",
	unix.SYS_FSYNC:             "memory is the only storage: succeeds on any open descriptor",
	unix.SYS_FDATASYNC:         "as fsync",
	unix.SYS_SYNCFS:            "as fsync",
	unix.SYS_FADVISE64:         "checks its arguments as Linux's (EBADF, ESPIPE for a pipe, EINVAL for a negative length or an unknown advice) and succeeds: the file system is memory, as Linux's tmpfs, whose advice changes nothing",
	unix.SYS_SYNC:              "nothing to write back",
	unix.SYS_COPY_FILE_RANGE:   "after Linux's first checks (a bad descriptor EBADF, a bad offset pointer EFAULT, flags EINVAL), EINVAL, as Linux for files it cannot copy in the kernel: Go falls back to read and write",
	unix.SYS_SPLICE:            "after Linux's first checks (a length of 0 answers 0, bad flags EINVAL, a bad descriptor EBADF), EINVAL: Go falls back to read and write",
	unix.SYS_TEE:               "after Linux's first checks (bad flags EINVAL, a length of 0 answers 0, a bad descriptor EBADF), EINVAL: Go falls back to read and write",
	unix.SYS_SENDFILE:          "from a regular file to sockets, pipes, files and devices; other sources EINVAL",
	unix.SYS_MKNOD:             "regular files, FIFOs and sockets' files; device nodes EPERM",
	unix.SYS_MKNODAT:           "regular files, FIFOs and sockets' files; device nodes EPERM",
	unix.SYS_MMAP:              "anonymous, file-backed (MAP_PRIVATE copies, MAP_SHARED maps the file's pages) and /dev/mem",
	unix.SYS_MADVISE:           "MADV_DONTNEED, MADV_FREE and MADV_DONTNEED_LOCKED free the pages; the other advice Linux knows is accepted without effect on a mapped range (ENOMEM otherwise); unknown advice, MADV_REMOVE, MADV_HWPOISON, MADV_SOFT_OFFLINE and the guard regions answer EINVAL",
	unix.SYS_CLONE:             "threads only (CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD); fork and vfork get EINVAL: there is one process",
	unix.SYS_EXIT_GROUP:        "drains the console and sockets, then powers the machine off with the status",
	unix.SYS_FUTEX:             "FUTEX_WAIT, FUTEX_WAKE and their bitset forms: what the Go runtime uses (a bitset of 0 is EINVAL, as on Linux; any other matches every waiter); errors in Linux's order: the timeout, the bitset, the address's alignment, the word (examples/badcalls); others ENOSYS",
	unix.SYS_SCHED_GETAFFINITY: "every CPU the kernel started",
	unix.SYS_SCHED_SETAFFINITY: "accepted without effect",
	unix.SYS_PRCTL:             "accepted without effect",
	unix.SYS_ARCH_PRCTL:        "ARCH_SET_FS, ARCH_GET_FS and ARCH_GET_GS; others EINVAL",
	unix.SYS_GETPID:            "1: the program is init",
	unix.SYS_GETPPID:           "0: init has no parent",
	unix.SYS_GETUID:            "0: the program runs as root",
	unix.SYS_GETEUID:           "0: the program runs as root",
	unix.SYS_GETGID:            "0: the program runs as root",
	unix.SYS_GETEGID:           "0: the program runs as root",
	unix.SYS_GETGROUPS:         "0: in no supplementary group",
	unix.SYS_WAIT4:             "ECHILD: the program is the only process",
	unix.SYS_WAITID:            "ECHILD: the program is the only process",
	unix.SYS_PRLIMIT64:         "reads every limit; RLIMIT_NOFILE can be lowered and raised up to the descriptor table, other new limits are accepted and ignored",
	unix.SYS_TIMER_CREATE:      "the CPU-time clocks with SIGEV_SIGNAL and SIGEV_THREAD_ID (the runtime's profiler); wall-clock timers EINVAL",
	unix.SYS_SETITIMER:         "ITIMER_PROF; others EINVAL",
	unix.SYS_KILL:              "pid 1, 0 or -1 (the program itself); others ESRCH",
	unix.SYS_EPOLL_PWAIT:       "the signal mask argument is ignored",
	unix.SYS_EVENTFD2:          "on an eventfd opened without EFD_NONBLOCK, a read of an empty counter and a write that would overflow it answer EAGAIN instead of waiting; dup refuses an eventfd (EINVAL)",
	unix.SYS_SOCKET:            "AF_INET and AF_INET6 TCP, UDP and raw IP sockets (dual-stack AF_INET6 with IPv4-mapped addresses unless IPV6_V6ONLY; IPPROTO_MPTCP EPROTONOSUPPORT, as a kernel without MPTCP), AF_UNIX stream, datagram and seqpacket sockets, AF_NETLINK NETLINK_ROUTE (link and address dumps); other families EAFNOSUPPORT",
	unix.SYS_SOCKETPAIR:        "AF_UNIX (served by the Unix-domain socket code); AF_INET EOPNOTSUPP, others EAFNOSUPPORT",
	unix.SYS_SETSOCKOPT:        "the options the standard library sets; others ENOPROTOOPT",
	unix.SYS_GETSOCKOPT:        "the options the standard library reads; others ENOPROTOOPT",
	unix.SYS_SENDMSG:           "control messages: SCM_RIGHTS and SCM_CREDENTIALS on AF_UNIX sockets; ignored on TCP and UDP",
	unix.SYS_RECVMSG:           "control messages: SCM_RIGHTS and SCM_CREDENTIALS on AF_UNIX sockets; none on TCP and UDP",
}

// The handlers unpack the argument registers for the implementations in
// the subsystems' files. None allocates.

// doWrite serves write(2). Context: trap, kernel lock held.
func doWrite(_ *percpu.CPU, t sched.TID, a sysArgs) int64 {
	if kfaultArmed {
		injectKernelFault() // kfault=1: a kernel crash for the tests
	}
	return fdcalls.SysWrite(t, int(a[0]), a[1], a[2])
}

// doDup serves dup(2). Context: trap, kernel lock held.
func doDup(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return fdcalls.SysDupFrom(int(a[0]), 0, false)
}

// doDup3 serves dup3(2) and dup2(2), which takes no flags and returns
// newfd when it is oldfd; which call it is is the thread's RestartNr
// (doFixed). Context: trap, kernel lock held.
func doDup3(_ *percpu.CPU, t sched.TID, a sysArgs) int64 {
	dup3, flags := threadtab.Threads[t].RestartNr == unix.SYS_DUP3, 0
	if dup3 {
		flags = int(int32(a[2]))
	}
	return fdcalls.SysDup3(int(a[0]), int(a[1]), flags, dup3)
}

// doPipe2 serves pipe2(2). Context: trap, kernel lock held.
func doPipe2(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return fdcalls.SysPipe2(a[0], int(int32(a[1])), false)
}

// doNoFastCopy serves copy_file_range(2), splice(2) and tee(2)
// (fdcalls.SysNoFastCopy), which call it is the thread's RestartNr,
// which doSyscall sets to the call's number before the handler runs.
// Context: trap, kernel lock held.
func doNoFastCopy(_ *percpu.CPU, t sched.TID, a sysArgs) int64 {
	return fdcalls.SysNoFastCopy(threadtab.Threads[t].RestartNr, (*[6]uintptr)(&a))
}

// doFaccessat serves faccessat(2). Context: trap, files lock held (fileCalls; on the locked path the kernel lock too).
func doFaccessat(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return fsys.SysFaccessat(int(int32(a[0])), a[1], int(int32(a[2])), 0)
}

// doFaccessat2 serves faccessat2(2). Context: trap, files lock held (fileCalls; on the locked path the kernel lock too).
func doFaccessat2(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return fsys.SysFaccessat(int(int32(a[0])), a[1], int(int32(a[2])), int(int32(a[3])))
}

// doFchmodat serves fchmodat(2), under the files lock held exclusively
// or shared (this CPU not its exclusive holder).
// Context: trap, files lock held (fileCalls; on the locked path the kernel lock too).
func doFchmodat(c *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return fsys.SetAttrAt(c, int(int32(a[0])), a[1], 0, uint32(a[2])&0o7777, -1, -1)
}

// doFchmodat2 serves fchmodat2(2), as doFchmodat.
// Context: trap, files lock held (fileCalls; on the locked path the kernel lock too).
func doFchmodat2(c *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	return fsys.SetAttrAt(c, int(int32(a[0])), a[1], int(int32(a[3])), uint32(a[2])&0o7777, -1, -1)
}

// doExit serves exit(2); the last thread's exit ends the program.
// Context: trap, kernel lock held.
func doExit(_ *percpu.CPU, t sched.TID, _ sysArgs) int64 {
	if thread.Exit(t) {
		shutdown(0)
	}
	return blocked
}

// doFutex serves futex(2); a timed FUTEX_WAIT whose nap was cut short
// (fastfutex.go) waits until the deadline its timeout gave there.
// Context: trap, kernel lock held.
func doFutex(c *percpu.CPU, t sched.TID, a sysArgs) int64 {
	return thread.SysFutex(t, a[0], int(a[1]), uint32(a[2]), a[3], uint32(a[5]), napDeadline(c, t))
}

// doSchedYield serves sched_yield(2). Context: trap, kernel lock held.
func doSchedYield(c *percpu.CPU, _ sched.TID, _ sysArgs) int64 {
	threadtab.Sched.Yield(c.ID)
	return 0
}

// doFixed serves the calls whose answer needs neither their arguments
// nor the kernel's state beyond the caller's TID: getpid 1 (the program
// is process 1), gettid the caller's Linux TID, wait4 and waitid ECHILD
// (no child), and 0 for the rest: sync, sched_setaffinity and prctl
// (accepted without effect; fastTrap answers the last two the same way
// first, without the kernel lock), getppid, getuid, geteuid, getgid,
// getegid and getgroups. Which call it is is the thread's RestartNr,
// which doSyscall sets to the call's number before the handler runs:
// one handler rather than one a call (about 150 bytes of the image's
// function tables each, issue 16's budget).
// Context: trap, kernel lock held.
func doFixed(_ *percpu.CPU, t sched.TID, _ sysArgs) int64 {
	var ret int64
	switch threadtab.Threads[t].RestartNr {
	case unix.SYS_GETPID:
		ret = 1
	case unix.SYS_GETTID:
		ret = threadtab.LinuxTID(t)
	case unix.SYS_WAIT4, unix.SYS_WAITID:
		ret = -int64(unix.ECHILD)
	}
	return ret
}

// doPrlimit64 serves prlimit64(2) and getrlimit(2), which is prlimit64
// of the calling process with no new limit; which call it is is the
// thread's RestartNr (doFixed). Context: trap, kernel lock held.
func doPrlimit64(_ *percpu.CPU, t sched.TID, a sysArgs) int64 {
	if threadtab.Threads[t].RestartNr == unix.SYS_GETRLIMIT {
		a = sysArgs{0, a[0], 0, a[1]}
	}
	return sysinfo.SysPrlimit(int(a[0]), int(a[1]), a[2], a[3])
}

// doNanosleep serves nanosleep(2); a call whose nap was cut short
// (fastsleep.go) sleeps until the nap's deadline, and if that has passed
// it yields all the same: what cut the nap may be a thread queued on this
// CPU, which must not wait for the sleeper's slice to end.
// Context: trap, kernel lock held.
func doNanosleep(c *percpu.CPU, t sched.TID, a sysArgs) int64 {
	if d := napDeadline(c, t); d != 0 {
		threadtab.Sched.Yield(c.ID) // a switch only if a thread is queued here
		return thread.SleepReporting(t, d, a[1])
	}
	return thread.SysNanosleep(t, a[0], a[1], false, 0)
}

// doRtSigreturn serves rt_sigreturn(2), ending the program when the
// frame is bad (thread.RtSigreturn). Context: trap, kernel lock held.
func doRtSigreturn(_ *percpu.CPU, t sched.TID, _ sysArgs) int64 {
	if what, addr := thread.RtSigreturn(t); what != "" {
		programFault(&threadtab.Threads[t].Regs, what, addr)
	}
	return keepRegs
}

// keepRegs tells doSyscall that the handler set the registers itself.
const keepRegs = blocked

// doTgkill serves tgkill(2) and tkill(2), which names no thread group
// and so has its arguments one place earlier; which call it is is the
// thread's RestartNr (doFixed). Context: trap, kernel lock held.
func doTgkill(c *percpu.CPU, t sched.TID, a sysArgs) int64 {
	tgkill := threadtab.Threads[t].RestartNr == unix.SYS_TGKILL
	if !tgkill {
		a = sysArgs{0, a[0], a[1]}
	}
	ret := int64(0)
	if !markedKill(c, int(int32(a[1])), int(int32(a[2]))) {
		ret = thread.SysTgkill(c, tgkill, int(int32(a[0])), int(int32(a[1])), int(int32(a[2])))
	}
	return ret
}

// markedKill finishes a tgkill or tkill whose lock-free attempt marked
// sig pending on the thread with Linux TID tid and then found it blocked
// (c.KillMarked, set by fastKill for this call): the signal must not be
// marked again, only the thread's wait ended (thread.NoticeSignal). It
// reports whether it did; false leaves the call to SysTgkill.
// Context: trap, kernel lock held; does not allocate.
func markedKill(c *percpu.CPU, tid, sig int) bool {
	if !c.KillMarked {
		return false
	}
	c.KillMarked = false
	thread.NoticeSignal(sched.TID(tid-1), sig) // fastKill checked both
	return true
}

// doEpollCreate serves epoll_create(2). Context: trap, kernel lock held.
func doEpollCreate(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	if int(a[0]) <= 0 {
		return -abi.EINVAL
	}
	return fdcalls.SysEpollCreate(nil, sched.None, sysArgs{}) // epoll_create1(0)
}

// doSocketpair serves socketpair(2). Context: trap, kernel lock held.
func doSocketpair(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	if a[0] == unix.AF_INET {
		return -abi.EOPNOTSUPP // TCP and UDP sockets come alone
	}
	return -abi.EAFNOSUPPORT
}

// doRead serves read(2). Context: trap, kernel lock held.
func doRead(_ *percpu.CPU, t sched.TID, a sysArgs) int64 {
	return fdcalls.SysRead(t, int(a[0]), a[1], a[2])
}

// doClose serves close(2). Context: trap, kernel lock held.
func doClose(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 { return fdcalls.SysClose(int(a[0])) }

// doFstat serves fstat(2). Context: trap, kernel lock held.
func doFstat(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 { return fdcalls.SysFstat(int(a[0]), a[1]) }
