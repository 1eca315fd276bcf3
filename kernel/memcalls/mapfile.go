package memcalls

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/devices"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/vfs"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// mmap of files. A shared mapping maps the file's own pages (the root
// file system keeps data in frames), so stores through it are the file's
// data and writes through write(2) show in it; the area is marked like
// device memory (its frames are not the program's: munmap only unmaps
// them). A private mapping gets copies of the file's pages. Both map the
// pages that lie within the file at mmap time; pages past the end of the
// file fault (Linux raises SIGBUS there). A mapped file is held for the
// rest of the program's life: its pages stay valid even once unlinked or
// truncated (the file system then zeroes instead of freeing them).

// mapFile implements mmap of a regular file. Context: trap, kernel lock
// held; does not allocate.
func mapFile(f *fdtab.File, addr, length uintptr, prot, flags int, off uintptr) int64 {
	d := vfs.DescOf(f)
	shared := flags&unix.MAP_SHARED != 0
	switch {
	case !vfs.Root.IsRegular(d.Ino):
		return -abi.ENODEV
	case !fsys.CanRead(d):
		return -int64(unix.EACCES)
	case shared && prot&unix.PROT_WRITE != 0 && !fsys.CanWrite(d):
		return -int64(unix.EACCES)
	case flags&unix.MAP_TYPE == 0 || flags&unix.MAP_TYPE > unix.MAP_SHARED_VALIDATE:
		return -abi.EINVAL
	}
	n := uintptr(mm.PageRoundUp(uint64(length)))
	if n < length {
		return -abi.ENOMEM
	}
	if flags&(unix.MAP_FIXED|unix.MAP_FIXED_NOREPLACE) != 0 {
		if addr%mm.PageSize != 0 || addr < vm.UserMin || addr+n > vm.UserTop || addr+n < addr {
			return -abi.EINVAL
		}
		if !vm.VMAs.IsFree(addr, addr+n) {
			if flags&unix.MAP_FIXED_NOREPLACE != 0 {
				return -abi.EEXIST
			}
			if !unmapRange(addr, addr+n) {
				return -abi.ENOMEM
			}
		}
	} else {
		a, ok := vm.VMAs.FindFree(addr&^(mm.PageSize-1), n, vm.UserMin, vm.MmapTop)
		if !ok {
			return -abi.ENOMEM
		}
		addr = a
	}
	// A shared mapping maps the file's own pages, in an area marked like
	// device memory; a private one maps copies of them, in an ordinary area,
	// charged like anonymous memory when writable. Either maps the pages
	// that lie within the file's size.
	var charge uint64
	area := uint8(prot) | mm.ProtDevice
	if !shared {
		area = uint8(prot)
		if prot&unix.PROT_WRITE != 0 {
			charge = uint64(n)
		}
	}
	if !vm.CommitFits(charge, 0) || !vm.VMAs.Insert(addr, addr+n, area) {
		return -abi.ENOMEM
	}
	vm.Commit(charge)
	if shared {
		vfs.Root.Hold(d.Ino)
		vfs.Root.KeepPages(d.Ino)
	}
	m := vfs.Mem()
	size := uintptr(mm.PageRoundUp(uint64(max(vfs.Root.Size(d.Ino), 0))))
	count := uintptr(0)
	if off < size {
		count = min(n, size-off) / mm.PageSize
	}
	for i := range count {
		pa, e := vfs.Root.PageOf(&m, d.Ino, uint64(off/mm.PageSize+i), shared)
		src := pa // a private mapping's copy: of the file's page, or zeroes where it has none
		if !shared {
			pa, e = vm.Frames.Alloc(), 0
		}
		if e == 0 && (shared || pa != 0) && mm.KPT.Map(&vm.Frames, addr+i*mm.PageSize, pa, vm.PTEFlags(uint8(prot))) {
			if !shared && src != 0 {
				copy(vm.Frames.Page(pa)[:], vm.Frames.Page(src)[:])
			}
			continue
		}
		if shared {
			vfs.Done(&m)
			devices.UnmapDevice(addr, addr+n)
			vm.VMAs.Remove(addr, addr+n)
		} else {
			if pa != 0 {
				vm.Frames.Free(pa)
			}
			unmapRange(addr, addr+n)
		}
		return -abi.ENOMEM
	}
	if shared {
		vfs.Done(&m)
	}
	return int64(addr)
}

// Msync checks its arguments: shared file pages are the file's pages,
// so there is nothing to write back. Context: trap, kernel lock held.
func Msync(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	addr, length, flags := a[0], a[1], int(int32(a[2]))
	if flags&^(unix.MS_ASYNC|unix.MS_SYNC|unix.MS_INVALIDATE) != 0 || flags&unix.MS_ASYNC != 0 && flags&unix.MS_SYNC != 0 {
		return -abi.EINVAL
	}
	_, end, r, done := callSpan(unix.SYS_MSYNC, addr, length)
	if done {
		return r
	}
	c := vm.LockMem()
	mapped := wholeMapped(addr, end)
	klock.Mem.Unlock(c)
	if !mapped {
		return -abi.ENOMEM
	}
	return 0
}
