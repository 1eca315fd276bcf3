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

// Write writes text as one kernel log line. While the virtio console's
// log port is on (UseVcon, until StopVcon) it goes there, with the prefix
// and a newline added, in one slot of the port (text is cut to fit),
// polling for a free slot (the log cannot block a thread) for about a
// second at most; else, or when no slot came free, on COM1 with the
// prefix, starting on a fresh line.
// Context: trap or boot (kernel lock held while the port is on); does
// not allocate.
func Write(text []byte) {
	if vconQ != 0 && !vconOff {
		q := (*virtq.Queue)(cpu.Pointer(vconQ))
		for spins := 0; ; spins++ {
			q.ReapTx()
			if !q.Full() {
				slot := unsafe.Slice((*byte)(cpu.Pointer(q.SlotAddr(q.AvailIdx&(q.Size-1)))), q.Slot)
				n := copy(slot, Prefix)
				n += copy(slot[n:len(slot)-1], text)
				slot[n] = '\n'
				q.Put(uint32(n + 1))
				q.Publish()
				return
			}
			if spins > 20_000_000 {
				break // the line goes to COM1
			}
			cpu.Pause()
		}
	}
	if col != 0 {
		out('\r')
		out('\n')
	}
	outBytes([]byte(Prefix))
	outBytes(text)
	out('\n')
	col = 0
}
