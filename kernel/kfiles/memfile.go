// Package kfiles holds the kernel's own files: the generated files such as
// /etc/resolv.conf and /proc/gometal/* (their table, snapshots, reads and
// seeks, and their texts: fillMemFile), the /proc files' counts
// (procfiles.go) and the boot step that fills the
// root file system (rootfs.go). What it needs of the boot (the command
// line, the dns= option, the program's argument addresses and start time)
// is handed down at boot; the views of package kernel's own state
// (/proc/gometal/sched, /proc/gometal/sockets) are written there, after
// Open, into the same snapshot. Trap context (docs/trap-context.md).
package kfiles

import (
	"unsafe"

	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/devices"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"golang.org/x/sys/unix"
)

// The kernel's generated files: the resolver configuration Go's standard
// library reads, /proc files (procfiles.go) and views of the kernel such as
// /proc/gometal/sched. Each is an empty regular file of the root file
// system marked as the kernel's (kernel/fsys/files.go), so it lists and stats as a
// /proc file does; its content is produced when it is opened, into one of
// a few fixed buffers, and reads and lseek work on that snapshot. A file
// an initramfs puts at the same path (an /etc/hosts, say) replaces it.
const (
	// MaxFiles is how many kernel files can be open at once.
	MaxFiles = 16
	// FileSize is the most a kernel file's snapshot holds.
	FileSize = 8192
)

// File is one open kernel file's snapshot: Data[:N], read from Pos.
type File struct {
	Used bool
	Data [FileSize]byte
	N    int
	Pos  int
}

// Files are the open kernel files' snapshots (fdtab.File.MemFile indexes
// them).
var Files [MaxFiles]File

// Boot values handed down by package kernel: the command line for
// /proc/cmdline and the dns= option's value (copied: no Go pointers in
// globals), where argv's strings lie (Linux's arg_start, arg_end) and when
// the program started.
var (
	cmdlineBuf       [len(boot.Info{}.Cmdline)]byte
	cmdlineLen       int
	dnsBuf           [len(boot.Info{}.Cmdline)]byte
	dnsLen           int
	dnsSet           bool
	argStart, argEnd uintptr
	programStart     int64
)

// SetBootOptions hands down the kernel command line and the dns= option
// (ok: it was given). Context: boot; does not allocate.
func SetBootOptions(cmdline []byte, dns string, ok bool) {
	cmdlineLen = copy(cmdlineBuf[:], cmdline)
	dnsLen = copy(dnsBuf[:], dns)
	dnsSet = ok
}

// SetProgram hands down the user addresses of argv's strings on the
// initial stack and the program's start time (clock.Nanotime).
// Context: boot; does not allocate.
func SetProgram(start, end uintptr, started int64) {
	argStart, argEnd, programStart = start, end, started
}

// ProgramStart is when the program's first instruction ran.
// Context: any; does not allocate.
func ProgramStart() int64 { return programStart }

// The kernel files, each an index of Paths.
const (
	fileResolvConf = iota
	fileHosts
	fileNsswitch
	fileSched
	fileCmdline
	fileDMA
	fileSockets
	filePCI
	fileSelfStat
	fileSelfStatus
	fileSelfCmdline
	fileSelfLimits
	fileMeminfo
	fileCPUInfo
	fileStat
	fileUptime
	fileLoadavg
	fileHostname
	filePipeMaxSize
)

// Paths lists the files; their content comes from fillMemFile.
var Paths = [...]string{
	fileResolvConf:  "/etc/resolv.conf",
	fileHosts:       "/etc/hosts",
	fileNsswitch:    "/etc/nsswitch.conf",
	fileSched:       "/proc/gometal/sched",
	fileCmdline:     "/proc/cmdline",
	fileDMA:         "/proc/gometal/dma",
	fileSockets:     "/proc/gometal/sockets",
	filePCI:         "/proc/gometal/pci",
	fileSelfStat:    "/proc/self/stat",
	fileSelfStatus:  "/proc/self/status",
	fileSelfCmdline: "/proc/self/cmdline",
	fileSelfLimits:  "/proc/self/limits",
	fileMeminfo:     "/proc/meminfo",
	fileCPUInfo:     "/proc/cpuinfo",
	fileStat:        "/proc/stat",
	fileUptime:      "/proc/uptime",
	fileLoadavg:     "/proc/loadavg",
	fileHostname:    "/proc/sys/kernel/hostname",
	filePipeMaxSize: "/proc/sys/fs/pipe-max-size",
}

