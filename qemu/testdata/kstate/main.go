// Command kstate hands system calls pointers into the kernel's variables
// (qemu/kstate_test.go). The kernel is linked into the program, so its
// variables are reachable by name (go:linkname) and sit on pages the
// program may write; every system call given one must fail with EFAULT
// and leave it unchanged, and the kernel must work on afterwards. The same
// calls on the program's own globals and heap must work.
//
// Output, one line per call: "kernel TARGET CALL: RESULT" (RESULT "ok" or
// the errno's name), then "own CALL: RESULT" lines, then whether the
// kernel's variables changed and a last check that the kernel still runs
// goroutines, timers and the GC. The vDSO page is kernel state the
// program may read: "vdso write" (from it) works, a read into it fails. Built with plain go build for the host
// the kernel is not linked: the linkname'd variables are then the
// program's own, every "kernel" call works and the variables change, which
// is what the test expects there.
package main

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"github.com/gometal/gometal/kernel/mm"
	"golang.org/x/sys/unix"
)

// The kernel's variables the checks aim at (kernel/*.go, boot/boot.go);
// the sizes must match the kernel's.
var (
	//go:linkname kUmask github.com/gometal/gometal/kernel/vfs.Umask
	kUmask uint32 // kernel/vfs/vfs.go: the umask (initialised data)
	//go:linkname kArgsBuf github.com/gometal/gometal/kernel.cmdArgsBuf
	kArgsBuf [4096]byte // kernel/args.go: the boot arguments (bss)
	//go:linkname kIDT github.com/gometal/gometal/kernel/x86.idt
	kIDT [4096]byte // kernel/x86/idt.go: the interrupt descriptor table
	//go:linkname kState github.com/gometal/gometal/kernel/vm.kernelState
	kState [unsafe.Sizeof(mm.StateTable{})]byte // kernel/vm/kstate.go: the kernel-state table itself
	//go:linkname kBootMagic github.com/gometal/gometal/boot.Magic
	kBootMagic uint32 // boot/boot.go: another kernel package
	//go:linkname kUsocks github.com/gometal/gometal/kernel/socket.usocksAddr
	kUsocks uintptr // kernel/socket/unixsock.go: the Unix-socket table, in frames
	//go:linkname kVDSO github.com/gometal/gometal/kernel/clock.vdsoPage
	kVDSO [4096]byte // kernel/clock/vdso.go: readable, not writable
)

// The program's own memory.
var (
	ownBuf  [64]byte
	ownWord uint32
	ownTS   [2]int64
)

// Futex operations (linux/futex.h).
const (
	futexWait    = 0
	futexWake    = 1
	futexPrivate = 128
)

// target is one stretch of memory the calls use.
type target struct {
	name string
	p    unsafe.Pointer
	n    uintptr
	own  bool // the program's memory
}

func main() {
	before := snapshot()
	pr, pw := mustPipe()
	sock := mustUnixSocket()

	kernel := []target{
		{"umask", unsafe.Pointer(&kUmask), 4, false},
		{"cmdArgsBuf", unsafe.Pointer(&kArgsBuf), uintptr(len(kArgsBuf)), false},
		{"idt", unsafe.Pointer(&kIDT), uintptr(len(kIDT)), false},
		{"kernelState", unsafe.Pointer(&kState), uintptr(len(kState)), false},
		{"boot.Magic", unsafe.Pointer(&kBootMagic), 4, false},
	}
	for _, t := range kernel {
		calls(t, pr, pw, sock, "kernel "+t.name)
	}
	// Ranges that hold one byte of the kernel's, at either end: read only
	// (on the host the byte outside is some other variable).
	edges := []target{
		{"idt-1", unsafe.Add(unsafe.Pointer(&kIDT), -1), 2, false},
		{"idt+4095", unsafe.Add(unsafe.Pointer(&kIDT), 4095), 2, false},
	}
	copyIn(append(kernel, edges...), pw, pr, "kernel")
	vdso(pr, pw)
	frames(pr, pw)

	calls(target{"own", unsafe.Pointer(&ownBuf), uintptr(len(ownBuf)), true}, pr, pw, sock, "own global")
	heap := make([]byte, 4096)
	calls(target{"heap", unsafe.Pointer(&heap[0]), uintptr(len(heap)), true}, pr, pw, sock, "own heap")
	clear(ownBuf[:]) // an empty path, a zero address
	copyIn([]target{{"global", unsafe.Pointer(&ownBuf), uintptr(len(ownBuf)), true}}, pw, pr, "own")
	own(pr, pw)

	if bytes.Equal(before, snapshot()) {
		fmt.Println("kernel variables: unchanged")
	} else {
		fmt.Println("kernel variables: changed")
	}
	stillWorks()
}

