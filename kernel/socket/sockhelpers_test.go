package socket

import (
	"testing"
	"unsafe"

	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/mm"
)

// The socket tests' helpers: rings over host memory and a fresh socket
// table.

// hostRing gives ring b pages of host memory, so that its Put, peek and
// drop run in a host test: a frame number whose direct-map address
// (vm.PhysToVirt, abi.DirectBase plus it) is the host page. No frame is
// then allocated (sockBuf.page allocates only a missing page).
func hostRing(b *sockBuf) {
	mem := make([]byte, (sockBufPages+1)*mm.PageSize)
	start := (uintptr(unsafe.Pointer(&mem[0])) + mm.PageSize - 1) &^ (mm.PageSize - 1)
	for k := range b.pages {
		b.pages[k] = uint64(start + uintptr(k)*mm.PageSize - uintptr(abi.DirectBase))
	}
	keep = append(keep, mem)
}

// keep holds the host rings' memory for the test's life.
var keep [][]byte

// freshTable empties the socket table (no slot with a waiter) and the
// count of dirty sockets for a test (the scans look at every slot:
// slotsUsed), with stackFD as the stack's
// descriptor (-1: none), and puts back what was there when the test
// ends, with the descriptor table, whose sequences the test's records
// bump; the records of wakes and changes (fdtab.Notify, tellProgram)
// start empty and are dropped at the end.
func freshTable(t *testing.T, stackFD int) {
	saved, savedFiles, savedCount, savedFD, savedUsed := Sockets, fdtab.Files, DirtyCount, NetStackFD, slotsUsed.Load()
	dropRecords()
	t.Cleanup(func() {
		Sockets, fdtab.Files, DirtyCount, NetStackFD = saved, savedFiles, savedCount, savedFD
		slotsUsed.Store(savedUsed)
		dropRecords()
	})
	Sockets, DirtyCount, NetStackFD = [len(Sockets)]socket{}, 0, stackFD
	slotsUsed.Store(uint32(len(Sockets))) // tests fill slots directly: every scan looks at all
	for i := range Sockets {
		Sockets[i].waiter = noThread
	}
}

// dropRecords empties the records of changed descriptors and of
// sockets whose waiter must be woken.
func dropRecords() {
	for w := range fdtab.SetWords {
		fdtab.NotifyFDs.TakeWord(w)
	}
	fdtab.NotifyPending.Store(false)
	programWakes.Clear()
	ProgramWakePending.Store(false)
}

// stackReq is the stack's request req of NetCtlSharedReq on socket i,
// with io (whose slot and generation it sets to name socket i), as
// NetCtlSharedIoctl serves it from the stack's memory.
func stackReq(req uint, i int, io *abi.NetIO) int64 {
	io.Sock, io.Gen = uint32(i), Sockets[i].gen
	return netShared(req, io)
}
