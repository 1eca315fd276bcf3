package socket

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/vm"
)

// sockBuf is a socket's byte ring (one per direction) in kernel frames that
// are allocated as the ring first fills them and charged to the program's
// memory commitment, and freed with the socket. Datagram sockets store
// records in it: a dgramHeader, then the payload. Context: trap, files
// lock held exclusively, or held shared with the socket's lock (SocketIO,
// the stack's moves and its read of the events: NetCtlSharedIoctl,
// takeEvents), for every method. N is stored atomically where a call
// beside others may change it (Put, drop, truncate): SockReadiness loads
// it without the socket's lock.
type sockBuf struct {
	pages [sockBufPages]uint64 // physical frames, 0 until first used
	head  uint32               // offset of the first stored byte
	N     uint32               // bytes stored
}

const (
	sockBufPages = 32 // 128 KiB a direction
	sockBufSize  = sockBufPages * mm.PageSize
)

// Space returns the free bytes.
func (b *sockBuf) Space() uint32 { return sockBufSize - b.N }

// page returns the kernel address of the frame holding ring offset off,
// allocating it if needed; 0 when memory is exhausted.
// Context: trap, files lock held; does not allocate.
func (b *sockBuf) page(off uint32, alloc bool) uintptr {
	i := off / mm.PageSize
	if b.pages[i] == 0 {
		if !alloc || !vm.TryCommit(mm.PageSize, 0) { // in one step: calls on other sockets charge beside this one
			return 0
		}
		pa := vm.Frames.Alloc()
		if pa == 0 {
			vm.Uncommit(mm.PageSize)
			return 0
		}
		b.pages[i] = pa
	}
	return vm.PhysToVirt(b.pages[i])
}

// Put appends src (all of it, or as much as fits when partial) and returns
// the bytes stored. Without partial it stores nothing unless all fits.
// Context: trap, files lock held; does not allocate.
func (b *sockBuf) Put(src []byte, partial bool) int {
	if uint32(len(src)) > b.Space() && !partial {
		return 0
	}
	done := 0
	for done < len(src) && b.N < sockBufSize {
		off := (b.head + b.N) % sockBufSize
		pg := b.page(off, true)
		if pg == 0 {
			break
		}
		chunk := min(uint32(len(src)-done), mm.PageSize-off%mm.PageSize, sockBufSize-b.N)
		copy(unsafeSlice(pg+uintptr(off%mm.PageSize), uintptr(chunk)), src[done:])
		done += int(chunk)
		atomic.StoreUint32(&b.N, b.N+chunk) // SockReadiness may load it beside this call
	}
	return done
}

// peek copies up to len(dst) bytes from ring offset skip (relative to the
// head) into dst without consuming them and returns the count.
// Context: trap, files lock held; does not allocate.
func (b *sockBuf) peek(dst []byte, skip uint32) int {
	done := 0
	for done < len(dst) && skip+uint32(done) < b.N {
		off := (b.head + skip + uint32(done)) % sockBufSize
		chunk := min(uint32(len(dst)-done), mm.PageSize-off%mm.PageSize, b.N-skip-uint32(done))
		copy(dst[done:], unsafeSlice(b.page(off, false)+uintptr(off%mm.PageSize), uintptr(chunk)))
		done += int(chunk)
	}
	return done
}

// drop consumes n stored bytes. Context: trap, files lock held; does
// not allocate.
//
// Not inlined: its copies at its callers cost the image more than the
// calls (issue 16's budget).
//
//go:noinline
func (b *sockBuf) drop(n uint32) {
	n = min(n, b.N)
	b.head = (b.head + n) % sockBufSize
	atomic.StoreUint32(&b.N, b.N-n) // SockReadiness may load it beside this call
	if b.N == 0 {
		b.head = 0
	}
}

// release frees the frames and empties the ring.
// Context: trap, kernel lock held; does not allocate.
func (b *sockBuf) release() {
	for i, pa := range b.pages {
		if pa != 0 {
			vm.Frames.Free(pa)
			vm.Uncommit(mm.PageSize)
			b.pages[i] = 0
		}
	}
	b.head, b.N = 0, 0
}

// dgramHeader precedes each datagram in a dgram socket's ring: its length
// and its peer (the source in the receive ring, the destination in the
// transmit ring).
type dgramHeader struct {
	len  uint32
	addr SockAddr
}

const dgramHeaderSize = 24

func (h *dgramHeader) encode(b *[dgramHeaderSize]byte) {
	b[0], b[1], b[2], b[3] = byte(h.len), byte(h.len>>8), byte(h.len>>16), byte(h.len>>24)
	copy(b[4:20], h.addr.IP[:])
	b[20], b[21] = byte(h.addr.Port), byte(h.addr.Port>>8)
	b[22], b[23] = 0, 0
}

func (h *dgramHeader) decode(b *[dgramHeaderSize]byte) {
	h.len = uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
	copy(h.addr.IP[:], b[4:20])
	h.addr.Port = uint16(b[20]) | uint16(b[21])<<8
}

// startDgram begins a datagram of h.len bytes: it checks that header and
// payload fit and stores the header (false, storing nothing, when it does
// not fit or memory runs out). The caller then puts the payload and, if
// that fails part-way, calls truncate(mark) to take it all back.
// Context: trap, files lock held; does not allocate.
func (b *sockBuf) startDgram(h dgramHeader) (mark uint32, ok bool) {
	if dgramHeaderSize+uint64(h.len) > uint64(b.Space()) {
		return 0, false
	}
	var hb [dgramHeaderSize]byte
	h.encode(&hb)
	mark = b.N
	if b.Put(hb[:], false) != dgramHeaderSize {
		b.truncate(mark) // out of memory mid-way
		return 0, false
	}
	return mark, true
}

// truncate drops what was stored after mark (a value of n).
func (b *sockBuf) truncate(mark uint32) { atomic.StoreUint32(&b.N, mark) } // SockReadiness may load it beside

// nextDgram returns the header of the first datagram.
// Context: trap, files lock held; does not allocate.
func (b *sockBuf) nextDgram() (dgramHeader, bool) {
	var h dgramHeader
	if b.N < dgramHeaderSize {
		return h, false
	}
	var hb [dgramHeaderSize]byte
	b.peek(hb[:], 0)
	h.decode(&hb)
	return h, true
}