// Open opens kernel file which (an index of Paths) read-only, producing
// its content now; the view of package kernel's state (ViewOf) is left
// empty for package kernel to write. Context: trap, kernel lock held; does
// not allocate.
func Open(ino fs.Ino, which int, flags int) int64 {
	if which >= len(Paths) {
		return -abi.ENOENT
	}
	if flags&(unix.O_WRONLY|unix.O_RDWR|unix.O_TRUNC) != 0 {
		return -int64(unix.EACCES)
	}
	if flags&unix.O_DIRECT != 0 {
		return -abi.EINVAL // as Linux's /proc, which cannot do direct I/O
	}
	slot := -1
	for i := range Files {
		if !Files[i].Used {
			slot = i
			break
		}
	}
	if slot < 0 {
		return -abi.ENFILE
	}
	fd := fdtab.Alloc(fdtab.KindMemFile, flags)
	if fd < 0 {
		return -abi.EMFILE
	}
	mf := &Files[slot]
	mf.Used, mf.N, mf.Pos = true, 0, 0
	fillMemFile(which, mf)
	fdtab.Files[fd].MemFile = slot
	fdtab.Files[fd].Ino = ino
	return int64(fd)
}

// Writer appends text to a File. Its methods are not inlined
// (go:noinline): the generated files call them at a few hundred places,
// and inlined copies cost about 50 KB of image (docs/performance.md,
// "Image size").
type Writer struct{ F *File }

// S appends s. Context: trap; does not allocate.
//
//go:noinline
func (w Writer) S(s string) Writer {
	w.F.N += copy(w.F.Data[w.F.N:], s)
	return w
}

// U appends v in decimal. Context: trap; does not allocate.
//
//go:noinline
func (w Writer) U(v uint64) Writer {
	var d [20]byte
	w.F.N += copy(w.F.Data[w.F.N:], klog.Decimal(&d, v))
	return w
}

// Fields appends each of v in decimal followed by a space: a table
// line's columns. Context: trap; does not allocate (v stays on the
// caller's stack).
//
//go:noinline
func (w Writer) Fields(v ...uint64) Writer {
	for _, x := range v {
		w.U(x).S(" ")
	}
	return w
}

// Count appends a table line "name n". Context: trap; does not
// allocate.
//
//go:noinline
func (w Writer) Count(name string, n uint64) Writer {
	return w.S(name).S(" ").U(n).S("\n")
}

// Pair appends a table line "name a b". Context: trap; does not
// allocate.
//
//go:noinline
func (w Writer) Pair(name string, a, b uint64) Writer {
	return w.S(name).S(" ").Fields(a).U(b).S("\n")
}

// View names a kernel file whose content is package kernel's own view.
const (
	ViewNone  = iota // a file of this package
	ViewSched        // /proc/gometal/sched
)

// ViewOf tells whether kernel file which is one of package kernel's views,
// which Open leaves empty. Context: trap; does not allocate.
func ViewOf(which int) int {
	switch which {
	case fileSched:
		return ViewSched
	}
	return ViewNone
}

