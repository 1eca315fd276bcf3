package console

import (
	"encoding/binary"
	"sync"
	"testing"
	"unsafe"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/conin"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/virtq"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostDevice gives the console's queues host memory (rings, slots and a
// notification word each, with vqSpec's sizes and small slots), marks
// the device up with the standard streams on their ports and fd 1 and 2
// as console descriptors, and puts everything back after the test. It
// returns each queue's notification word.
func hostDevice(t *testing.T) *[VqCount]uint32 {
	t.Helper()
	savedQ, savedDev, savedUp, savedOn, savedWaits := VconQ, vdev, vconUp, vconOn, writerWaits
	savedFiles, savedSched := fdtab.Files, threadtab.Sched
	threadtab.Sched.Init(1) // an empty wait table
	var notify [VqCount]uint32
	var keep [][]byte
	for i := range VconQ {
		usedOff, total := virtq.Layout(int(vqSpec[i].size))
		ring := make([]byte, total)
		bufs := make([]byte, int(vqSpec[i].size)*64)
		keep = append(keep, ring, bufs)
		VconQ[i] = virtq.Queue{Index: vqSpec[i].index, Size: vqSpec[i].size, Slot: 64, UsedOff: usedOff,
			Ring: uintptr(unsafe.Pointer(&ring[0])), Buf: uintptr(unsafe.Pointer(&bufs[0])),
			Notify: uintptr(unsafe.Pointer(&notify[i])), MMIONote: true, RX: vqSpec[i].rx}
	}
	vdev, vconUp = vconDev{found: true}, true
	vconOn[vconPortStdout], vconOn[vconPortStderr] = true, true
	writerWaits = [VqCount]bool{}
	fdtab.Files[1] = fdtab.File{Kind: fdtab.KindConsole, Stream: 1}
	fdtab.Files[2] = fdtab.File{Kind: fdtab.KindConsole, Stream: 2}
	fdtab.NotifyFDs.Clear()
	fdtab.NotifyPending.Store(false)
	t.Cleanup(func() {
		VconQ, vdev, vconUp, vconOn, writerWaits = savedQ, savedDev, savedUp, savedOn, savedWaits
		fdtab.Files, threadtab.Sched = savedFiles, savedSched
		fdtab.NotifyFDs.Clear()
		fdtab.NotifyPending.Store(false)
		_ = keep // the rings and slots stay alive until here
	})
	return &notify
}

// putSlots hands n slots of queue qi to the device, as a write or the
// stdin pump does. Context: test.
func putSlots(qi, n int) {
	q := &VconQ[qi]
	for range n {
		q.Put(q.Slot)
	}
	q.Announce()
}

// deviceReturns returns the oldest n slots of queue qi in the used ring,
// as the device does once it has sent (or filled) them.
func deviceReturns(t *testing.T, qi, n int) {
	t.Helper()
	q := &VconQ[qi]
	used := unsafeSlice(q.Ring+q.UsedOff, 4+8*uintptr(q.Size))
	idx := binary.LittleEndian.Uint16(used[2:])
	for range n {
		slot := uint32(idx) & uint32(q.Size-1) // returned in the order handed out
		e := used[4+8*(int(idx)&int(q.Size-1)):]
		binary.LittleEndian.PutUint32(e, slot)
		binary.LittleEndian.PutUint32(e[4:], q.Slot)
		idx++
	}
	binary.LittleEndian.PutUint16(used[2:], idx)
}

// TestTxInterruptFreesSlots: an interrupt that only returns output slots
// is served under the files lock alone: the slots are free again, and
// when that makes a full queue writable the console descriptors'
// readiness is recorded for epoll (their sequence numbers move,
// fdtab.Notify), with nothing for the kernel lock's path; slots returned
// to a queue that had room change no readiness.
func TestTxInterruptFreesSlots(t *testing.T) {
	hostDevice(t)
	size := int(VconQ[vqStdout].Size)
	putSlots(vqStdout, size)
	assert.True(t, TxInterrupt(), "nothing returned: nothing to do")
	assert.False(t, fdtab.NotifyPending.Load(), "nothing changed")
	deviceReturns(t, vqStdout, 2)
	seq := fdtab.Files[1].Seq
	assert.True(t, TxInterrupt(), "returned slots and no writer waiting")
	assert.Equal(t, size-2, VconQ[vqStdout].InFlight, "two slots are free again")
	assert.Equal(t, seq+1, fdtab.Files[1].Seq, "fd 1 became writable")
	assert.Equal(t, seq+1, fdtab.Files[2].Seq, "and so did fd 2, the same console")
	assert.True(t, fdtab.NotifyPending.Load(), "recorded for the epoll instances")
	assert.GreaterOrEqual(t, fdtab.NotifyFDs.Next(0), 0)

	fdtab.NotifyPending.Store(false)
	deviceReturns(t, vqStdout, 1)
	assert.True(t, TxInterrupt())
	assert.Equal(t, size-3, VconQ[vqStdout].InFlight)
	assert.Equal(t, seq+1, fdtab.Files[1].Seq, "it was writable already")
	assert.False(t, fdtab.NotifyPending.Load())
}

// TestTxInterruptNeedsKernelLock: the interrupt goes on to the kernel
// lock's path (false) exactly when a writer waits on a queue that has
// room again (the interrupt's slots, or those a write reaped first), or
// input the console ring has room for or a control message arrived; a
// writer waiting on a queue still full, input that must wait for a read
// to make room, or a device not up leave it to the files lock alone.
// (A writer only waits on a full queue: each case fills it.)
func TestTxInterruptNeedsKernelLock(t *testing.T) {
	cases := []struct {
		name     string
		waitOn   int // a full queue a writer waits on, or -1
		returned int // the queue whose slot the device returned, or -1
		reaped   bool
		rx       int // a receive queue with a buffer the device filled, or -1
		ringFull bool
		down     bool
		want     bool
	}{
		{"slots back, nobody waits", -1, vqStdout, false, -1, false, false, true},
		{"slots back to a waiting writer", vqStdout, vqStdout, false, -1, false, false, false},
		{"a write took the slots back first", vqStdout, vqStdout, true, -1, false, false, false},
		{"stderr's writer waits, stdout's slots back", vqStderr, vqStdout, false, -1, false, false, true},
		{"stderr's slots back to its writer", vqStderr, vqStderr, false, -1, false, false, false},
		{"a writer waits, nothing back", vqStdout, -1, false, -1, false, false, true},
		{"input arrived", -1, -1, false, vqStdin, false, false, false},
		{"input arrived, the ring full", -1, vqStdout, false, vqStdin, true, false, true},
		{"a control message arrived", -1, vqStdout, false, vqCtrlRx, false, false, false},
		{"device not up", vqStdout, vqStdout, false, vqStdin, false, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hostDevice(t)
			resetConsoleInput(t, false)
			for _, qi := range []int{vqStdout, vqStderr, vqStdin, vqCtrlRx} {
				n := 2
				if qi == c.waitOn {
					n = int(VconQ[qi].Size)
					writerWaits[qi] = true
				}
				putSlots(qi, n)
			}
			if c.returned >= 0 {
				deviceReturns(t, c.returned, 1)
			}
			if c.reaped {
				VconQ[c.returned].ReapTx() // what a write's VconWriteNow does first
			}
			if c.rx >= 0 {
				deviceReturns(t, c.rx, 1)
			}
			if c.ringFull {
				conin.Len = conin.BufSize
			}
			vconUp = !c.down
			assert.Equal(t, c.want, TxInterrupt())
			if c.returned >= 0 && !c.down {
				assert.False(t, VconQ[c.returned].Full(), "the returned slot is free whichever path goes on")
			}
			assert.Equal(t, 2, VconQ[vqStdin].InFlight, "input is the kernel lock's path's to take")
		})
	}
}