// calls runs the system calls that write to memory (copy-out) with t's
// memory, each with at most t.n bytes.
func calls(t target, pr, pw, sock int, label string) {
	a := uintptr(t.p)
	fill(pw, t.n)
	result(label, "read", func() syscall.Errno { return sys(unix.SYS_READ, uintptr(pr), a, t.n) })
	drain(pr)
	iov := unix.Iovec{Base: (*byte)(t.p)}
	iov.SetLen(int(t.n))
	fill(pw, t.n)
	result(label, "readv", func() syscall.Errno {
		return sys(unix.SYS_READV, uintptr(pr), uintptr(unsafe.Pointer(&iov)), 1)
	})
	drain(pr)
	if t.n >= 16 {
		result(label, "clock_gettime(MONOTONIC)", func() syscall.Errno { return sys(unix.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, a) })
		result(label, "clock_gettime(PROCESS_CPUTIME_ID)", func() syscall.Errno {
			return sys(unix.SYS_CLOCK_GETTIME, unix.CLOCK_PROCESS_CPUTIME_ID, a)
		})
		result(label, "pipe2", func() syscall.Errno {
			e := sys(unix.SYS_PIPE2, a, unix.O_CLOEXEC)
			if e == 0 {
				fds := (*[2]int32)(t.p)
				syscall.Close(int(fds[0]))
				syscall.Close(int(fds[1]))
			}
			return e
		})
		result(label, "getrandom", func() syscall.Errno { return sys(unix.SYS_GETRANDOM, a, 16, 0) })
	}
	if t.n >= uintptr(unsafe.Sizeof(unix.Utsname{})) {
		result(label, "uname", func() syscall.Errno { return sys(unix.SYS_UNAME, a) })
	}
	if t.n >= 64 {
		result(label, "getsockname(addr)", func() syscall.Errno {
			l := uint32(t.n)
			return sys(unix.SYS_GETSOCKNAME, uintptr(sock), a, uintptr(unsafe.Pointer(&l)))
		})
	}
	if t.own {
		*(*uint32)(t.p) = 0 // a defined length (the kernel's must stay as it is)
	}
	result(label, "getsockname(addrlen)", func() syscall.Errno {
		var sa [128]byte
		return sys(unix.SYS_GETSOCKNAME, uintptr(sock), uintptr(unsafe.Pointer(&sa)), a)
	})
	if t.n >= 4 && a%4 == 0 {
		result(label, "futex(WAIT)", func() syscall.Errno {
			v := *(*uint32)(t.p) + 1 // not the value: EAGAIN where the word is readable
			return sys(unix.SYS_FUTEX, a, futexWait|futexPrivate, uintptr(v), 0, 0, 0)
		})
		result(label, "futex(WAKE)", func() syscall.Errno {
			return sys(unix.SYS_FUTEX, a, futexWake|futexPrivate, 1, 0, 0, 0)
		})
	}
}

// copyIn runs the system calls that read memory (copy-in) with each
// target's memory.
func copyIn(ts []target, pw, pr int, label string) {
	for _, t := range ts {
		a := uintptr(t.p)
		l := label + " " + t.name
		result(l, "write", func() syscall.Errno { return sys(unix.SYS_WRITE, uintptr(pw), a, min(t.n, 64)) })
		drain(pr)
		iov := [2]unix.Iovec{{Base: &ownBuf[0]}, {Base: (*byte)(t.p)}}
		iov[0].SetLen(8)
		iov[1].SetLen(int(min(t.n, 64)))
		result(l, "writev", func() syscall.Errno {
			return sys(unix.SYS_WRITEV, uintptr(pw), uintptr(unsafe.Pointer(&iov)), 2)
		})
		drain(pr)
		if t.n >= 16 {
			result(l, "sendto(dest)", func() syscall.Errno {
				s, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
				if err != nil {
					return err.(syscall.Errno)
				}
				defer syscall.Close(s)
				e := sys(unix.SYS_SENDTO, uintptr(s), uintptr(unsafe.Pointer(&ownWord)), 1, 0, a, 16)
				if e == unix.EINVAL || e == unix.ENOENT || e == unix.EAFNOSUPPORT || e == unix.ECONNREFUSED {
					return 0 // the address was read, and refused
				}
				return e
			})
			result(l, "writev(iovec array)", func() syscall.Errno { return sys(unix.SYS_WRITEV, uintptr(pw), a, 1) })
			drain(pr)
			result(l, "openat(path)", func() syscall.Errno {
				e := sys(unix.SYS_OPENAT, uintptr(unix.AT_FDCWD&0xffffffffffffffff), a, unix.O_RDONLY)
				if e == unix.ENOENT {
					return 0 // an empty path: it was read
				}
				return e
			})
			result(l, "bind(sockaddr)", func() syscall.Errno {
				s, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
				if err != nil {
					return err.(syscall.Errno)
				}
				defer syscall.Close(s)
				e := sys(unix.SYS_BIND, uintptr(s), a, 16)
				if e == unix.EINVAL || e == unix.ENOENT || e == unix.EAFNOSUPPORT {
					return 0 // the address was read, and refused
				}
				return e
			})
		}
	}
}

