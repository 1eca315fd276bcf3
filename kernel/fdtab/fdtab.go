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
type File struct {
	Count    uint64    // eventfd counter
	Seq      uint64    // bumped on every readiness change, for edge triggering
	Epoll    int       // KindEpoll: index in the kernel's epoll instances
	MemFile  int       // KindMemFile: index in the kernel's memory files
	Socket   int       // KindSocket: slot in sockets; KindUnix: slot in the Unix sockets
	Reader   sched.TID // KindIRQ: a thread blocked reading it
	Desc     int32     // KindFile, KindPipe, KindDev, KindProcFD: the open file description
	Ino      fs.Ino    // KindMemFile: the file's inode (for fstat)
	Kind     uint8
	Cloexec  bool
	Nonblock bool
	Vector   uint8 // KindIRQ: its interrupt vector
	Stream   uint8 // KindConsole: 0 stdin, 1 stdout, 2 stderr (its virtio console port)
}

// Files is the descriptor table. It starts zero (in .bss, not 64 KiB of
// the image file); kernel/fdcalls' OpenStdio gives it the console's 0, 1
// and 2 at boot.
var Files [MaxFDs]File

// Get returns descriptor fd, or nil when it is not open.
// Context: trap, kernel lock held; does not allocate. Not inlined:
// it is called at sixty places, and each inlined copy costs image bytes.
//
//go:noinline
func Get(fd int) *File {
	if fd < 0 || fd >= MaxFDs || Files[fd].Kind == KindFree {
		return nil
	}
	return &Files[fd]
}

// Alloc returns the lowest free descriptor, or -1.
// Context: trap, kernel lock held; does not allocate. Not inlined: every
// call that opens a descriptor uses it, cheaper as one copy
// (docs/performance.md, "Image size").
//
//go:noinline
func Alloc(kind uint8, flags int) int {
	for fd := range int(min(uint64(MaxFDs), NofileLimit)) {
		if Files[fd].Kind == KindFree {
			Files[fd] = File{Kind: kind, Cloexec: flags&unix.O_CLOEXEC != 0, Nonblock: flags&unix.O_NONBLOCK != 0, Reader: sched.None}
			return fd
		}
	}
	return -1
}

// NofileLimit is RLIMIT_NOFILE's soft limit: descriptors at or above it
// are not handed out (EMFILE). The hard limit is MaxFDs.
var NofileLimit uint64 = MaxFDs

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
