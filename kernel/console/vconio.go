package console

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/conin"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/virtq"
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
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
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

// Which lock covers what (issue 18): the standard streams' transmit
// queues (VconQ[vqStdout], VconQ[vqStderr]), writerWaits and the console
// descriptors' readiness records are the files lock's: a write takes it
// alone, shared, beside other CPUs' file calls and writes (VconWriteNow,
// from package kernel's fileTrap), its queue's own word lock keeping
// two writes of one queue apart (txHeld), or exclusively inside the
// kernel lock (VconWrite, where the writer may wait); the interrupt that
// returns their slots takes it shared too (TxInterrupt, from package
// kernel's deviceTrap: the queue's word lock keeps it and a write
// apart) or exclusively inside the kernel lock (VconInterrupt), and an
// echo exclusively (vconEcho). The stdin and control queues and
// console input are used under both locks. The kernel log's queue needs
// the kernel lock alone (klog writes it from any path that holds it).

// txHeld is each standard stream's transmit queue's word lock
// (spin.LockWord), which a write holds while it reaps, fills and
// announces the queue's slots (VconWriteNow): writes run beside each
// other under the files lock held shared. Indexed by queue, from
// vqStdout (txLock).
var txHeld [2]uint32

// txLock returns standard stream queue qi's word lock (txHeld); the mask
// spares a bounds check. Context: any; does not allocate.
func txLock(qi int) *uint32 { return &txHeld[(qi-vqStdout)&1] }

// writerWaits marks a standard stream's transmit queue that a writer
// blocked on (VconWrite) until VconInterrupt wakes it: the interrupt
// that returns its slots must then take the kernel lock's path.
// Files lock.
var writerWaits [VqCount]bool

// VconWriteNow copies as much of the user's buffer as fits into free
// slots of queue qi (a standard stream's), announces them and returns
// the count; the caller rings the queue's doorbell
// (virtq.Queue.RingDoorbell) once its locks are released. With every
// slot still with the host it returns EAGAIN for a non-blocking
// descriptor and vfs.WouldBlock otherwise, having written nothing
// (VconWrite then blocks the writer). It holds the queue's word lock
// (txHeld) throughout: other CPUs' writes run beside it (the files lock
// held shared), so a write's bytes take consecutive slots, whole. (A
// writer of the same queue spins meanwhile, with interrupts off, while
// this one faults in and copies at most the queue's slots; no TLB
// shootdown waits for it: its CPU is in a call under the files lock,
// InUser clear, and a madvise beside (under the memory lock alone) waits
// for that call's end only once its own lock is released, as for a
// pipe's lock.)
// Context: trap, files lock held; does not allocate.
func VconWriteNow(qi int, nonblock bool, buf, n uintptr) int64 {
	q := &VconQ[qi]
	spin.LockWord(txLock(qi))
	reapStd(q)
	var done uintptr
	r := int64(0)
	for done < n && !q.Full() {
		k := min(n-done, uintptr(q.Slot))
		b, ok := vm.UserBytes(buf+done, k, false)
		if !ok {
			r = -abi.EFAULT
			break
		}
		i := q.AvailIdx & (q.Size - 1)
		copy(unsafeSlice(q.SlotAddr(i), k), b)
		q.Put(uint32(k))
		done += k
	}
	switch {
	case done > 0:
		q.Announce()
		r = int64(done)
	case r != 0 || n == 0:
	case nonblock:
		r = -abi.EAGAIN
	default:
		r = vfs.WouldBlock
	}
	spin.UnlockWord(txLock(qi))
	return r
}

// TxRoom reports whether standard stream queue qi has a free slot (the
// console's EPOLLOUT), read under the queue's word lock (txHeld): a
// write beside changes the two words Full reads, and a look between them
// could find a queue with room full, and miss the edge that no reap will
// record again. Context: trap, files lock held; does not allocate.
func TxRoom(qi int) bool {
	spin.LockWord(txLock(qi))
	room := !VconQ[qi].Full()
	spin.UnlockWord(txLock(qi))
	return room
}

// VconWrite is VconWriteNow for the kernel lock's path, whose writer may
// wait: when no slot is free it blocks t until the interrupt that
// returns one wakes it (then the call runs again); it rings the doorbell
// itself. Context: trap, kernel and files locks held; does not
// allocate.
func VconWrite(t sched.TID, qi int, nonblock bool, buf, n uintptr) int64 {
	if r := VconWriteNow(qi, nonblock, buf, n); r != vfs.WouldBlock {
		if r > 0 {
			VconQ[qi].RingDoorbell() // slots announced; an EAGAIN or EFAULT announced none
		}
		return r
	}
	writerWaits[qi] = true
	r := vfs.WaitKey(t, vconWriteKey(qi))
	// The host taking output raises an interrupt: for the deadlock
	// detector this thread waits for a device.
	threadtab.Sched.Threads[t].Device = true
	return r
}