// vdso checks the vDSO page: the program reads it (on Linux it is mapped
// read-only), so write(2) from it works and read(2) into it fails.
func vdso(pr, pw int) {
	result("vdso", "write", func() syscall.Errno {
		return sys(unix.SYS_WRITE, uintptr(pw), uintptr(unsafe.Pointer(&kVDSO)), 64)
	})
	drain(pr)
	fill(pw, 64)
	result("kernel vdsoPage", "read", func() syscall.Errno {
		return sys(unix.SYS_READ, uintptr(pr), uintptr(unsafe.Pointer(&kVDSO)), 64)
	})
	drain(pr)
}

// frames checks memory the kernel takes from frames: the Unix-socket table,
// at its direct-map address (supervisor-only, above the user half).
func frames(pr, pw int) {
	if kUsocks == 0 {
		return // the host: no such table
	}
	fill(pw, 16)
	result("kernel frames", "read", func() syscall.Errno { return sys(unix.SYS_READ, uintptr(pr), kUsocks, 16) })
	drain(pr)
}

// own checks that the calls also do their work on the program's memory.
func own(pr, pw int) {
	syscall.Write(pw, []byte("hello, own"))
	n, err := syscall.Read(pr, ownBuf[:])
	fmt.Printf("own read: %q %v\n", ownBuf[:n], err)
	_, _, e := syscall.Syscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_MONOTONIC, uintptr(unsafe.Pointer(&ownTS)), 0)
	fmt.Println("own clock_gettime:", errName(e), ownTS[0] > 0 || ownTS[1] > 0)
	ownWord = 7
	_, _, e = syscall.Syscall6(unix.SYS_FUTEX, uintptr(unsafe.Pointer(&ownWord)), futexWait|futexPrivate, 8, 0, 0, 0)
	fmt.Println("own futex(WAIT, wrong value):", errName(e))
	// A kernel address: EFAULT on Linux; gometal's kernel keeps its own
	// wait keys up there (the pipe waiters' at 0xffff_f000_0000_0000).
	_, _, e = syscall.Syscall6(unix.SYS_FUTEX, 0xffff_f000_0000_0000, futexWake|futexPrivate, 1, 0, 0, 0)
	fmt.Println("own futex(WAKE, a kernel address):", errName(e))
}

// stillWorks checks the kernel after the calls: goroutines on all CPUs,
// timers, a GC, files.
func stillWorks() {
	var wg sync.WaitGroup
	sum := make([]int, 8)
	for i := range sum {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i) * time.Millisecond)
			for k := 0; k < 100000; k++ {
				sum[i] += k % 7
			}
		}()
	}
	wg.Wait()
	runtime.GC()
	f, err := os.CreateTemp("", "kstate")
	if err == nil {
		_, err = f.WriteString("still works")
		f.Close()
		os.Remove(f.Name())
	}
	fmt.Println("afterwards:", sum[7], err)
}

// result prints one call's outcome.
func result(label, call string, f func() syscall.Errno) {
	fmt.Printf("%s %s: %s\n", label, call, errName(f()))
}

// sys makes a raw system call and returns its errno.
func sys(nr uintptr, a ...uintptr) syscall.Errno {
	var args [6]uintptr
	copy(args[:], a)
	_, _, e := syscall.Syscall6(nr, args[0], args[1], args[2], args[3], args[4], args[5])
	return e
}

// errName names e, "ok" for none.
func errName(e syscall.Errno) string {
	switch e {
	case 0:
		return "ok"
	case unix.EFAULT:
		return "EFAULT"
	}
	return unix.ErrnoName(e)
}

// fill writes n bytes into the pipe for a read to take.
func fill(pw int, n uintptr) {
	syscall.Write(pw, bytes.Repeat([]byte{0xa5}, int(min(n, 4096))))
}

// drain empties the pipe.
func drain(pr int) {
	var b [8192]byte
	for {
		n, _ := syscall.Read(pr, b[:])
		if n <= 0 {
			return
		}
	}
}

// snapshot copies the kernel variables the calls aim at.
func snapshot() []byte {
	var b []byte
	b = append(b, unsafe.Slice((*byte)(unsafe.Pointer(&kUmask)), 4)...)
	b = append(b, kArgsBuf[:]...)
	b = append(b, kIDT[:]...)
	b = append(b, kState[:]...)
	b = append(b, unsafe.Slice((*byte)(unsafe.Pointer(&kBootMagic)), 4)...)
	return append(b, kVDSO[:]...)
}

// mustPipe returns a non-blocking pipe.
func mustPipe() (int, int) {
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		fmt.Println("pipe2:", err)
		os.Exit(1)
	}
	return p[0], p[1]
}

// mustUnixSocket returns an unbound Unix-domain socket.
func mustUnixSocket() int {
	s, err := syscall.Socket(syscall.AF_UNIX, syscall.SOCK_DGRAM, 0)
	if err != nil {
		fmt.Println("socket:", err)
		os.Exit(1)
	}
	return s
}
