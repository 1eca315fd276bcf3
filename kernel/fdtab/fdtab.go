// Package fdtab is the program's file-descriptor table, as data: the
// descriptors (type File, the table Files), their kinds (KindConsole,
// KindSocket, ...), RLIMIT_NOFILE's soft limit, and the small accessors
// Get and Alloc. What a descriptor of each kind does (read, write,
// close, dup, epoll) is the kernel's, above; the sockets' layer reads
// and fills the table from below it (docs/kernel-layout.md).
//
// Trap context (docs/trap-context.md): nothing here allocates.
package fdtab

import (
	"sync/atomic"

	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/spin"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// MaxFDs is the size of the descriptor table: RLIMIT_NOFILE's hard
// limit. Descriptors 0, 1 and 2 are the console; the program can make
// eventfds, epoll instances and sockets, and open the kernel's files and
// devices.
const MaxFDs = 1024

// The kinds of descriptor (File.Kind); KindFree marks a free slot.

const (
	KindFree uint8 = iota
	KindConsole
	KindEventfd
	KindEpoll
	KindMemFile // a read-only kernel file (memfile.go)
	KindDevMem  // /dev/mem (devmem.go)
	KindIRQ     // /dev/irq (irqfd.go)
	KindSocket  // a socket (socket.go)
	KindNetCtl  // /dev/netctl, the network stack's side (netctl.go)
	KindFile    // a file or directory of the root file system (files.go)
	KindPipe    // one end of a pipe
	KindDev     // a memory device: /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom
	KindProcFD  // the directory /proc/self/fd
	KindUnix    // a Unix-domain socket (unixsock.go)
	KindNetlink // a route netlink socket (netlink.go)
)

// A File is one descriptor: its kind and, by kind, where its state is.
// The fields go from the widest to the narrowest, so that the table
// (MaxFDs of them) carries no padding between them: 64 bytes each, not 72.
// Desc and the four bytes after it (Kind, Cloexec, Nonblock, Vector)
// share one aligned 64-bit word, which the descriptor-flag calls read
// and change without the files lock (FlagWord, flagword.go): keep them
// together, in this order.
type File struct {
	Count    uint64    // eventfd counter
	Seq      uint64    // bumped on every readiness change, for edge triggering
	Epoll    int       // KindEpoll: index in the kernel's epoll instances
	MemFile  int       // KindMemFile: index in the kernel's memory files
	Socket   int       // KindSocket: slot in sockets (kept by a free and a non-socket open beside others: AllocDesc); KindUnix: slot in the Unix sockets
	Reader   sched.TID // KindIRQ: a thread blocked reading it
	Ino      fs.Ino    // KindMemFile: the file's inode (for fstat)
	Desc     int32     // KindFile, KindPipe, KindDev, KindProcFD: the open file description
	Kind     uint8
	Cloexec  bool
	Nonblock bool
	Vector   uint8 // KindIRQ: its interrupt vector
	Stream   uint8 // KindConsole: 0 stdin, 1 stdout, 2 stderr (its virtio console port); KindEventfd: 1 for EFD_SEMAPHORE
}

// Files is the descriptor table. It starts zero (in .bss, not 64 KiB of
// the image file); kernel/fdcalls' OpenStdio gives it the console's 0, 1
// and 2 at boot. It changes under the files lock, but for each entry's
// flag word, which the flag calls also read and swap without it or
// beside each other (flagword.go): a descriptor is made with Install (AllocDesc) and
// freed with Free, or, by a close under the files lock held shared, with
// one swap of its word (kernel/vfs's CloseShared).
var Files [MaxFDs]File

// Get returns descriptor fd, or nil when it is not open. Under the files
// lock held shared a close and an open beside may change it meanwhile:
// the calls on a file's descriptor read its kind and description in one
// load instead (LoadFlags, package kernel's fileDescriptor); a path call
// that reads the kind here and the description after finds the closed
// description (a close beside keeps its index in the freed word) or the
// new one, each whole while the hold lasts. Context: trap, files lock held (or a first look without
// it, which the caller repeats under it); does not allocate. Not inlined:
// it is called at sixty places, and each inlined copy costs image bytes.
//
//go:noinline
func Get(fd int) *File {
	if fd < 0 || fd >= MaxFDs || Files[fd].Kind == KindFree {
		return nil
	}
	return &Files[fd]
}

// Alloc returns the lowest free descriptor, or -1: AllocDesc without a
// description. Context: trap, files lock held; does not allocate.
func Alloc(kind uint8, flags int) int { return AllocDesc(kind, flags, 0) }

// AllocDesc returns the lowest free descriptor, or -1, made of kind
// with the flags' O_CLOEXEC and O_NONBLOCK and the description desc,
// its flag word stored last, in one store, as Install does: a flag call
// without the files lock sees it free or whole. A socket's descriptor
// (KindSocket) has no description: desc is then its slot in the socket
// table, stored in Socket before the word, since a call beside may find
// the descriptor by its number at once (an accept or a socket(2) beside
// others). Any
// other kind leaves Socket as it was (a Unix or netlink socket's open,
// on the locked path, sets it after): a socket's call beside that
// loaded the word while the descriptor was a socket's, and reads Socket
// after a close beside gave the number to a file, still finds the socket
// the descriptor named, which the close ended (package socket's CloseFD
// and its calls' checks under the socket's lock), never slot 0, another
// program socket. It holds allocHeld while it looks and fills: opens run
// beside each other (the files lock held shared), and two must not take
// one descriptor.
// Context: trap, files lock held; does not allocate. Not inlined: every
// call that opens a descriptor uses it, cheaper as one copy
// (docs/performance.md, "Image size").
//
//go:noinline
func AllocDesc(kind uint8, flags int, desc int32) int {
	spin.LockWord(&allocHeld)
	got := -1
	for fd := range int(min(uint64(MaxFDs), NofileLimit)) {
		if f := &Files[fd]; FlagWord(flagWord(f).Load()).Kind() == KindFree {
			// The fields outside the word one by one: a close beside
			// (the files lock held shared) may read the word of a slot
			// it lost to another close meanwhile.
			f.Count, f.Epoll, f.MemFile, f.Ino, f.Stream = 0, 0, 0, 0, 0
			if kind == KindSocket {
				f.Socket, desc = int(desc), 0
			}
			atomic.StoreUint64(&f.Seq, 0) // a pipe's change record beside may still bump a closed end's (vfs.PipeChanged)
			f.Reader = sched.None
			w := FlagWord(uint32(desc)) | FlagWord(kind)<<32
			flagWord(f).Store(uint64(w.Set(FlagCloexec, flags&unix.O_CLOEXEC != 0).Set(FlagNonblock, flags&unix.O_NONBLOCK != 0)))
			got = fd
			break
		}
	}
	spin.UnlockWord(&allocHeld)
	return got
}

// allocHeld is 1 while AllocDesc looks for and fills a free descriptor
// (a word lock: spin.LockWord).
// Only opens under the files lock held shared take it beside each
// other; a close beside them frees a descriptor with one swap of its
// word, which AllocDesc reads atomically (kernel/vfs's CloseShared);
// every other change of the table holds the files lock exclusively,
// with no open beside it.
var allocHeld uint32

// Install makes descriptor fd f: every field but the flag word first,
// then the word (Desc, Kind and the flags) in one store, so that a flag
// call without the files lock (FlagWord) never sees a kind with another
// descriptor's description or flags. Context: trap or boot, files lock
// held; does not allocate.
func Install(fd int, f File) {
	w := flagWord(&f).Load()
	flagWord(&f).Store(0)
	Files[fd] = f
	flagWord(&Files[fd]).Store(w)
}

// Free clears descriptor f: its flag word first, in one store, so that a
// flag call without the files lock sees it free before anything else of
// it goes; the caller releases what f held (its description) after, from
// a copy. Context: trap, files lock held; does not allocate.
func Free(f *File) {
	flagWord(f).Store(0)
	*f = File{}
}

// NofileLimit is RLIMIT_NOFILE's soft limit: descriptors at or above it
// are not handed out (EMFILE). The hard limit is MaxFDs.
var NofileLimit uint64 = MaxFDs

// EpollHeld is the word lock (spin.LockWord) of the interest lists and
// their records under the files lock held shared: an epoll_ctl
// (fdcalls.EpollCtl) and a wait that does not wait (fdcalls.EpollWaitNow), which run
// beside each other and beside other file calls, hold it while they
// change or collect a list (the entries, hi, the entries' last reports,
// epollWatch), and so do a blocking wait's naming of its waiter and its
// last look (nameWaiter) and the kernel lock's wakes (epollNotify), which
// hold the files lock shared too, beside them. One for all instances:
// the Go runtime makes one, and a descriptor's epollWatch byte holds
// every instance's bit. A pipe end's or an Internet socket's close
// beside others holds it while it frees the descriptor and drops its
// entries (fdcalls.closeStreamShared), so
// an epoll_ctl, which looks at its descriptors under it, comes wholly
// before or after; an Internet socket's shutdown beside others holds it
// while it changes the socket's flags, which the looks read
// (StreamCall, socket.SockReadiness), and the network stack's connect
// outcome and the program's connect beside others while they change
// the socket's state (socket.NetCtlSharedIoctl, socket.ConnectNow).
// It lives here, below both package fdcalls (epoll's) and package
// socket, which take it. Everything else that changes them (an instance's or
// another descriptor's close) holds the files lock exclusively. The look at epollWatch of the records' check
// (fdcalls.RecordsNeedKernel) reads a byte beside it without the lock: it finds
// the bits before or after an epoll_ctl's change, and an epoll_ctl that
// adds an entry records the descriptor after, for its own check.
// It also guards the instances' waiter slots and the named waiters'
// epoll fields (threadtab.Thread's Ev*, WaitSlot): the naming, the
// block's note that the waiter has blocked (fdcalls.EpollBlocked), a
// file call's hand-off of the wake (fdcalls' handOffWaiter) and every
// other end of the wait, which clears the slot first
// (thread.LeaveEpollSlot: a signal's wake or the timeout's under the
// kernel lock, the timeout's under the run-queue lock of the CPU whose
// heap holds it, in its timer interrupt, interrupts off, without the
// files lock). Its holders wait for no lock but the leaf word locks a
// descriptor's readiness takes (a console transmit queue's, a socket's)
// and, now and then, the memory lock (a collect that faults a page of
// the waiter's buffer in again), whose holders wait for no run-queue
// lock and not for it.
var EpollHeld uint32

// Descriptors whose epoll instances must look at them again, recorded by
// the layers below epoll (sockets, pipes), which package kernel acts on
// (socketEvents: at the end of every system call and timer expiry, and
// before the kernel lock is released): docs/kernel-layout.md, "record
// below the cut, act above". NotifyFDs (a Set) is written and read under the
// files lock; NotifyPending is written under it too, and read without it
// by the kernel lock's paths (socketEvents), which then take the files
// lock to act: an atomic, since the calls under the files lock alone
// (kernel/filetrap.go) record beside them.
var (
	NotifyFDs     Set
	NotifyPending atomic.Bool
)

// Notify records that the epoll instances watching fd must look at it
// again. Not inlined: it is called from some twenty places (the image's
// size, issue 16). Context: trap, files lock held; does not allocate.
//
//go:noinline
func Notify(fd int) {
	NotifyFDs.Add(fd)
	NotifyPending.Store(true)
}
