package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/devices"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/socket"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// The kernel's generated files: the resolver configuration Go's standard
// library reads, /proc files (procfiles.go) and views of the kernel such as
// /proc/gometal/sched. Each is an empty regular file of the root file
// system marked as the kernel's (files.go), so it lists and stats as a
// /proc file does; its content is produced when it is opened, into one of
// a few fixed buffers, and reads and lseek work on that snapshot. A file
// an initramfs puts at the same path (an /etc/hosts, say) replaces it.
const (
	maxMemFiles = 16
	memFileSize = 8192
)

type memFile struct {
	used bool
	data [memFileSize]byte
	n    int
	pos  int
}

var memFiles [maxMemFiles]memFile

// memFilePaths lists the files; their content comes from fillMemFile.
var memFilePaths = [...]string{
	"/etc/resolv.conf",
	"/etc/hosts",
	"/etc/nsswitch.conf",
	"/proc/gometal/sched",
	"/proc/cmdline",
	"/proc/gometal/dma",
	"/proc/gometal/sockets",
	"/proc/gometal/pci",
	"/proc/self/stat",
	"/proc/self/status",
	"/proc/self/cmdline",
	"/proc/self/limits",
	"/proc/meminfo",
	"/proc/cpuinfo",
	"/proc/stat",
	"/proc/uptime",
	"/proc/loadavg",
	"/proc/sys/kernel/hostname",
	"/proc/sys/fs/pipe-max-size",
}

