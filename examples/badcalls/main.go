// Command badcalls makes system calls with bad arguments and prints the
// errno each returns: the kernel must answer bad input with the same
// errors Linux gives, and never crash or hang. The boot test compares the
// output with the same program on the host.
package main

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// bad is an address nothing is mapped at, in the user half.
const bad = uintptr(0x10)

const (
	futexWaitPrivate       = 128          // FUTEX_WAIT | FUTEX_PRIVATE_FLAG
	futexWaitBitsetPrivate = 9 | 128      // FUTEX_WAIT_BITSET | FUTEX_PRIVATE_FLAG
	futexWakeBitsetPrivate = 10 | 128     // FUTEX_WAKE_BITSET | FUTEX_PRIVATE_FLAG
	atFDCWD                = ^uintptr(99) // AT_FDCWD, -100
)

func errno(r1 uintptr, e syscall.Errno) string {
	if e != 0 {
		return e.Error()
	}
	return fmt.Sprintf("ok (%d)", r1)
}

func call(name string, nr uintptr, a ...uintptr) {
	var args [6]uintptr
	copy(args[:], a)
	r1, _, e := syscall.RawSyscall6(nr, args[0], args[1], args[2], args[3], args[4], args[5])
	fmt.Printf("%-34s %s\n", name, errno(r1, e))
}

