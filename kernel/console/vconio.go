package console

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/conin"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
)

// Data over the virtio console's ports: the program's writes to fds 1
// and 2 fill transmit slots and wait (blocked, not spinning) while every
// slot is with the host; the stdin port's receive slots feed the console
// input ring of consolein.go, only as fast as the program reads it, so
// the host's chardev stops reading when the guest falls behind; kernel
// log lines go to their own port.

// VconQueueOf returns the transmit queue of console stream fd (1 or 2),
// or -1 when the stream is on COM1. Context: any; does not allocate.
func VconQueueOf(stream uint8) int {
	switch {
	case stream == 1 && vconOn[vconPortStdout]:
		return vqStdout
	case stream == 2 && vconOn[vconPortStderr]:
		return vqStderr
	}
	return -1
}

// vconStdinOn reports whether fd 0 reads the stdin port.
// Context: any; does not allocate.
func vconStdinOn() bool { return vconOn[vconPortStdin] }

// VconWrite copies as much of the user's buffer as fits into free slots
// of queue qi and returns the count; when no slot is free it blocks t
// until the host returns one (then the call runs again), or fails with
// EAGAIN on a non-blocking descriptor. Context: trap, kernel lock held;
// does not allocate.
func VconWrite(t sched.TID, qi int, nonblock bool, buf, n uintptr) int64 {
	q := &VconQ[qi]
	q.ReapTx()
	var done uintptr
	for done < n && !q.Full() {
		k := min(n-done, uintptr(q.Slot))
		b, ok := vm.UserBytes(buf+done, k, false)
		if !ok {
			if done == 0 {
				return -abi.EFAULT
			}
			break
		}
		i := q.AvailIdx & (q.Size - 1)
		copy(unsafeSlice(q.SlotAddr(i), k), b)
		q.Put(uint32(k))
		done += k
	}
	if done > 0 || n == 0 {
		q.Publish()
		return int64(done)
	}
	if nonblock {
		return -abi.EAGAIN
	}
	r := vfs.WaitKey(t, vfs.VconWriteKeyBase+uintptr(qi)*8)
	// The host taking output raises an interrupt: for the deadlock
	// detector this thread waits for a device.
	threadtab.Sched.Threads[t].Device = true
	return r
}

// VconInterrupt handles the console's interrupt: returned transmit slots
// wake blocked writers, received input goes to the console ring, control
// messages update the ports. Context: trap, kernel lock held.
func VconInterrupt() {
	if vdev.mmio {
		if st := rd32(vdev.regs + 0x60); st != 0 {
			wr32(vdev.regs+0x64, st)
		}
	}
	if !vconUp {
		return
	}
	for _, qi := range [...]int{vqStdout, vqStderr, vqKlog} {
		if VconQ[qi].ReapTx() {
			vfs.WakeKey(vfs.VconWriteKeyBase + uintptr(qi)*8)
			notifyConsoleFDs()
		}
	}
	vconStdinPump() // data before the control queue: a close follows its data
	vconControlRx()
}

// vconStdinPump moves received stdin slots into the console ring while
// they fit, gives the slots back to the device and wakes a reader.
// Context: trap, kernel lock held; does not allocate.
func vconStdinPump() {
	if !vconUp {
		return
	}
	q := &VconQ[vqStdin]
	got := false
	for {
		s, n, ok := q.PeekUsed()
		if !ok || int(n) > conin.BufSize-conin.Len-conin.Edit {
			break
		}
		q.PopUsed(s)
		consoleInput(unsafeSlice(q.SlotAddr(s), uintptr(min(n, q.Slot))), conin.TTY)
		q.Put(q.Slot)
		got = true
	}
	if got {
		q.Publish()
		consoleInputArrived()
	}
}

// vconStdinClosed records that the host closed the stdin port: after the
// buffered bytes, reads return end of file. Context: trap or boot, kernel
// lock held; does not allocate.
func vconStdinClosed() {
	if conin.EOF {
		return
	}
	vconStdinPump()
	conin.EOF = true
	consoleInputArrived()
}

// vconTxPending reports whether some transmit slot is still with the host
// (a writer may wait for it). Context: trap; does not allocate.
func vconTxPending() bool {
	if !vconUp {
		return false
	}
	for _, qi := range [...]int{vqStdout, vqStderr, vqKlog} {
		if VconQ[qi].InFlight > 0 {
			return true
		}
	}
	return false
}

// vconDrainIdle bounds the exit drain: it gives up when the host has
// taken nothing for this long (a reader that stopped reading).
const vconDrainIdle = 10_000_000_000 // ns

// VconDrain waits until the host has taken every byte written to the
// console ports, or made no progress for vconDrainIdle, and then sends
// the kernel log back to COM1 (the last lines, the status record).
// Context: trap or boot (shutdown), kernel lock held; does not allocate.
func VconDrain() {
	if !vconUp || klog.VconStopped() {
		klog.StopVcon()
		return
	}
	last := clock.Nanotime()
	for vconTxPending() {
		progress := false
		for _, qi := range [...]int{vqStdout, vqStderr, vqKlog} {
			progress = VconQ[qi].ReapTx() || progress
		}
		now := clock.Nanotime()
		if progress {
			last = now
		} else if now-last > vconDrainIdle {
			klog.StopVcon()
			klog.Print("warning: the host stopped taking console output: the rest is lost")
			return
		}
		cpu.Pause()
	}
	klog.StopVcon()
}

// notifyConsoleFDs bumps the readiness of every console descriptor and
// records it for the epoll instances that watch one (fdtab.Notify:
// package kernel acts on the record, socketEvents, after the interrupt or
// system call). Context: trap, kernel lock held; does not allocate.
func notifyConsoleFDs() {
	for fd := range fdtab.Files {
		if fdtab.Files[fd].Kind == fdtab.KindConsole {
			fdtab.Files[fd].Seq++
			fdtab.Notify(fd)
		}
	}
}
