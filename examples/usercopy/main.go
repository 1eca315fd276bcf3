// Command usercopy hands clock_gettime timespec pointers that the
// kernel's lock-free path cannot write at once: a fresh anonymous page
// nothing has touched (mapped lazily: the kernel faults it in), a page
// that is PROT_NONE, read-only or not mapped at all (EFAULT), and a
// timespec that straddles two pages; then one thread calls it into a page
// that another keeps emptying (MADV_DONTNEED) and protecting (PROT_NONE
// and back), on another CPU where there is one. It prints only what Linux prints too,
// so its output is compared with a Linux host's. In the guest it then
// prints one more line, starting "gometal: ", with how much
// /proc/gometal/sched's user_access_faults grew meanwhile: the kernel's
// fault-tolerant stores fixed up that many faults (the boot test expects
// at least one per case that must fault, and cuts the line before it
// compares the outputs).
package main

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

const page = 4096

// clockGettime calls clock_gettime(CLOCK_REALTIME, tp) as a system call
// (not the vDSO) and returns its errno.
func clockGettime(tp uintptr) syscall.Errno {
	_, _, e := syscall.Syscall(unix.SYS_CLOCK_GETTIME, unix.CLOCK_REALTIME, tp, 0)
	return e
}

// mmap maps n anonymous private pages with prot.
func mmap(n int, prot int) []byte {
	b, err := unix.Mmap(-1, 0, n*page, prot, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	must(err)
	return b
}

// addr is the address of b[off].
func addr(b []byte, off int) uintptr { return uintptr(unsafe.Pointer(&b[off])) }

// report prints the result of a clock_gettime into b[off:]; on success it
// checks that the time read back from there is a date after 2001.
func report(name string, b []byte, off int) {
	e := clockGettime(addr(b, off))
	if e != 0 {
		fmt.Printf("%-44s %v\n", name, e)
		return
	}
	ts := (*unix.Timespec)(unsafe.Pointer(&b[off]))
	fmt.Printf("%-44s ok, sane: %v\n", name, ts.Sec > 1e9 && ts.Nsec >= 0 && ts.Nsec < 1e9)
}

func main() {
	before, haveSched := userAccessFaults()

	report("a fresh page nothing has touched", mmap(1, unix.PROT_READ|unix.PROT_WRITE), 0)

	two := mmap(2, unix.PROT_READ|unix.PROT_WRITE)
	two[0] = 1
	report("across a touched page and a fresh one", two, page-8)

	report("a PROT_NONE page", mmap(1, unix.PROT_NONE), 0)

	was := mmap(1, unix.PROT_READ|unix.PROT_WRITE)
	was[0] = 1
	must(unix.Mprotect(was, unix.PROT_NONE))
	report("a touched page made PROT_NONE", was, 0)

	ro := mmap(1, unix.PROT_READ)
	fmt.Println("a read-only page reads", ro[0])
	report("a read-only page, mapped", ro, 0)

	gone := mmap(1, unix.PROT_READ|unix.PROT_WRITE)
	must(unix.Munmap(gone))
	report("an unmapped page", gone, 0)

	half := mmap(2, unix.PROT_READ|unix.PROT_WRITE)
	half[0] = 1
	if _, _, e := syscall.Syscall(unix.SYS_MUNMAP, addr(half, page), page, 0); e != 0 {
		must(e)
	}
	report("across a touched page and an unmapped one", half, page-8)

	race(2000)

	if haveSched {
		after, _ := userAccessFaults()
		fmt.Printf("gometal: user_access_faults grew by %d\n", after-before)
	}
}

// race calls clock_gettime into a page in a loop on one thread while
// another thread empties the page (MADV_DONTNEED frees its frame), makes
// it PROT_NONE and writable again, rounds times: the lock-free path's
// store races with the page's entry being cleared. Every call must give 0
// or EFAULT (and the kernel must not panic).
func race(rounds int) {
	b := mmap(1, unix.PROT_READ|unix.PROT_WRITE)
	var done atomic.Bool
	go func() {
		runtime.LockOSThread()
		for range rounds {
			must(unix.Madvise(b, unix.MADV_DONTNEED))
			must(unix.Mprotect(b, unix.PROT_NONE))
			must(unix.Mprotect(b, unix.PROT_READ|unix.PROT_WRITE))
		}
		done.Store(true)
	}()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	calls, other := 0, 0
	for !done.Load() || calls == 0 {
		calls++
		if e := clockGettime(addr(b, 0)); e != 0 && e != syscall.EFAULT {
			other++
		}
	}
	fmt.Printf("racing with MADV_DONTNEED and mprotect: every call gave 0 or EFAULT: %v\n", other == 0)
}

func must(err error) {
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
}

// userAccessFaults reads the kernel's count of fixed-up user-access
// faults from /proc/gometal/sched; ok is false where there is no such
// file (a Linux host). A file without the line ends the program.
func userAccessFaults() (n int64, ok bool) {
	f, err := os.Open("/proc/gometal/sched")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, found := strings.CutPrefix(s.Text(), "user_access_faults "); found {
			n, err := strconv.ParseInt(v, 10, 64)
			must(err)
			return n, true
		}
	}
	fmt.Println("gometal: /proc/gometal/sched has no user_access_faults line")
	os.Exit(1)
	return 0, false
}