func main() {
	var ts unix.Timespec
	tsp := uintptr(unsafe.Pointer(&ts))
	buf := make([]byte, 64)
	bufp := uintptr(unsafe.Pointer(&buf[0]))
	var word uint32 = 7
	wordp := uintptr(unsafe.Pointer(&word))

	call("write to a bad buffer", unix.SYS_WRITE, 1, bad, 10)
	call("write to fd -1", unix.SYS_WRITE, ^uintptr(0), bufp, 1)
	call("read from fd 999", unix.SYS_READ, 999, bufp, 1)
	call("close fd 999", unix.SYS_CLOSE, 999)
	call("fcntl on fd 999", unix.SYS_FCNTL, 999, unix.F_GETFD)
	call("fcntl with a bad command", unix.SYS_FCNTL, 1, 0x7fff)
	call("mmap of length 0", unix.SYS_MMAP, 0, 0, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS, ^uintptr(0), 0)
	call("mmap without private or shared", unix.SYS_MMAP, 0, 4096, unix.PROT_READ, unix.MAP_ANONYMOUS, ^uintptr(0), 0)
	call("mmap fixed at an unaligned address", unix.SYS_MMAP, 0x10001, 4096, unix.PROT_READ, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_FIXED, ^uintptr(0), 0)
	call("munmap of an unaligned address", unix.SYS_MUNMAP, 0x10001, 4096)
	call("munmap of length 0", unix.SYS_MUNMAP, 0x10000, 0)
	call("mprotect of an unmapped range", unix.SYS_MPROTECT, 0x7e0000000000, 4096, unix.PROT_READ)
	page := bufp &^ 4095 // mapped: the heap's
	call("madvise with unknown advice", unix.SYS_MADVISE, page, 4096, 7)
	call("madvise willneed, unmapped range", unix.SYS_MADVISE, 0x7e0000000000, 4096, unix.MADV_WILLNEED)
	call("madvise remove, private memory", unix.SYS_MADVISE, page, 4096, unix.MADV_REMOVE)
	call("madvise willneed of the heap", unix.SYS_MADVISE, page, 4096, unix.MADV_WILLNEED)
	call("munmap below the program", unix.SYS_MUNMAP, 0x1000, 4096)
	call("madvise below the program", unix.SYS_MADVISE, 0x1000, 4096, unix.MADV_DONTNEED)
	call("mprotect below the program", unix.SYS_MPROTECT, 0x1000, 4096, unix.PROT_READ)
	call("mprotect whose length wraps", unix.SYS_MPROTECT, 0x10000, ^uintptr(10), unix.PROT_READ)
	call("madvise whose length wraps", unix.SYS_MADVISE, 0x10000, ^uintptr(10), unix.MADV_DONTNEED)
	call("munmap whose length wraps", unix.SYS_MUNMAP, 0x10000, ^uintptr(10))
	call("mprotect of no bytes, bad prot", unix.SYS_MPROTECT, 0x10000, 0, 0x80)
	call("msync below the program", unix.SYS_MSYNC, 0x1000, 4096, unix.MS_ASYNC)
	call("msync whose length rounds to 0", unix.SYS_MSYNC, 0x10000, ^uintptr(10), unix.MS_ASYNC)
	call("mprotect in the kernel half", unix.SYS_MPROTECT, 0xffff800000000000, 4096, unix.PROT_READ)
	call("mprotect with PROT_SEM", unix.SYS_MPROTECT, page, 4096, unix.PROT_READ|unix.PROT_WRITE|0x8)
	call("mmap anon, MAP_SHARED_VALIDATE", unix.SYS_MMAP, 0, 4096, unix.PROT_READ, unix.MAP_SHARED_VALIDATE|unix.MAP_ANONYMOUS, ^uintptr(0), 0)
	call("clock_gettime with a bad clock", unix.SYS_CLOCK_GETTIME, 12345, tsp)
	call("clock_gettime to a bad pointer", unix.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, bad)
	call("nanosleep with a bad pointer", unix.SYS_NANOSLEEP, bad, 0)
	ts = unix.Timespec{Sec: 0, Nsec: 2e9}
	call("nanosleep with nsec >= 1e9", unix.SYS_NANOSLEEP, tsp, 0)
	call("futex wait on a bad address", unix.SYS_FUTEX, bad, futexWaitPrivate, 0, 0)
	call("futex wait on an unaligned word", unix.SYS_FUTEX, wordp+1, futexWaitPrivate, 7, 0)
	call("futex wait with the wrong value", unix.SYS_FUTEX, wordp, futexWaitPrivate, 8, 0)
	// Linux reads the timeout first, then looks at the bitset, then at
	// the word's address.
	call("futex wait, unaligned, bad timeout", unix.SYS_FUTEX, wordp+1, futexWaitPrivate, 7, bad)
	call("futex wait, bad address, nsec 2e9", unix.SYS_FUTEX, bad, futexWaitPrivate, 0, tsp)
	call("futex wait_bitset with bitset 0", unix.SYS_FUTEX, wordp, futexWaitBitsetPrivate, 8, 0, 0, 0)
	call("futex wake_bitset with bitset 0", unix.SYS_FUTEX, wordp, futexWakeBitsetPrivate, 1, 0, 0, 0)
	call("futex wake_bitset, unaligned", unix.SYS_FUTEX, wordp+1, futexWakeBitsetPrivate, 1, 0, 0, 1)
	call("epoll_ctl on fd 999", unix.SYS_EPOLL_CTL, 999, unix.EPOLL_CTL_ADD, 1, bufp)
	// epoll_wait's arguments in Linux's order: the descriptor, the
	// count, the buffer, then whether the descriptor is an epoll
	// instance.
	kernelHalf := uintptr(0xffff800000000000)
	ep, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		panic(err)
	}
	call("epoll_wait on fd 999, no room", unix.SYS_EPOLL_WAIT, 999, bufp, 0, 0)
	call("epoll_wait on fd 999, kernel buffer", unix.SYS_EPOLL_WAIT, 999, kernelHalf, 1, 0)
	call("epoll_wait, no room, kernel buffer", unix.SYS_EPOLL_WAIT, uintptr(ep), kernelHalf, 0, 0)
	call("epoll_wait to a kernel buffer", unix.SYS_EPOLL_WAIT, uintptr(ep), kernelHalf, 1, 0)
	call("epoll_wait on stdout, kernel buffer", unix.SYS_EPOLL_WAIT, 1, kernelHalf, 1, 0)
	call("epoll_pwait on stdout", unix.SYS_EPOLL_PWAIT, 1, bufp, 1, 0, 0, 8)
	// epoll_ctl's in Linux's order: the event (for every op but
	// EPOLL_CTL_DEL), the two descriptors, whether the target can be
	// polled (a regular file cannot: EPERM), then whether the first is
	// an epoll instance other than the target.
	file, err := os.CreateTemp("", "badcalls-")
	if err != nil {
		panic(err)
	}
	defer os.Remove(file.Name())
	ff := file.Fd()
	call("epoll_ctl add, a file, bad event", unix.SYS_EPOLL_CTL, uintptr(ep), unix.EPOLL_CTL_ADD, ff, bad)
	call("epoll_ctl add, fd 999, bad event", unix.SYS_EPOLL_CTL, uintptr(ep), unix.EPOLL_CTL_ADD, 999, bad)
	call("epoll_ctl del, a file, bad event", unix.SYS_EPOLL_CTL, uintptr(ep), unix.EPOLL_CTL_DEL, ff, bad)
	call("epoll_ctl add, a file", unix.SYS_EPOLL_CTL, uintptr(ep), unix.EPOLL_CTL_ADD, ff, bufp)
	call("epoll_ctl on stdout, a file", unix.SYS_EPOLL_CTL, 1, unix.EPOLL_CTL_ADD, ff, bufp)
	call("epoll_ctl on stdout, an instance", unix.SYS_EPOLL_CTL, 1, unix.EPOLL_CTL_ADD, uintptr(ep), bufp)
	call("epoll_ctl, an instance in itself", unix.SYS_EPOLL_CTL, uintptr(ep), unix.EPOLL_CTL_ADD, uintptr(ep), bufp)
	call("epoll_ctl with op 99, a file", unix.SYS_EPOLL_CTL, uintptr(ep), 99, ff, bufp)
	if err := file.Close(); err != nil {
		panic(err)
	}
	if err := unix.Close(ep); err != nil {
		panic(err)
	}
	call("epoll_create1 with bad flags", unix.SYS_EPOLL_CREATE1, 0x1234)
	// Calls on a descriptor that is not open, where Linux checks other
	// arguments first.
	call("flock fd 999, no operation", unix.SYS_FLOCK, 999, 0)
	call("flock fd 999, LOCK_MAND", unix.SYS_FLOCK, 999, 32)
	call("flock fd 999, LOCK_SH", unix.SYS_FLOCK, 999, unix.LOCK_SH)
	omit := [2]unix.Timespec{{Nsec: unix.UTIME_OMIT}, {Nsec: unix.UTIME_OMIT}}
	omitp := uintptr(unsafe.Pointer(&omit[0]))
	call("futimens fd 999, both UTIME_OMIT", unix.SYS_UTIMENSAT, 999, 0, omitp, 0)
	call("futimens fd 999, bad times", unix.SYS_UTIMENSAT, 999, 0, bad, 0)
	call("futimens fd 999, flags", unix.SYS_UTIMENSAT, 999, 0, 0, unix.AT_SYMLINK_NOFOLLOW)
	call("utimensat, null path at AT_FDCWD", unix.SYS_UTIMENSAT, atFDCWD, 0, 0, 0)
	bigNsec := [2]unix.Timespec{{Nsec: 2e9}, {Nsec: 0}}
	call("futimens fd 999, nsec 2e9", unix.SYS_UTIMENSAT, 999, 0, uintptr(unsafe.Pointer(&bigNsec[0])), 0)
	call("mmap of fd 999, length 0", unix.SYS_MMAP, 0, 0, unix.PROT_READ, unix.MAP_SHARED, 999, 0)
	call("mmap of fd 999, unaligned offset", unix.SYS_MMAP, 0, 4096, unix.PROT_READ, unix.MAP_SHARED, 999, 1)
	call("pread64 fd 999, negative offset", unix.SYS_PREAD64, 999, bufp, 1, ^uintptr(0))
	call("ftruncate fd 999, negative length", unix.SYS_FTRUNCATE, 999, ^uintptr(0))
	call("copy_file_range from fd 999, flags", unix.SYS_COPY_FILE_RANGE, 999, 0, 1, 0, 4, 1)
	call("copy_file_range, bad offset, flags", unix.SYS_COPY_FILE_RANGE, 1, bad, 1, 0, 4, 1)
	call("copy_file_range with flags", unix.SYS_COPY_FILE_RANGE, 1, 0, 1, 0, 4, 1)
	call("splice of 0 bytes from fd 999", unix.SYS_SPLICE, 999, 0, 999, 0, 0, 0)
	call("splice from fd 999, bad flags", unix.SYS_SPLICE, 999, 0, 1, 0, 4, 0x100)
	call("tee of 0 bytes, bad flags", unix.SYS_TEE, 999, 999, 0, 0x100)
	call("tee of 0 bytes from fd 999", unix.SYS_TEE, 999, 999, 0, 0)
	call("openat null, O_TMPFILE read-only", unix.SYS_OPENAT, atFDCWD, 0, unix.O_RDONLY|unix.O_TMPFILE)
	call("openat null, O_TMPFILE for writing", unix.SYS_OPENAT, atFDCWD, 0, unix.O_RDWR|unix.O_TMPFILE)
	call("eventfd2 with bad flags", unix.SYS_EVENTFD2, 0, 0x1234)
	call("rt_sigaction with a bad signal", unix.SYS_RT_SIGACTION, 0, 0, 0, 8)
	call("rt_sigaction on SIGKILL", unix.SYS_RT_SIGACTION, uintptr(unix.SIGKILL), bufp, 0, 8)
	call("rt_sigaction on SIGKILL, bad act", unix.SYS_RT_SIGACTION, uintptr(unix.SIGKILL), bad, 0, 8)
	call("rt_sigaction of signal 0, bad act", unix.SYS_RT_SIGACTION, 0, bad, 0, 8)
	call("rt_sigaction, bad size and act", unix.SYS_RT_SIGACTION, uintptr(unix.SIGUSR1), bad, 0, 4)
	call("rt_sigprocmask with a bad size", unix.SYS_RT_SIGPROCMASK, unix.SIG_BLOCK, 0, 0, 3)
	call("sched_getaffinity with size 3", unix.SYS_SCHED_GETAFFINITY, 0, 3, bufp)
	call("openat of a missing file", unix.SYS_OPENAT, atFDCWD, uintptr(unsafe.Pointer(&[]byte("/no/such/file\x00")[0])), unix.O_RDONLY)
	call("openat with a bad path pointer", unix.SYS_OPENAT, atFDCWD, bad, unix.O_RDONLY)
	call("lseek on the console", unix.SYS_LSEEK, 1, 0, 0)
	call("tgkill with a bad signal", unix.SYS_TGKILL, uintptr(unix.Getpid()), uintptr(unix.Gettid()), 200)
	call("arch_prctl with a bad code", unix.SYS_ARCH_PRCTL, 0x9999, 0)
	// Numbers no Linux call has (340 lies in the gap before 424): ENOSYS,
	// and the kernel logs each at most once.
	call("unknown system call 340", 340)
	call("unknown system call 340 again", 340)
	// tuxcall (184) has a number and a name but no implementation, on
	// Linux as here: ENOSYS, and the kernel's log line names it.
	call("tuxcall, named but not implemented", unix.SYS_TUXCALL)
	call("tuxcall again", unix.SYS_TUXCALL)
	call("unknown system call 1000", 1000)
	call("unknown system call 1000 again", 1000)
	call("unknown system call 2000", 2000)
	fmt.Println("still running")
}