// TestVconInterruptWakesWriter: after TxInterrupt freed the slots of a
// queue a writer waits on, the kernel lock's path (VconInterrupt) finds
// nothing more to reap and still ends the wait (writerWaits cleared: the
// writer's wait key woken); while the queue is still full it keeps the
// mark for the interrupt that brings room.
func TestVconInterruptWakesWriter(t *testing.T) {
	hostDevice(t)
	putSlots(vqStdout, int(VconQ[vqStdout].Size))
	require.True(t, VconQ[vqStdout].Full())
	writerWaits[vqStdout] = true
	VconInterrupt()
	assert.True(t, writerWaits[vqStdout], "still full: the writer goes on waiting")
	deviceReturns(t, vqStdout, 1)
	assert.False(t, TxInterrupt(), "a writer waits: the kernel lock's path wakes it")
	assert.False(t, VconQ[vqStdout].Full())
	VconInterrupt() // its wait key woken (the wake itself needs a CPU: the boot tests' big writes wait and are woken, qemu/vconsole_boot_test.go)
	assert.False(t, writerWaits[vqStdout], "the writer's wait is over")
}

// TestVconWriteNowFullQueue: with every slot with the host a write
// answers EAGAIN on a non-blocking descriptor and vfs.WouldBlock on a
// blocking one (the kernel lock's path then waits), a write of nothing
// answers 0, and none of them hands the device a slot. (A write that
// copies bytes reads the program's memory: the boot tests write,
// qemu/vconsole_boot_test.go.) A write that finds the full queue's
// slots returned frees them and records the descriptors' new
// readiness, as the interrupt would.
func TestVconWriteNowFullQueue(t *testing.T) {
	notify := hostDevice(t)
	q := &VconQ[vqStdout]
	putSlots(vqStdout, int(q.Size))
	avail := q.AvailIdx
	assert.Equal(t, int64(-abi.EAGAIN), VconWriteNow(vqStdout, true, 0x1000, 10))
	assert.Equal(t, vfs.WouldBlock, VconWriteNow(vqStdout, false, 0x1000, 10))
	assert.Equal(t, int64(0), VconWriteNow(vqStdout, false, 0x1000, 0))
	assert.Equal(t, avail, q.AvailIdx, "no slot handed out")
	assert.Zero(t, notify[vqStdout], "no doorbell rung")
	assert.False(t, fdtab.NotifyPending.Load())

	deviceReturns(t, vqStdout, 1)
	assert.Equal(t, int64(0), VconWriteNow(vqStdout, false, 0x1000, 0))
	assert.False(t, q.Full(), "the write freed the returned slot")
	assert.True(t, fdtab.NotifyPending.Load(), "and recorded that the console is writable again")
}