// openMemFile opens kernel file which (an index of memFilePaths) read-only,
// producing its content now. Context: trap, kernel lock held; does not
// allocate.
func openMemFile(ino fs.Ino, which int, flags int) int64 {
	if which >= len(memFilePaths) {
		return -abi.ENOENT
	}
	if flags&(unix.O_WRONLY|unix.O_RDWR|unix.O_TRUNC) != 0 {
		return -int64(unix.EACCES)
	}
	slot := -1
	for i := range memFiles {
		if !memFiles[i].used {
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
	mf := &memFiles[slot]
	mf.used, mf.n, mf.pos = true, 0, 0
	fillMemFile(which, mf)
	fdtab.Files[fd].MemFile = slot
	fdtab.Files[fd].Ino = ino
	return int64(fd)
}

// textWriter appends text to a memFile. Its methods are not inlined
// (go:noinline): the generated files call them at a few hundred places,
// and inlined copies cost about 50 KB of image (docs/performance.md,
// "Image size").
type textWriter struct{ f *memFile }

// s appends s. Context: trap; does not allocate.
//
//go:noinline
func (w textWriter) s(s string) textWriter {
	w.f.n += copy(w.f.data[w.f.n:], s)
	return w
}

// u appends v in decimal. Context: trap; does not allocate.
//
//go:noinline
func (w textWriter) u(v uint64) textWriter {
	var d [20]byte
	w.f.n += copy(w.f.data[w.f.n:], klog.Decimal(&d, v))
	return w
}

// fillMemFile produces file which's content. Context: trap, kernel lock
// held; does not allocate.
func fillMemFile(which int, f *memFile) {
	w := textWriter{f}
	switch memFilePaths[which] {
	case "/etc/resolv.conf":
		writeResolvConf(w)
	case "/etc/hosts":
		w.s("127.0.0.1\tlocalhost\n::1\tlocalhost\n")
	case "/etc/nsswitch.conf":
		w.s("hosts: files dns\n")
	case "/proc/gometal/sched":
		writeSchedView(w)
	case "/proc/gometal/pci":
		writePCIView(w)
	case "/proc/gometal/sockets":
		writeSocketView(w)
	case "/proc/gometal/dma":
		devices.EnsureDMAPool()
		w.s("base ").u(devices.DMAPool).s("\nsize ").u(devices.DMAPoolSize).s("\n")
	case "/proc/cmdline":
		w.f.n += copy(w.f.data[:], bootInfo.Cmdline[:bootInfo.CmdlineLen])
		w.s("\n")
	default:
		fillProcFile(which, w)
	}
}

// writeSchedView describes each CPU and thread, for the program (see
// examples/shell): busy time, interrupts, halts, run queue, time slices;
// then each kernel lock's statistics (lockstats.go) and how often the
// lock-free system call paths were taken (fastpath.go).
// Context: trap, kernel lock held; does not allocate.
func writeSchedView(w textWriter) {
	now := clock.Nanotime()
	up := now - programStart
	w.s("cpu busy_ms idle_ms interrupts spurious halts runq slices_requested slices_taken thread\n")
	for i := 0; i < percpu.NOnline; i++ {
		c := &percpu.CPUs[i]
		idleNs := c.IdleNs
		if c.Idle.Load() {
			idleNs += now - c.HaltStart
		}
		w.u(uint64(i)).s(" ").u(uint64(max(up-idleNs, 0) / 1e6)).s(" ").u(uint64(idleNs / 1e6)).s(" ")
		w.u(c.IRQs).s(" ").u(c.Spurious).s(" ").u(c.Halts).s(" ").u(uint64(threadtab.Sched.CPUs[i].RunQ.Len())).s(" ")
		w.u(c.SlicesRequested).s(" ").u(c.SlicesTaken).s(" ")
		if cur := threadtab.Sched.CPUs[i].Cur; cur == noThread {
			w.s("-\n")
		} else {
			w.u(uint64(threadtab.LinuxTID(cur))).s("\n")
		}
	}
	w.s("\ntid state cpu cpu_ms\n")
	for i := range threadtab.Sched.Threads {
		t := &threadtab.Sched.Threads[i]
		if t.State == sched.Free {
			continue
		}
		w.u(uint64(i + 1)).s(" ").s(threadtab.StateNames[t.State]).s(" ").u(uint64(t.CPU)).s(" ").u(uint64(t.CPUTime / 1e6)).s("\n")
	}
	// The scheduler's own count, which the deadlock detector trusts: it
	// must equal the number of threads listed as running.
	w.s("\nnrunning ").u(uint64(threadtab.Sched.Running)).s("\n")
	w.s("\n").s(lockTableHeader)
	writeLockStats(w, "kernel", &kernelLock.stats)
	w.s("\n")
	writeFastStats(w)
	w.s("\n")
	writeTrapStats(w)
}

// memFileRead copies from a kernel file's snapshot. Context: trap.
func memFileRead(f *fdtab.File, buf, n uintptr) int64 {
	mf := &memFiles[f.MemFile]
	k := min(int(n), mf.n-mf.pos)
	if k <= 0 {
		return 0
	}
	b, ok := vm.UserBytes(buf, uintptr(k), true)
	if !ok {
		return -abi.EFAULT
	}
	copy(b, mf.data[mf.pos:mf.pos+k])
	mf.pos += k
	return int64(k)
}

// memFileSeek moves in a kernel file's snapshot. Context: trap.
func memFileSeek(f *fdtab.File, off int64, whence int) int64 {
	mf := &memFiles[f.MemFile]
	var base int64
	switch whence {
	case unix.SEEK_SET:
	case unix.SEEK_CUR:
		base = int64(mf.pos)
	case unix.SEEK_END:
		base = int64(mf.n)
	default:
		return -abi.EINVAL
	}
	p := base + off
	if p < 0 {
		return -abi.EINVAL
	}
	mf.pos = int(min(p, int64(mf.n)))
	return p
}

// writeResolvConf lists the dns= option's servers (comma-separated), or
// QEMU user networking's resolver.
// Context: trap, kernel lock held; does not allocate.
func writeResolvConf(w textWriter) {
	v, ok := kernelOptionValue("dns=")
	if (!ok || v == "") && socket.DNSAddr != [4]byte{} {
		w.s("# gometal: from DHCP (set others with dns=)\nnameserver ")
		writeSockAddrIP(w, socket.DNSAddr)
		w.s("\n")
		return
	}
	if !ok || v == "" {
		w.s("# gometal: QEMU user networking's resolver (set others with dns=)\nnameserver 10.0.2.3\n")
		return
	}
	w.s("# gometal: from the dns= option\n")
	for v != "" {
		end := 0
		for end < len(v) && v[end] != ',' {
			end++
		}
		w.s("nameserver ").s(v[:end]).s("\n")
		if end == len(v) {
			break
		}
		v = v[end+1:]
	}
}

// writePCIView lists the MCFG's ECAM allocations for the PCI driver
// goroutines: "ecam BASE SEGMENT START END" (decimal; BASE: bus 0's address).
// Context: trap, kernel lock held; does not allocate.
func writePCIView(w textWriter) {
	if !firmware.Tables().HaveMCFG {
		return
	}
	m := &firmware.Tables().MCFG
	for _, a := range m.Allocations[:m.NAllocations] {
		w.s("ecam ").u(a.Base).s(" ").u(uint64(a.Segment)).s(" ").u(uint64(a.StartBus)).s(" ").u(uint64(a.EndBus)).s("\n")
	}
}
