package klog

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/virtq"
)

var (
	// vconQ is the address of the virtio console's kernel log queue
	// (kept as an address: trap context stores no Go pointers in
	// globals), 0 while the log goes to COM1.
	vconQ uintptr
	// vconOff sends kernel lines to COM1 again: from the exit drain and
	// a kernel panic on.
	vconOff bool
)

// UseVcon sends the kernel log to the virtio console's log port through
// q, a queue in static storage. Context: boot, kernel lock held.
func UseVcon(q *virtq.Queue) { vconQ = uintptr(unsafe.Pointer(q)) }

// StopVcon sends the kernel log back to COM1 for good (the exit drain, a
// kernel panic). Context: any; does not allocate.
func StopVcon() { vconOff = true }

// VconStopped reports whether StopVcon was called.
func VconStopped() bool { return vconOff }

// vconLog sends one kernel log line, text with the prefix and a newline
// added, in one slot of the kernel log port (text is cut to fit) and
// reports whether it did; false leaves the line to COM1. It polls for a
// free slot (the log cannot block a thread), for about a second at most.
// Context: trap or boot, kernel lock held; does not allocate.
func vconLog(text []byte) bool {
	if vconQ == 0 || vconOff {
		return false
	}
	q := (*virtq.Queue)(cpu.Pointer(vconQ))
	for spins := 0; ; spins++ {
		q.ReapTx()
		if !q.Full() {
			break
		}
		if spins > 20_000_000 {
			return false
		}
		cpu.Pause()
	}
	slot := unsafe.Slice((*byte)(cpu.Pointer(q.SlotAddr(q.AvailIdx&(q.Size-1)))), q.Slot)
	n := copy(slot, Prefix)
	n += copy(slot[n:len(slot)-1], text)
	slot[n] = '\n'
	q.Put(uint32(n + 1))
	q.Publish()
	return true
}
