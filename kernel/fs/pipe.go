package fs

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/spin"
	"golang.org/x/sys/unix"
)

// Pipes: a 64 KiB ring per pipe, in pages taken when first written, with a
// count of open read and write ends. The kernel makes the waiting (a
// reader of an empty pipe, a writer of a full one) and the readiness
// notifications; the ring only says what happened.
//
// Each pipe has a lock (Lock), for the kernel's calls on it that run
// beside each other (its files lock held shared): a read or write of a
// non-blocking end holds it while it looks at and moves the ring (head,
// n, pages), and a close beside others while it ends an end (CloseEnd);
// epoll's look at its readiness reads n and the ends' counts without
// it, a word each. A pipe is made beside others too (pipe2: New claims
// it atomically), but its freeing (Free) waits until no call beside may
// still use it (the files lock held exclusively, or a hold alone: the
// kernel's vfs.Reclaim). Holds are one copy of at most PipeSize bytes: a
// waiter spins.

// Pipe limits, as Linux's defaults.
const (
	PipeSize  = 16 * PageSize // capacity (F_GETPIPE_SZ)
	PipeBuf   = 4096          // writes up to this size are atomic
	MaxPipes  = 256
	pipePages = PipeSize / PageSize
)

type pipe struct {
	used             uint32 // 1 from New to Free
	held             uint32 // the pipe's lock (Lock: spin.LockWord)
	pages            [pipePages]uint64
	head, n          int // ring start and bytes held
	readers, writers int32
}

// Pipes is the table of pipes. The zero value is ready.
type Pipes struct {
	p [MaxPipes]pipe
}

// New makes a pipe with one read end and one write end open. It claims
// a free pipe with one compare-and-swap of its used word: pipe2 runs
// beside other calls (the kernel's files lock held shared). A free pipe
// is all zero (Free). Context: trap; does not allocate.
func (ps *Pipes) New() (int, Errno) {
	for i := range ps.p {
		if p := &ps.p[i]; atomic.LoadUint32(&p.used) == 0 && atomic.CompareAndSwapUint32(&p.used, 0, 1) {
			p.readers, p.writers = 1, 1 // no descriptor names it yet
			return i, ok
		}
	}
	return -1, ENFILE
}

// NewFifo makes a pipe with no end open yet, for a named pipe (FIFO)
// that opens will attach to. Context: trap; does not allocate.
func (ps *Pipes) NewFifo() (int, Errno) {
	i, e := ps.New()
	if e == ok {
		ps.p[i].readers, ps.p[i].writers = 0, 0
	}
	return i, e
}

// Open counts another open description of one end (a reader or a writer).
// Context: trap, the kernel's files lock held exclusively; does not
// allocate.
func (ps *Pipes) Open(i int, reader bool) {
	if reader {
		ps.p[i].readers++
	} else {
		ps.p[i].writers++
	}
}

// Close ends one open description of an end; the last close of both
// frees the pipe. Context: trap, the kernel's files lock held
// exclusively; does not allocate.
func (ps *Pipes) Close(m *Mem, i int, reader bool) {
	if ps.CloseEnd(i, reader) {
		ps.Free(m, i)
	}
}

// CloseEnd ends one open description of pipe i's read end (reader) or
// write end, and reports whether no end is open any more: the caller
// then frees the pipe (Free), once no call beside may still use it. The
// counts change atomically, as epoll's look at the pipe's readiness
// reads them without the pipe's lock.
// Context: trap, the pipe's lock held, or the kernel's files lock held
// exclusively; does not allocate.
func (ps *Pipes) CloseEnd(i int, reader bool) bool {
	p := &ps.p[i&(MaxPipes-1)]
	end := &p.writers
	if reader {
		end = &p.readers
	}
	atomic.AddInt32(end, -1)
	return atomic.LoadInt32(&p.readers) <= 0 && atomic.LoadInt32(&p.writers) <= 0
}

// Free frees pipe i, whose ends are all closed (CloseEnd), and its
// pages: every field zero, its used word last, so that a New beside
// that claims it finds it whole.
// Context: trap, no call beside uses pipe i; does not allocate.
func (ps *Pipes) Free(m *Mem, i int) {
	p := &ps.p[i&(MaxPipes-1)]
	for k := range p.pages { // by index: a range over the array would copy it
		if pa := p.pages[k]; pa != 0 {
			m.free(pa)
			p.pages[k] = 0
		}
	}
	p.head, p.n, p.readers, p.writers = 0, 0, 0, 0
	atomic.StoreUint32(&p.used, 0)
}

