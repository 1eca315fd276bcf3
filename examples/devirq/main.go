// Command devirq exercises what device drivers written as goroutines get
// from the kernel: /dev/mem mappings of device memory (the local APIC) and
// of the DMA pool, and an interrupt as a file descriptor read through the
// netpoller. It raises the interrupt itself, the way an MSI does: by
// writing the vector to the local APIC (an inter-processor interrupt to
// the CPU the kernel named), and waits for the descriptor to become
// readable.
package main

import (
	"encoding/binary"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	lapicBase = 0xfee00000
	regVer    = 0x30
	regICRLo  = 0x300
	regICRHi  = 0x310
	irqInfo   = 0x47490001
)

func fail(what string, err error) {
	fmt.Printf("%s: %v\n", what, err)
	os.Exit(1)
}

func dmaPool() (base, size uint64) {
	b, err := os.ReadFile("/proc/gometal/dma")
	if err != nil {
		fail("dma pool", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 2 {
			v, _ := strconv.ParseUint(f[1], 10, 64)
			switch f[0] {
			case "base":
				base = v
			case "size":
				size = v
			}
		}
	}
	return base, size
}

func main() {
	memf, err := os.OpenFile("/dev/mem", os.O_RDWR, 0)
	if err != nil {
		fail("open /dev/mem", err)
	}
	mem := fdOf(memf)
	// RAM the kernel manages is refused.
	if _, err := unix.Mmap(mem, 0x200000, 4096, unix.PROT_READ, unix.MAP_SHARED); err != unix.EPERM {
		fail("mapping kernel RAM should give EPERM", err)
	}
	fmt.Println("kernel RAM refused: EPERM")

	base, size := dmaPool()
	pool, err := unix.Mmap(mem, int64(base), int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		fail("map the DMA pool", err)
	}
	for i := range pool {
		pool[i] = byte(i * 7)
	}
	ok := true
	for i := range pool {
		ok = ok && pool[i] == byte(i*7)
	}
	fmt.Printf("DMA pool of %d KiB mapped and writable: %v\n", size>>10, ok)
	unix.Munmap(pool)

	apic, err := unix.Mmap(mem, lapicBase, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		fail("map the local APIC", err)
	}
	reg := func(off int) *uint32 { return (*uint32)(unsafe.Pointer(&apic[off])) }
	fmt.Printf("local APIC mapped: version register lists more than 3 LVT entries: %v\n", (*reg(regVer)>>16&0xff)+1 > 3)

	irq, err := os.OpenFile("/dev/irq", os.O_RDWR, 0)
	if err != nil {
		fail("open /dev/irq", err)
	}
	// os.OpenFile made the descriptor non-blocking and gave it to the
	// netpoller; SyscallConn reaches it without undoing that (Fd would).
	var info [2]uint32
	rc, err := irq.SyscallConn()
	if err != nil {
		fail("irq conn", err)
	}
	var e syscall.Errno
	rc.Control(func(fd uintptr) {
		_, _, e = syscall.Syscall(syscall.SYS_IOCTL, fd, irqInfo, uintptr(unsafe.Pointer(&info)))
	})
	if e != 0 {
		fail("irq info", e)
	}
	vector, dest := info[0], info[1]
	fmt.Printf("interrupt vector in the device range: %v\n", vector >= 0x30 && vector <= 0xef)
	f := irq
	if err := f.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		fail("irq fd is not pollable", err)
	}
	got := make(chan uint64)
	go func() {
		var b [8]byte
		if _, err := f.Read(b[:]); err != nil {
			fail("read irq", err)
		}
		got <- binary.LittleEndian.Uint64(b[:])
	}()
	raise := func(vector, dest uint32) {
		*reg(regICRHi) = dest << 24
		*reg(regICRLo) = vector // fixed delivery
	}
	time.Sleep(10 * time.Millisecond) // let the reader park in the netpoller
	raise(vector, dest)
	fmt.Printf("interrupts read through the netpoller: %d\n", <-got)
	rawDescriptor(raise)
	if _, err := unix.Mmap(mem, lapicBase, 4096, unix.PROT_READ, unix.MAP_PRIVATE); err != unix.EINVAL {
		fail("a private /dev/mem mapping should give EINVAL", err)
	}
	fmt.Println("done")
}

// rawInterrupts is how many interrupts rawDescriptor raises.
const rawInterrupts = 64

// rawDescriptor raises interrupts on a /dev/irq descriptor that no
// epoll instance watches (opened with open(2), not os.OpenFile, which
// gives it to the netpoller), one at a time, each read with a
// non-blocking read(2) before the next is raised (so that the local
// APIC never merges two), and prints how many it raised, read and the
// kernel counted, from /proc/gometal/sched's lines before and after,
// with how many of those the files lock alone served (and how many of
// them then took the kernel lock's path for a wake) and how many reads
// took the kernel lock's path (qemu's TestDeviceAccess: with
// nothing watching the descriptor and nothing beside it, at one CPU,
// every interrupt and every read of its count is served under the files
// lock alone).
func rawDescriptor(raise func(vector, dest uint32)) {
	fd, err := unix.Open("/dev/irq", unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		fail("open /dev/irq raw", err)
	}
	var info [2]uint32
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), irqInfo, uintptr(unsafe.Pointer(&info))); e != 0 {
		fail("raw irq info", e)
	}
	before := schedCounts()
	var read uint64
	var b [8]byte
	for i := range rawInterrupts {
		raise(info[0], info[1])
		deadline := time.Now().Add(5 * time.Second)
		for read <= uint64(i) {
			n, err := unix.Read(fd, b[:])
			switch {
			case err == unix.EAGAIN:
				if time.Now().After(deadline) {
					fail(fmt.Sprintf("interrupt %d not counted after 5s", i+1), err)
				}
			case err != nil || n != 8:
				fail("raw irq read", err)
			default:
				read += binary.LittleEndian.Uint64(b[:])
			}
		}
	}
	after := schedCounts()
	unix.Close(fd)
	delta := func(name string) uint64 { return after[name] - before[name] }
	shared, locked := delta("irq_interrupt_fileslock"), delta("irq_interrupt_locked")
	fmt.Printf("interrupts on a descriptor outside the netpoller: %d raised, %d read, %d counted\n", rawInterrupts, read, shared+locked)
	fmt.Printf("served: %d interrupts under the files lock alone (%d then woke a thread on the kernel lock's path), %d reads on the kernel lock's path\n",
		shared, delta("irq_interrupt_wake"), delta("locked_syscall read"))
}

// schedCounts reads /proc/gometal/sched's two-word lines (an event and
// its count) and its "locked_syscall NAME COUNT" lines, by name.
func schedCounts() map[string]uint64 {
	b, err := os.ReadFile("/proc/gometal/sched")
	if err != nil {
		fail("read /proc/gometal/sched", err)
	}
	counts := map[string]uint64{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "locked_syscall" {
			f = []string{f[0] + " " + f[1], f[2]}
		}
		if len(f) == 2 {
			if v, err := strconv.ParseUint(f[1], 10, 64); err == nil {
				counts[f[0]] = v
			}
		}
	}
	return counts
}

// fdOf returns f's descriptor without changing its mode.
func fdOf(f *os.File) int {
	rc, err := f.SyscallConn()
	if err != nil {
		fail("conn", err)
	}
	var fd int
	rc.Control(func(u uintptr) { fd = int(u) })
	return fd
}
