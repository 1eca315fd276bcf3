package kernel

import (
	"github.com/gometal/gometal/sched"
)

// Interrupts as file descriptors. A driver goroutine opens /dev/irq, asks
// the descriptor (ioctl irqInfo) which vector and CPU its device must
// signal (for MSI/MSI-X: address 0xFEE00000 | apic << 12, data = vector),
// and reads it: each read returns the number of interrupts since the last
// one (8 bytes, like an eventfd). Non-blocking, it works through the
// runtime's netpoller: the interrupt makes the descriptor readable and
// wakes the thread in epoll_pwait.
const (
	irqFirstVector = 0x30
	irqLastVector  = 0xef
	// irqInfo is the ioctl that writes {vector, APIC id} as two uint32.
	irqInfo = 0x47490001 // 'G' 'I' 1
)

// irqFDs maps a vector to its descriptor + 1 (0: free).
var irqFDs [256]int16

// openIRQ allocates a vector and a descriptor for it. Context: trap,
// kernel lock held.
func openIRQ(flags int) int64 {
	for v := irqFirstVector; v <= irqLastVector; v++ {
		if irqFDs[v] != 0 {
			continue
		}
		fd := allocFD(fdIRQ, flags)
		if fd < 0 {
			return -_EMFILE
		}
		files[fd].vector = uint8(v)
		irqFDs[v] = int16(fd + 1)
		return int64(fd)
	}
	return -_ENOSPC
}

// irqInterrupt counts an interrupt on vector v and wakes its reader.
// Context: trap, kernel lock held.
func irqInterrupt(v uint64) bool {
	if v >= uint64(len(irqFDs)) || irqFDs[v] == 0 {
		return false
	}
	fd := int(irqFDs[v] - 1)
	f := &files[fd]
	f.count++
	f.seq++
	if f.reader != noThread {
		t := f.reader
		f.reader = noThread
		restart(t)
	}
	epollNotify(fd)
	return true
}

// irqRead returns the interrupt count, blocking until there is one unless
// the descriptor is non-blocking. Context: trap, kernel lock held.
func irqRead(t sched.TID, f *file, buf, n uintptr) int64 {
	if n < 8 {
		return -_EINVAL
	}
	if f.count == 0 {
		if f.nonblock {
			return -_EAGAIN
		}
		if f.reader != noThread {
			return -_EAGAIN
		}
		f.reader = t
		block(t, waitRead)
		return blocked
	}
	if !userWrite64(buf, f.count) {
		return -_EFAULT
	}
	f.count = 0
	f.seq++
	return 8
}

// irqIoctl answers irqInfo. Context: trap, kernel lock held.
func irqIoctl(f *file, req uint, arg uintptr) int64 {
	if req != irqInfo {
		return -_ENOTTY
	}
	if !userWrite32(arg, uint32(f.vector)) || !userWrite32(arg+4, cpus[0].apicID) {
		return -_EFAULT
	}
	return 0
}

// closeIRQ frees the vector of f. Context: trap, kernel lock held.
func closeIRQ(f *file) {
	irqFDs[f.vector] = 0
}

// forgetReader clears t wherever it waits to read (the console or an
// interrupt descriptor): it woke for another reason.
func forgetReader(t sched.TID) {
	forgetSockWaiter(t)
	if conReader == t {
		conReader = noThread
	}
	for fd := range files {
		if files[fd].kind == fdIRQ && files[fd].reader == t {
			files[fd].reader = noThread
		}
	}
}
