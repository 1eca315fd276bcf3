package kernel

import (
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Errno values, negated as system calls return them.
const (
	_EPERM        = int64(unix.EPERM)
	_ENOENT       = int64(unix.ENOENT)
	_EINTR        = int64(unix.EINTR)
	_EBADF        = int64(unix.EBADF)
	_EAGAIN       = int64(unix.EAGAIN)
	_ENOMEM       = int64(unix.ENOMEM)
	_EFAULT       = int64(unix.EFAULT)
	_EEXIST       = int64(unix.EEXIST)
	_EINVAL       = int64(unix.EINVAL)
	_EMFILE       = int64(unix.EMFILE)
	_ENOTTY       = int64(unix.ENOTTY)
	_ESPIPE       = int64(unix.ESPIPE)
	_ENOSYS       = int64(unix.ENOSYS)
	_ENODEV       = int64(unix.ENODEV)
	_ETIMEDOUT    = int64(unix.ETIMEDOUT)
	_ESRCH        = int64(unix.ESRCH)
	_EROFS        = int64(unix.EROFS)
	_ENFILE       = int64(unix.ENFILE)
	_ENAMETOOLONG = int64(unix.ENAMETOOLONG)
	_ENOSPC       = int64(unix.ENOSPC)
	_ENOTDIR      = int64(unix.ENOTDIR)
)

// blocked is returned by a handler whose thread now waits; its result is
// set when it wakes.
const blocked = int64(1) << 62

// doSyscall runs the system call in t's saved registers (number in RAX,
// arguments in RDI, RSI, RDX, R10, R8, R9) and stores the result in RAX
// unless the thread blocked. Context: trap; does not allocate.
func doSyscall(c *percpu, t sched.TID) {
	r := &threads[t].regs
	a0, a1, a2, a3, a4, a5 := uintptr(r.DI), uintptr(r.SI), uintptr(r.DX), uintptr(r.R10), uintptr(r.R8), uintptr(r.R9)
	var ret int64
	threads[t].restartNr = r.AX // what a restarted call executes again
	if unixCall(r.AX, a0) {
		if ret = unixSyscall(t, r.AX, a0, a1, a2, a3, a4, a5); ret != blocked {
			threads[t].regs.AX = uint64(ret)
		}
		return
	}
	if netlinkCall(r.AX, a0) {
		if ret = netlinkSyscall(t, r.AX, a0, a1, a2, a3, a4, a5); ret != blocked {
			threads[t].regs.AX = uint64(ret)
		}
		return
	}
	switch nr := r.AX; nr {
	case unix.SYS_READ:
		ret = sysRead(t, int(a0), a1, a2)
	case unix.SYS_WRITE:
		if kfaultArmed {
			injectKernelFault() // kfault=1: a kernel crash for the tests
		}
		ret = sysWrite(t, int(a0), a1, a2)
	case unix.SYS_CLOSE:
		ret = sysClose(int(a0))
	case unix.SYS_FCNTL:
		ret = sysFcntl(t, int(a0), int(a1), a2)
	case unix.SYS_MMAP:
		ret = sysMmap(a0, a1, int(a2), int(a3), int(int32(a4)), a5)
	case unix.SYS_MUNMAP:
		ret = sysMunmap(a0, a1)
	case unix.SYS_MPROTECT:
		ret = sysMprotect(a0, a1, int(a2))
	case unix.SYS_MADVISE:
		ret = sysMadvise(a0, a1, int(a2))
	case unix.SYS_CLONE:
		ret = sysClone(t, uint64(a0), a1, a2, a3, a4)
	case unix.SYS_EXIT:
		exitThread(t)
		ret = blocked
	case unix.SYS_EXIT_GROUP:
		ret = sysExitGroup(t, int(int32(a0)))
	case unix.SYS_FUTEX:
		ret = sysFutex(t, a0, int(a1), uint32(a2), a3)
	case unix.SYS_NANOSLEEP:
		ret = sysNanosleep(t, a0, false, 0)
	case unix.SYS_CLOCK_NANOSLEEP:
		ret = sysClockNanosleep(t, int(a0), int(a1), a2)
	case unix.SYS_SCHED_YIELD:
		c.resched = true
	case unix.SYS_CLOCK_GETTIME:
		ret = sysClockGettime(t, int(a0), a1)
	case unix.SYS_CLOCK_GETRES:
		ret = sysClockGetres(int(a0), a1)
	case unix.SYS_GETTIMEOFDAY:
		ret = sysGettimeofday(a0)
	case unix.SYS_EPOLL_CREATE1:
		ret = sysEpollCreate(int(a0))
	case unix.SYS_EPOLL_CREATE:
		if int(a0) <= 0 {
			ret = -_EINVAL
		} else {
			ret = sysEpollCreate(0)
		}
	case unix.SYS_EPOLL_CTL:
		ret = sysEpollCtl(int(a0), int(a1), int(a2), a3)
	case unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_WAIT:
		ret = sysEpollWait(t, int(a0), a1, int(a2), int(int32(a3)))
	case unix.SYS_EVENTFD2:
		ret = sysEventfd(uint64(uint32(a0)), int(a1))
	case unix.SYS_RT_SIGACTION:
		ret = sysRtSigaction(int(a0), a1, a2, a3)
	case unix.SYS_RT_SIGPROCMASK:
		ret = sysRtSigprocmask(t, int(a0), a1, a2, a3)
	case unix.SYS_SIGALTSTACK:
		ret = sysSigaltstack(t, a0, a1)
	case unix.SYS_TGKILL:
		ret = sysKill(int(int32(a0)), int(int32(a1)), int(int32(a2)))
	case unix.SYS_TKILL:
		ret = sysKill(0, int(int32(a0)), int(int32(a1)))
	case unix.SYS_KILL:
		ret = sysKill(int(int32(a0)), -1, int(int32(a1)))
	case unix.SYS_TIMER_CREATE:
		ret = sysTimerCreate(t, int(int32(a0)), a1, a2)
	case unix.SYS_TIMER_SETTIME:
		ret = sysTimerSettime(int(int32(a0)), int(a1), a2, a3)
	case unix.SYS_TIMER_DELETE:
		ret = sysTimerDelete(int(int32(a0)))
	case unix.SYS_SETITIMER:
		ret = sysSetitimer(int(a0), a1, a2)
	case unix.SYS_RT_SIGRETURN:
		ret = sysRtSigreturn(t)
	case unix.SYS_ARCH_PRCTL:
		ret = sysArchPrctl(c, t, int(a0), a1)
	case unix.SYS_GETPID:
		ret = 1
	case unix.SYS_GETPPID:
		ret = 0
	case unix.SYS_GETTID:
		ret = linuxTID(t)
	case unix.SYS_GETUID, unix.SYS_GETEUID, unix.SYS_GETGID, unix.SYS_GETEGID:
		ret = 0
	case unix.SYS_SCHED_GETAFFINITY:
		ret = sysSchedGetaffinity(a1, a2)
	case unix.SYS_UNAME:
		ret = sysUname(a0)
	case unix.SYS_GETRANDOM:
		ret = sysGetrandom(a0, a1)
	case unix.SYS_PRLIMIT64:
		ret = sysPrlimit(int(a0), int(a1), a2, a3)
	case unix.SYS_GETRLIMIT:
		ret = sysPrlimit(0, int(a0), 0, a1)
	case unix.SYS_OPENAT:
		ret = sysOpenat(t, int(int32(a0)), a1, int(int32(a2)), uint32(a3))
	case unix.SYS_OPEN:
		ret = sysOpenat(t, unix.AT_FDCWD, a0, int(int32(a1)), uint32(a2))
	case unix.SYS_CREAT:
		ret = sysOpenat(t, unix.AT_FDCWD, a0, unix.O_CREAT|unix.O_WRONLY|unix.O_TRUNC, uint32(a1))
	case unix.SYS_NEWFSTATAT:
		ret = sysNewfstatat(int(int32(a0)), a1, a2, int(int32(a3)))
	case unix.SYS_STAT:
		ret = sysNewfstatat(unix.AT_FDCWD, a0, a1, 0)
	case unix.SYS_LSTAT:
		ret = sysNewfstatat(unix.AT_FDCWD, a0, a1, unix.AT_SYMLINK_NOFOLLOW)
	case unix.SYS_STATX:
		ret = sysStatx(int(int32(a0)), a1, int(int32(a2)), a4)
	case unix.SYS_ACCESS:
		ret = sysFaccessat(unix.AT_FDCWD, a0, int(int32(a1)), 0)
	case unix.SYS_FACCESSAT:
		ret = sysFaccessat(int(int32(a0)), a1, int(int32(a2)), 0)
	case unix.SYS_FACCESSAT2:
		ret = sysFaccessat(int(int32(a0)), a1, int(int32(a2)), int(int32(a3)))
	case unix.SYS_READLINKAT:
		ret = sysReadlinkat(int(int32(a0)), a1, a2, int(int32(a3)))
	case unix.SYS_READLINK:
		ret = sysReadlinkat(unix.AT_FDCWD, a0, a1, int(int32(a2)))
	case unix.SYS_MKDIRAT:
		ret = sysMkdirat(int(int32(a0)), a1, uint32(a2))
	case unix.SYS_MKDIR:
		ret = sysMkdirat(unix.AT_FDCWD, a0, uint32(a1))
	case unix.SYS_MKNODAT:
		ret = sysMknodat(int(int32(a0)), a1, uint32(a2))
	case unix.SYS_MKNOD:
		ret = sysMknodat(unix.AT_FDCWD, a0, uint32(a1))
	case unix.SYS_UNLINKAT:
		ret = sysUnlinkat(int(int32(a0)), a1, int(int32(a2)))
	case unix.SYS_UNLINK:
		ret = sysUnlinkat(unix.AT_FDCWD, a0, 0)
	case unix.SYS_RMDIR:
		ret = sysUnlinkat(unix.AT_FDCWD, a0, unix.AT_REMOVEDIR)
	case unix.SYS_RENAMEAT2:
		ret = sysRenameat2(int(int32(a0)), a1, int(int32(a2)), a3, uint32(a4))
	case unix.SYS_RENAMEAT:
		ret = sysRenameat2(int(int32(a0)), a1, int(int32(a2)), a3, 0)
	case unix.SYS_RENAME:
		ret = sysRenameat2(unix.AT_FDCWD, a0, unix.AT_FDCWD, a1, 0)
	case unix.SYS_LINKAT:
		ret = sysLinkat(int(int32(a0)), a1, int(int32(a2)), a3, int(int32(a4)))
	case unix.SYS_LINK:
		ret = sysLinkat(unix.AT_FDCWD, a0, unix.AT_FDCWD, a1, 0)
	case unix.SYS_SYMLINKAT:
		ret = sysSymlinkat(a0, int(int32(a1)), a2)
	case unix.SYS_SYMLINK:
		ret = sysSymlinkat(a0, unix.AT_FDCWD, a1)
	case unix.SYS_FCHMODAT:
		ret = sysFchmodat(int(int32(a0)), a1, uint32(a2), 0)
	case unix.SYS_FCHMODAT2:
		ret = sysFchmodat(int(int32(a0)), a1, uint32(a2), int(int32(a3)))
	case unix.SYS_CHMOD:
		ret = sysFchmodat(unix.AT_FDCWD, a0, uint32(a1), 0)
	case unix.SYS_FCHMOD:
		ret = sysFchmod(int(a0), uint32(a1))
	case unix.SYS_FCHOWNAT:
		ret = sysFchownat(int(int32(a0)), a1, int32(a2), int32(a3), int(int32(a4)))
	case unix.SYS_CHOWN:
		ret = sysFchownat(unix.AT_FDCWD, a0, int32(a1), int32(a2), 0)
	case unix.SYS_LCHOWN:
		ret = sysFchownat(unix.AT_FDCWD, a0, int32(a1), int32(a2), unix.AT_SYMLINK_NOFOLLOW)
	case unix.SYS_FCHOWN:
		ret = sysFchown(int(a0), int32(a1), int32(a2))
	case unix.SYS_UTIMENSAT:
		ret = sysUtimensat(int(int32(a0)), a1, a2, int(int32(a3)))
	case unix.SYS_TRUNCATE:
		ret = sysTruncate(a0, int64(a1))
	case unix.SYS_FTRUNCATE:
		ret = sysFtruncate(int(a0), int64(a1))
	case unix.SYS_FALLOCATE:
		ret = sysFallocate(int(a0), int(int32(a1)), int64(a2), int64(a3))
	case unix.SYS_FSYNC, unix.SYS_FDATASYNC, unix.SYS_SYNCFS:
		ret = sysFsync(int(a0))
	case unix.SYS_SYNC:
		ret = 0
	case unix.SYS_STATFS:
		ret = sysStatfsPath(a0, a1)
	case unix.SYS_FSTATFS:
		ret = sysFstatfs(int(a0), a1)
	case unix.SYS_GETCWD:
		ret = sysGetcwd(a0, a1)
	case unix.SYS_CHDIR:
		ret = sysChdir(a0)
	case unix.SYS_FCHDIR:
		ret = sysFchdir(int(a0))
	case unix.SYS_UMASK:
		ret = sysUmask(uint32(a0))
	case unix.SYS_GETDENTS64:
		ret = sysGetdents64(int(a0), a1, a2)
	case unix.SYS_PREAD64:
		ret = sysPread64(t, int(a0), a1, a2, int64(a3))
	case unix.SYS_PWRITE64:
		ret = sysPwrite64(t, int(a0), a1, a2, int64(a3))
	case unix.SYS_DUP:
		ret = sysDupFrom(int(a0), 0, false)
	case unix.SYS_DUP2:
		ret = sysDup3(int(a0), int(a1), 0, false)
	case unix.SYS_DUP3:
		ret = sysDup3(int(a0), int(a1), int(int32(a2)), true)
	case unix.SYS_PIPE2:
		ret = sysPipe2(a0, int(int32(a1)))
	case unix.SYS_PIPE:
		ret = sysPipe2(a0, 0)
	case unix.SYS_FLOCK:
		ret = sysFlock(t, int(a0), int(int32(a1)))
	case unix.SYS_MSYNC:
		ret = sysMsync(a0, a1, int(int32(a2)))
	case unix.SYS_WAIT4, unix.SYS_WAITID:
		ret = -int64(unix.ECHILD) // the program is the only process: it has no children
	case unix.SYS_GETGROUPS:
		ret = 0 // root, in no supplementary group
	case unix.SYS_COPY_FILE_RANGE, unix.SYS_SPLICE, unix.SYS_TEE:
		ret = -_EINVAL // not offered: Go falls back to read and write
	case unix.SYS_SENDFILE:
		ret = sysSendfile(t, int(a0), int(a1), a2, a3)
	case unix.SYS_FSTAT:
		ret = sysFstat(int(a0), a1)
	case unix.SYS_IOCTL:
		ret = sysIoctl(int(a0), uint(a1), a2)
	case unix.SYS_LSEEK:
		ret = sysLseek(int(a0), int64(a1), int(a2))
	case unix.SYS_SOCKET:
		ret = sysSocket(int(a0), int(a1), int(a2))
	case unix.SYS_BIND:
		ret = sysBind(t, int(a0), a1, a2)
	case unix.SYS_LISTEN:
		ret = sysListen(t, int(a0), int(int32(a1)))
	case unix.SYS_CONNECT:
		ret = sysConnect(t, int(a0), a1, a2)
	case unix.SYS_ACCEPT4:
		ret = sysAccept(t, int(a0), a1, a2, int(a3))
	case unix.SYS_ACCEPT:
		ret = sysAccept(t, int(a0), a1, a2, 0)
	case unix.SYS_SHUTDOWN:
		ret = sysShutdown(int(a0), int(a1))
	case unix.SYS_GETSOCKNAME:
		ret = sysGetsockname(int(a0), a1, a2)
	case unix.SYS_GETPEERNAME:
		ret = sysGetpeername(int(a0), a1, a2)
	case unix.SYS_SETSOCKOPT:
		ret = sysSetsockopt(int(a0), int(a1), int(a2), a3, a4)
	case unix.SYS_GETSOCKOPT:
		ret = sysGetsockopt(int(a0), int(a1), int(a2), a3, a4)
	case unix.SYS_SENDTO:
		ret = sysSendto(t, int(a0), a1, a2, int(a3), a4, a5)
	case unix.SYS_RECVFROM:
		ret = sysRecvfrom(t, int(a0), a1, a2, int(a3), a4, a5)
	case unix.SYS_SENDMSG:
		ret = sysSendmsg(t, int(a0), a1, int(a2))
	case unix.SYS_RECVMSG:
		ret = sysRecvmsg(t, int(a0), a1, int(a2))
	case unix.SYS_READV:
		ret = sysReadv(t, int(a0), a1, int(a2))
	case unix.SYS_WRITEV:
		ret = sysWritev(t, int(a0), a1, int(a2))
	case unix.SYS_SOCKETPAIR:
		ret = -_EAFNOSUPPORT
		if a0 == unix.AF_INET {
			ret = -_EOPNOTSUPP // TCP and UDP sockets come alone
		}
	case unix.SYS_SCHED_SETAFFINITY, unix.SYS_PRCTL:
		ret = 0
	default:
		unimplemented(nr)
		ret = -_ENOSYS
	}
	if ret != blocked {
		threads[t].regs.AX = uint64(ret)
	}
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
	var l logLine
	l.s("unimplemented system call ").sysName(nr).s(": returning ENOSYS")
	if large {
		l.s(" (only the first call numbered above 511 is logged)")
	}
	l.info()
}

// errnoResult is the RAX value of a failed system call.
func errnoResult(errno int64) uint64 { return uint64(-errno) }
