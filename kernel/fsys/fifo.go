package fsys

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Named pipes (FIFOs, mkfifo): an S_IFIFO inode of the root file system
// gets a pipe while any end is open. As on Linux, opening the read end
// waits for a writer and opening the write end waits for a reader, unless
// O_NONBLOCK (then a reader opens at once and a writer fails with ENXIO);
// O_RDWR opens both ends in one description at once, never waiting, as
// Linux's fifo_open does. Such a wait is not interrupted by signals: the
// open completes first.

// FifoKey is the wait key of openers of pipe p waiting for the other end:
// readers wait for a writer, writers for a reader.
// Context: any; does not allocate.
func FifoKey(p int, reader bool) uintptr {
	k := vfs.FifoKeyBase + uintptr(p)*16
	if reader {
		k += 8
	}
	return k
}

// openFifo opens an end of the FIFO ino; a refused open forgets the
// FIFO's pipe once no end is open. Context: trap, kernel lock held;
// does not allocate.
func openFifo(t sched.TID, ino fs.Ino, flags int) int64 {
	acc := flags & unix.O_ACCMODE
	if acc == unix.O_ACCMODE {
		return -abi.EINVAL // neither reading nor writing (Linux's fifo_open)
	}
	reader, both := acc == unix.O_RDONLY, acc == unix.O_RDWR // both: a writer that reads too
	p := int(vfs.FifoPipe[ino]) - 1
	if p < 0 {
		var e fs.Errno
		if p, e = vfs.Pipes.NewFifo(); e != 0 {
			return -int64(e)
		}
		vfs.FifoPipe[ino] = uint16(p + 1)
	}
	readers, writers := vfs.Pipes.Ends(p)
	var fd int64
	switch {
	case !reader && !both && readers == 0 && flags&unix.O_NONBLOCK != 0:
		fd = -int64(unix.ENXIO)
	case flags&unix.O_DIRECT != 0:
		// Linux's do_dentry_open refuses it after fifo_open, which a
		// blocking open without the other end waits in first; here the
		// refusal comes at once.
		fd = -abi.EINVAL
	default:
		fd = NewDescFD(fdtab.KindPipe, ino, flags)
	}
	if fd < 0 {
		if readers == 0 && writers == 0 {
			m := vfs.Mem()
			vfs.Pipes.Release(&m, p)
			vfs.Done(&m)
			vfs.FifoPipe[ino] = 0
		}
		return fd
	}
	d := vfs.DescOf(&fdtab.Files[fd])
	d.Pipe, d.Reader = int32(p), reader
	// Open the end (a writer's, then a reader's too for both) and
	// complete the other side's waiting opens with their descriptors.
	for end := reader; ; end = true {
		vfs.Pipes.Open(p, end)
		key := FifoKey(p, !end)
		for w := thread.Futexes.WakeOne(key); w != noThread; w = thread.Futexes.WakeOne(key) {
			threadtab.Threads[w].Wait = threadtab.WaitNone
			thread.Wake(w, int64(threadtab.Threads[w].Regs.AX))
		}
		if end || !both {
			break
		}
	}
	vfs.PipeChanged(p)
	readers, writers = vfs.Pipes.Ends(p)
	if both || flags&unix.O_NONBLOCK != 0 || (reader && writers > 0) || (!reader && readers > 0) {
		return fd
	}
	threadtab.Threads[t].Regs.AX = uint64(fd) // the open's result when the other end comes
	thread.Futexes.Wait(t, FifoKey(p, reader))
	thread.Block(t, threadtab.WaitOpen)
	return blocked
}