// reapStd frees a standard stream's transmitted slots (q is VconQ's
// stdout or stderr queue) and, when that makes a full queue writable,
// records the console descriptors' new readiness (notifyConsoleFDs): a
// thread may wait in epoll for that edge, having found no room. Each
// reaper calls it (the interrupt, a write, an echo), so whichever frees
// the slots records it. Context: trap, files lock held; does not
// allocate.
func reapStd(q *virtq.Queue) {
	if wasFull := q.Full(); q.ReapTx() && wasFull {
		notifyConsoleFDs()
	}
}

// vconWriteKey is the wait key of writers blocked on transmit queue qi.
// Context: any; does not allocate.
func vconWriteKey(qi int) uintptr { return vfs.VconWriteKeyBase + uintptr(qi)*8 }

// TxInterrupt serves the console's interrupt under the files lock
// alone where it can: it acknowledges it (virtio-mmio's status
// register) and frees the standard streams' transmitted slots, recording
// the console descriptors' new readiness (notifyConsoleFDs), and reports
// whether that was all. It was not (false) when a writer waits for a
// queue it freed slots of, or the stdin or control queue holds buffers
// the device returned (input, a control message): the caller then goes
// on to the kernel lock's path, VconInterrupt, which wakes the writer.
// The kernel log's slots stay until its next line or that path frees
// them (klog.Write polls for room). Writes may run beside it (package
// kernel's deviceTrap holds the files lock shared): it reaps each queue
// under the queue's word lock (txHeld); writerWaits changes only under
// the files lock held exclusively (VconWrite, VconInterrupt).
// Context: trap, files lock held; does not allocate.
func TxInterrupt() bool {
	if vdev.mmio {
		if st := rd32(vdev.regs + 0x60); st != 0 {
			wr32(vdev.regs+0x64, st)
		}
	}
	if !vconUp {
		return true
	}
	done := true
	for qi := vqStdout; qi <= vqStderr; qi++ {
		spin.LockWord(txLock(qi)) // writes beside it (the files lock held shared)
		reapStd(&VconQ[qi])
		// Whoever freed the slots (this interrupt, or a write that
		// reaped them first): a writer waits for room there.
		done = done && !(writerWaits[qi] && !VconQ[qi].Full())
		spin.UnlockWord(txLock(qi))
	}
	return done && !stdinWaiting() && !VconQ[vqCtrlRx].HasUsed()
}

// VconInterrupt handles the console's interrupt on the kernel lock's
// path: TxInterrupt's part (which deviceTrap may have done already),
// then a writer that waits for slots now free is woken, received input
// goes to the console ring, control messages update the ports.
// Context: trap, kernel and files locks held.
func VconInterrupt() {
	TxInterrupt()
	if !vconUp {
		return
	}
	for qi := vqStdout; qi <= vqStderr; qi++ {
		if writerWaits[qi] && !VconQ[qi].Full() {
			writerWaits[qi] = false
			vfs.WakeKey(vconWriteKey(qi))
		}
	}
	VconQ[vqKlog].ReapTx()
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
	for stdinWaiting() {
		s, n, _ := q.PeekUsed()
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

// stdinWaiting reports whether the stdin port returned input that the
// console ring has room for (vconStdinPump's work; input the ring has
// no room for waits there until a read makes room, and pumps it then).
// Context: trap, files lock held; does not allocate.
func stdinWaiting() bool {
	_, n, ok := VconQ[vqStdin].PeekUsed()
	return ok && int(n) <= conin.BufSize-conin.Len-conin.Edit
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
// Context: trap (shutdown: kernel and files locks held) or boot (one
// CPU); does not allocate.
func VconDrain() {
	if !vconUp || klog.VconStopped() {
		klog.StopVcon()
		return
	}
	for s := uint8(1); s <= 2; s++ {
		if qi := VconQueueOf(s); qi >= 0 {
			VconQ[qi].RingDoorbell() // a writer stopped between its announce and its doorbell
		}
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
// system call). Opens and closes may change other descriptors beside it
// (a write holds the files lock shared): it reads each descriptor's kind
// in one load and bumps the sequence atomically, as vfs.PipeChanged.
// Context: trap, files lock held; does not allocate.
func notifyConsoleFDs() {
	for fd := range fdtab.Files {
		if w, _ := fdtab.LoadFlags(fd); w.Kind() == fdtab.KindConsole {
			atomic.AddUint64(&fdtab.Files[fd].Seq, 1)
			fdtab.Notify(fd)
		}
	}
}