// fillMemFile produces file which's content, but for the views ViewOf
// names: every generated file's text is a case here, the /proc files'
// with their counts from procfiles.go (one function: each costs the
// image its own line tables, issue 16's budget).
// Context: trap, kernel lock held; does not allocate.
func fillMemFile(which int, f *File) {
	w := Writer{f}
	switch which {
	case fileResolvConf:
		// The dns= option's servers (comma-separated), or the one DHCP
		// gave, or QEMU user networking's resolver.
		v, ok := unsafeString(dnsBuf[:dnsLen]), dnsSet
		if (!ok || v == "") && socket.DNSAddr != [4]byte{} {
			w.S("# gometal: from DHCP (set others with dns=)\nnameserver ")
			WriteIPv4(w, socket.DNSAddr)
			w.S("\n")
			break
		}
		if !ok || v == "" {
			w.S("# gometal: QEMU user networking's resolver (set others with dns=)\nnameserver 10.0.2.3\n")
			break
		}
		w.S("# gometal: from the dns= option\n")
		for v != "" {
			end := 0
			for end < len(v) && v[end] != ',' {
				end++
			}
			w.S("nameserver ").S(v[:end]).S("\n")
			if end == len(v) {
				break
			}
			v = v[end+1:]
		}
	case fileHosts:
		w.S("127.0.0.1\tlocalhost\n::1\tlocalhost\n")
	case fileNsswitch:
		w.S("hosts: files dns\n")
	case fileSched:
		// package kernel's view
	case fileSockets:
		// The socket table: one line per socket, then the drop counters.
		w.S("slot type state fd local remote rx tx accept_queue dirty\n")
		for i := range socket.Sockets {
			s := &socket.Sockets[i]
			if s.Typ == 0 {
				continue
			}
			w.U(uint64(i)).S(" ")
			w.S(sockTypeNames[s.Typ])
			if s.Family == abi.Family6 {
				w.S("6 ")
			} else {
				w.S(" ")
			}
			w.S(sockStateNames[s.State]).S(" ")
			if s.FD < 0 {
				w.S("- ")
			} else {
				w.U(uint64(s.FD)).S(" ")
			}
			writeSockAddr(w, s.Local)
			w.S(" ")
			writeSockAddr(w, s.Remote)
			w.S(" ").Fields(uint64(s.Rx.N), uint64(s.Tx.N)).U(uint64(s.ALen))
			if s.Dirty != 0 {
				w.S(" yes\n")
			} else {
				w.S(" no\n")
			}
		}
		w.S("\ndatagrams_dropped ").U(socket.NetDropped).S("\nconnections_refused ").U(socket.NetRejected).S("\n")
	case filePCI:
		// The MCFG's ECAM allocations for the PCI driver goroutines:
		// "ecam BASE SEGMENT START END" (decimal; BASE: bus 0's address).
		if firmware.Tables().HaveMCFG {
			m := &firmware.Tables().MCFG
			for i := range m.Allocations[:m.NAllocations] {
				a := &m.Allocations[i] // not a range copy: those cost code
				w.S("ecam ").Fields(a.Base, uint64(a.Segment), uint64(a.StartBus)).U(uint64(a.EndBus)).S("\n")
			}
		}
	case fileDMA:
		devices.EnsureDMAPool()
		w.S("base ").U(devices.DMAPool).S("\nsize ").U(devices.DMAPoolSize).S("\n")
	case fileCmdline:
		w.F.N += copy(w.F.Data[:], cmdlineBuf[:cmdlineLen])
		w.S("\n")
	case fileSelfStat:
		// pid (comm) state ppid ... with utime, stime, num_threads,
		// starttime, vsize and rss filled in.
		ticks := uint64(programCPUNs()) / (1e9 / clockTicks) // never negative: unsigned, the shorter division
		w.S("1 (init) R 0 1 1 0 -1 4194560 0 0 0 0 ").U(ticks).S(" 0 0 0 20 0 ").U(uint64(liveThreads()))
		w.S(" 0 ").U(uint64(programStart) / (1e9 / clockTicks)).S(" ").U(vm.AreaBytes()).S(" ").U(rssBytes() / mm.PageSize)
		w.S(" 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n")
	case fileSelfStatus:
		w.S("Name:\tinit\nUmask:\t0022\nState:\tR (running)\nTgid:\t1\nPid:\t1\nPPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n")
		w.S("FDSize:\t").U(fdtab.MaxFDs).S("\nVmRSS:\t").U(rssBytes() >> 10).S(" kB\nThreads:\t").U(uint64(liveThreads())).S("\n")
	case fileSelfCmdline:
		// Linux reads arg_start to arg_end of the program's memory (the
		// part that fits the file here).
		if b, ok := vm.UserBytes(argStart, min(argEnd-argStart, uintptr(len(w.F.Data))), false); ok {
			w.F.N += copy(w.F.Data[:], b)
		}
	case fileSelfLimits:
		w.S("Limit                     Soft Limit           Hard Limit           Units     \n")
		w.S("Max open files            ").U(fdtab.MaxFDs).S("                 ").U(fdtab.MaxFDs).S("                 files     \n")
		w.S("Max address space         unlimited            unlimited            bytes     \n")
	case fileMeminfo:
		total := vm.Frames.Total() * mm.PageSize >> 10
		free := vm.Frames.FreeCount() * mm.PageSize >> 10
		w.S("MemTotal:       ").U(total).S(" kB\nMemFree:        ").U(free).S(" kB\nMemAvailable:   ").U(free).S(" kB\n")
		w.S("Shmem:          ").U(uint64(vfs.Root.PagesHeld) * mm.PageSize >> 10).S(" kB\nSwapTotal:             0 kB\nSwapFree:              0 kB\n")
	case fileCPUInfo:
		for i := 0; i < percpu.NOnline; i++ {
			w.S("processor\t: ").U(uint64(i)).S("\nmodel name\t: gometal x86-64 CPU\ncpu cores\t: ").U(uint64(percpu.NOnline)).S("\n\n")
		}
	case fileStat:
		w.S("cpu  ").U(uint64(programCPUNs()) / (1e9 / clockTicks)).S(" 0 0 0 0 0 0 0 0 0\nbtime ").U(uint64(clock.WallAtBoot() / 1e9)).S("\nprocesses 1\nprocs_running 1\n")
	case fileUptime:
		// In centiseconds, unsigned (Nanotime is never negative): an
		// unsigned division by a constant is the shorter code.
		cs := uint64(clock.Nanotime()) / 1e7
		w.U(cs / 100).S(".").U(cs % 100 / 10).U(cs % 10).S(" 0.00\n")
	case fileLoadavg:
		w.S("0.00 0.00 0.00 1/").U(uint64(liveThreads())).S(" 1\n")
	case fileHostname:
		w.S("gometal\n")
	case filePipeMaxSize:
		w.U(fs.PipeSize).S("\n")
	}
}