// Release frees pipe i if no end is open (a FIFO nobody opened after all).
// Context: trap; does not allocate.
func (ps *Pipes) Release(m *Mem, i int) {
	if p := &ps.p[i]; p.used != 0 && p.readers == 0 && p.writers == 0 {
		ps.Free(m, i)
	}
}

// Read moves up to len(dst) bytes out of pipe i. An empty pipe gives
// (0, ok) at end of file (no writer left) and EAGAIN otherwise.
// Context: trap; does not allocate.
func (ps *Pipes) Read(m *Mem, i int, dst []byte) (int, Errno) {
	p := &ps.p[i]
	if len(dst) == 0 {
		return 0, ok
	}
	if p.n == 0 {
		if p.writers == 0 {
			return 0, ok
		}
		return 0, EAGAIN
	}
	k := min(len(dst), p.n)
	for done := 0; done < k; {
		pos := (p.head + done) % PipeSize
		c := min(k-done, PageSize-pos%PageSize)
		copy(dst[done:done+c], m.page(p.pages[pos/PageSize])[pos%PageSize:])
		done += c
	}
	p.head = (p.head + k) % PipeSize
	p.n -= k
	if p.n == 0 {
		p.head = 0
	}
	return k, ok
}

// Write moves bytes of src into pipe i: as many as fit, except that a
// write of at most PipeBuf bytes goes in whole or not at all. EPIPE when
// no reader is left; EAGAIN when nothing fits; ENOMEM when out of pages,
// and, with nothing written, for a write that would take a page where m
// may take none (NoPages): the ring's count moves only at the end.
// Context: trap; does not allocate.
func (ps *Pipes) Write(m *Mem, i int, src []byte) (int, Errno) {
	p := &ps.p[i]
	if len(src) == 0 { // a null write succeeds, even with no reader (as Linux)
		return 0, ok
	}
	if p.readers == 0 {
		return 0, EPIPE
	}
	space := PipeSize - p.n
	if space == 0 || len(src) <= PipeBuf && space < len(src) {
		return 0, EAGAIN
	}
	k := min(len(src), space)
	for done := 0; done < k; {
		pos := (p.head + p.n + done) % PipeSize
		if p.pages[pos/PageSize] == 0 {
			if p.pages[pos/PageSize] = m.alloc(); p.pages[pos/PageSize] == 0 {
				if done == 0 || len(src) <= PipeBuf || m.Budget == NoPages { // atomic writes go in whole or not at all
					return 0, unix.ENOMEM // as Linux's pipe_write; EAGAIN would never clear
				}
				k = done
				break
			}
		}
		c := min(k-done, PageSize-pos%PageSize)
		copy(m.page(p.pages[pos/PageSize])[pos%PageSize:], src[done:done+c])
		done += c
	}
	p.n += k
	return k, ok
}

// Lock takes pipe i (below MaxPipes) lock, spinning while another CPU
// holds it. Context: trap, the kernel's files lock held; does not
// allocate.
func (ps *Pipes) Lock(i int) { spin.LockWord(&ps.p[i&(MaxPipes-1)].held) }

// Unlock releases pipe i's lock (Lock). Context: trap; does not
// allocate.
func (ps *Pipes) Unlock(i int) { spin.UnlockWord(&ps.p[i&(MaxPipes-1)].held) }

// The pipe numbers' mask in Lock and Unlock (no bounds check at their
// callers): MaxPipes must be a power of two.
var _ [0]struct{} = [MaxPipes & (MaxPipes - 1)]struct{}{}

// HasRoom reports whether pipe i has room for PipeBuf more bytes (Linux's
// pipe is not full). Context: any; does not allocate.
func (ps *Pipes) HasRoom(i int) bool { return PipeSize-ps.p[i].n >= PipeBuf }

// Buffered returns the bytes held (FIONREAD).
func (ps *Pipes) Buffered(i int) int { return ps.p[i].n }

// Ends returns how many read and write descriptions are open, read
// atomically (a close beside may change them: CloseEnd).
// Context: any; does not allocate.
func (ps *Pipes) Ends(i int) (readers, writers int32) {
	p := &ps.p[i&(MaxPipes-1)]
	return atomic.LoadInt32(&p.readers), atomic.LoadInt32(&p.writers)
}
