package devices

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
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
	IRQFirstVector = 0x30
	IRQLastVector  = x86.VecPICBase - 1 // the masked 8259s' (spurious) vectors follow
	// irqInfo is the ioctl that writes {vector, APIC id} as two uint32.
	irqInfo = 0x47490001 // 'G' 'I' 1
	// irqDeviceInfo describes platform device i (kernel/firmware/mmio.go): the
	// argument points to 32 bytes, {index uint32 (in), flags uint32, base
	// uint64, size uint64, gsi uint32, 0 uint32}; flags bit 0: level-
	// triggered, bit 1: active low. ENOENT past the last device.
	irqDeviceInfo = 0x47490002
	// irqRouteGSI routes platform device i's interrupt (the argument is
	// i) to this descriptor's vector on the boot CPU. A level-triggered
	// line is masked when it fires and unmasked when the count is read:
	// the driver must silence the device (virtio-mmio: InterruptACK)
	// before its next read, or the next read returns at once.
	irqRouteGSI = 0x47490003
)

// irqFDs maps a vector to its descriptor + 1 (0: free).
var irqFDs [256]int16

// irqDevOf maps a vector to the platform device + 1 routed to it (0:
// none, an MSI vector).
var irqDevOf [256]int16

// OpenIRQ allocates a vector and a descriptor for it. Context: trap,
// kernel lock held.
func OpenIRQ(flags int) int64 {
	for v := IRQFirstVector; v <= IRQLastVector; v++ {
		if irqFDs[v] != 0 {
			continue
		}
		fd := fdtab.Alloc(fdtab.KindIRQ, flags)
		if fd < 0 {
			return -abi.EMFILE
		}
		fdtab.Files[fd].Vector = uint8(v)
		irqFDs[v] = int16(fd + 1)
		return int64(fd)
	}
	return -abi.ENOSPC
}

// irqInterrupt counts an interrupt on vector v, wakes its reader and
// records the descriptor for the epoll instances that watch it
// (fdtab.Notify; Interrupt acts on it). Context: trap, kernel lock held.
func irqInterrupt(v uint64) bool {
	if v >= uint64(len(irqFDs)) || irqFDs[v] == 0 {
		return false
	}
	fd := int(irqFDs[v] - 1)
	f := &fdtab.Files[fd]
	if d := irqDevOf[v]; d != 0 && firmware.MMIODevices()[d-1].Level {
		setGSIMasked(firmware.MMIODevices()[d-1].GSI, true) // until the driver reads the count
	}
	f.AddCount(1) // as IRQInterruptShared and the reads beside count, though none runs beside this
	if f.Reader != noThread {
		t := f.Reader
		f.Reader = noThread
		thread.Restart(t)
	}
	fdtab.Notify(fd)
	return true
}

// IRQVector reports whether v is in the range /dev/irq descriptors are
// given. Context: trap; does not allocate.
func IRQVector(v uint64) bool { return v >= IRQFirstVector && v <= IRQLastVector }

// IRQShared reports whether interrupt descriptor f may be counted and
// read under the files lock held shared, beside other CPUs' file calls
// (IRQInterruptShared, and package fdcalls' StreamCall): its vector
// is an MSI's, raised by a message. A platform device's line routed to
// it (irqRouteGSI) stays on the kernel lock's path whole: a
// level-triggered one is masked and unmasked on its I/O APIC around each
// count (irqInterrupt, IRQRead), and an edge-triggered one is left there
// with it. Context: trap, files lock held (its route changes only under
// the kernel lock's path, the files lock held exclusively), or a first
// look without it that the caller repeats under it (fileTrap's); does
// not allocate.
func IRQShared(f *fdtab.File) bool { return irqDevOf[f.Vector] == 0 }

// IRQInterruptShared counts an interrupt on vector v under the files
// lock held shared and records its descriptor for the epoll instances
// that watch it (fdtab.Notify), as irqInterrupt does, where that needs
// nothing of the kernel lock's: a descriptor of that vector that
// IRQShared allows, with no thread blocked reading it (its wake is the
// scheduler's). The count moves by compare-and-swap (fdtab's
// File.AddCount), as the reads beside it take it (an eventfd's read:
// package fdcalls). It reports false, having changed nothing, for the
// kernel lock's path (deviceInterrupt) to serve the interrupt whole.
// Whether a thread waits in an epoll instance that the record concerns
// is the caller's to look at after it (fdcalls.RecordsNeedKernel).
// Context: trap, files lock held shared, kernel lock not held,
// interrupts off; does not allocate.
func IRQInterruptShared(v uint64) bool {
	if !IRQVector(v) || irqFDs[v] == 0 {
		return false
	}
	fd := int(irqFDs[v] - 1)
	f := &fdtab.Files[fd]
	// Reader is set under both locks (the files lock exclusively), but a
	// signal's wake clears it under the kernel lock alone: either value
	// is safe here (a cleared one counts for a reader that reads again).
	if !IRQShared(f) || atomic.LoadInt32((*int32)(&f.Reader)) != int32(noThread) {
		return false
	}
	f.AddCount(1)
	fdtab.Notify(fd)
	return true
}