// Read copies from a kernel file's snapshot. Context: trap.
func Read(f *fdtab.File, buf, n uintptr) int64 {
	mf := &Files[f.MemFile]
	k := min(int(n), mf.N-mf.Pos)
	if k <= 0 {
		return 0
	}
	b, ok := vm.UserBytes(buf, uintptr(k), true)
	if !ok {
		return -abi.EFAULT
	}
	copy(b, mf.Data[mf.Pos:mf.Pos+k])
	mf.Pos += k
	return int64(k)
}

// Seek moves in a kernel file's snapshot. Context: trap.
func Seek(f *fdtab.File, off int64, whence int) int64 {
	mf := &Files[f.MemFile]
	var base int64
	switch whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		base = int64(mf.Pos)
	case unix.SEEK_END:
		base = int64(mf.N)
	default:
		return -abi.EINVAL
	}
	p := base + off
	if p < 0 {
		return -abi.EINVAL
	}
	mf.Pos = int(min(p, int64(mf.N)))
	return p
}

// WriteIPv4 writes ip as a dotted quad. Context: trap; does not allocate.
func WriteIPv4(w Writer, ip [4]byte) {
	w.U(uint64(ip[0])).S(".").U(uint64(ip[1])).S(".").U(uint64(ip[2])).S(".").U(uint64(ip[3]))
}

// unsafeString views b as a string without a copy. Context: any; does not
// allocate.
func unsafeString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