// TestTxInterruptAcksMMIO: on virtio-mmio the interrupt's status is
// acknowledged (written back to InterruptACK) whichever path goes on.
func TestTxInterruptAcksMMIO(t *testing.T) {
	hostDevice(t)
	var regs [0x100]byte
	vdev = vconDev{found: true, mmio: true, regs: uintptr(unsafe.Pointer(&regs[0]))}
	binary.LittleEndian.PutUint32(regs[0x60:], 1) // InterruptStatus: used buffer
	putSlots(vqStdout, int(VconQ[vqStdout].Size))
	writerWaits[vqStdout] = true
	deviceReturns(t, vqStdout, 1)
	assert.False(t, TxInterrupt())
	assert.Equal(t, uint32(1), binary.LittleEndian.Uint32(regs[0x64:]), "InterruptACK")
}

// TestVconWriteNowBeside: writes of one queue run beside each other,
// beside the interrupt that returns slots and epoll's look at the
// queue's room (TxRoom), and beside opens (the files lock held shared):
// four writers and the interrupt that find the full queue's slots
// returned reap them under the queue's word lock (txHeld), each slot
// once, and whichever makes the full queue writable records the console
// descriptors' readiness once, reading each descriptor's kind in one
// load while an open beside fills other slots of the table. (The writes copy nothing: that reads the program's
// memory, which the boot tests do, qemu/filelock_test.go's console
// stage.) Run with -race (make race).
func TestVconWriteNowBeside(t *testing.T) {
	hostDevice(t)
	q := &VconQ[vqStdout]
	size := int(q.Size)
	putSlots(vqStdout, size)
	deviceReturns(t, vqStdout, size)
	seq := fdtab.Files[1].Seq
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				if r := VconWriteNow(vqStdout, true, 0x1000, 0); r != 0 {
					t.Errorf("a write of nothing: %d", r)
					return
				}
			}
		})
	}
	wg.Go(func() { // the interrupt's reaping and epoll's look at the room, beside them
		for range 200 {
			TxInterrupt()
			TxRoom(vqStdout)
		}
	})
	wg.Go(func() { // opens and closes beside, as fileTrap serves them (vfs.FreeShared's swap)
		for range 200 {
			if fd := fdtab.AllocDesc(fdtab.KindFile, 0, 7); fd >= 0 {
				w, _ := fdtab.LoadFlags(fd)
				fdtab.SwapFlags(fd, w, fdtab.FlagWord(7))
			}
		}
	})
	wg.Wait()
	assert.Zero(t, q.InFlight, "every returned slot reaped once")
	assert.Equal(t, q.AvailIdx, q.LastUsed)
	assert.Equal(t, seq+1, fdtab.Files[1].Seq, "the queue became writable once")
	assert.True(t, fdtab.NotifyPending.Load())
}