// IRQRead returns the interrupt count, blocking until there is one unless
// the descriptor is non-blocking. A read of a descriptor that IRQShared
// allows is served beside other calls instead (package fdcalls'
// StreamCall, the files lock held shared), but for a blocking one that
// finds nothing counted, which comes here to wait. Context: trap, kernel
// lock held.
func IRQRead(t sched.TID, f *fdtab.File, buf, n uintptr) int64 {
	if n < 8 {
		return -abi.EINVAL
	}
	c := f.Counted()
	if c == 0 {
		if f.Nonblock {
			return -abi.EAGAIN
		}
		if f.Reader != noThread {
			return -abi.EAGAIN
		}
		thread.BlockIn(t, threadtab.WaitRead, &f.Reader)
		return blocked
	}
	if !vm.UserWrite64(buf, c) {
		return -abi.EFAULT
	}
	f.TakeCount(c, c) // nothing counts beside this hold (the files lock held exclusively)
	if d := irqDevOf[f.Vector]; d != 0 && firmware.MMIODevices()[d-1].Level {
		setGSIMasked(firmware.MMIODevices()[d-1].GSI, false)
	}
	return 8
}

// setGSIMasked masks or unmasks gsi on the I/O APIC that serves it.
// Context: trap, kernel lock held; does not allocate.
func setGSIMasked(gsi uint32, masked bool) {
	ioapics := firmware.IOAPICs()
	for i := range ioapics {
		if ioapics[i].Serves(gsi) {
			ioapics[i].SetMasked(gsi, masked)
			return
		}
	}
}

// IRQIoctl answers irqInfo, irqDeviceInfo and irqRouteGSI. Context:
// trap, kernel lock held.
func IRQIoctl(f *fdtab.File, req uint, arg uintptr) int64 {
	switch req {
	case irqInfo:
		if !vm.UserWrite32(arg, uint32(f.Vector)) || !vm.UserWrite32(arg+4, percpu.CPUs[0].APICID) {
			return -abi.EFAULT
		}
		return 0
	case irqDeviceInfo:
		i, ok := vm.UserRead32(arg)
		if !ok {
			return -abi.EFAULT
		}
		if i >= uint32(len(firmware.MMIODevices())) {
			return -abi.ENOENT
		}
		d := &firmware.MMIODevices()[i]
		var flags uint32
		if d.Level {
			flags |= 1
		}
		if d.ActiveLow {
			flags |= 2
		}
		if !vm.UserWrite32(arg+4, flags) || !vm.UserWrite64(arg+8, d.Base) || !vm.UserWrite64(arg+16, d.Size) ||
			!vm.UserWrite32(arg+24, d.GSI) || !vm.UserWrite32(arg+28, 0) {
			return -abi.EFAULT
		}
		return 0
	case irqRouteGSI:
		if arg >= uintptr(len(firmware.MMIODevices())) {
			return -abi.ENOENT
		}
		d := &firmware.MMIODevices()[arg]
		ioapics := firmware.IOAPICs()
		for i := range ioapics {
			if ioapics[i].Serves(d.GSI) {
				irqDevOf[f.Vector] = int16(arg + 1)
				ioapics[i].Route(d.GSI, f.Vector, percpu.CPUs[0].APICID, d.ActiveLow, d.Level)
				return 0
			}
		}
		return -abi.EINVAL // no I/O APIC serves it
	}
	return -abi.ENOTTY
}

// CloseIRQ frees the vector of f, masking the platform interrupt routed
// to it. Context: trap, kernel lock held.
func CloseIRQ(f *fdtab.File) {
	if d := irqDevOf[f.Vector]; d != 0 {
		setGSIMasked(firmware.MMIODevices()[d-1].GSI, true)
		irqDevOf[f.Vector] = 0
	}
	irqFDs[f.Vector] = 0
}
