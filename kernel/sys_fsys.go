package kernel

import (
	"github.com/gometal/gometal/kernel/devices"
	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/sched"
)

// The system calls of kernel/fsys that end in package kernel: an open of
// a device served here, and a stat of a descriptor by its kind
// (fsys.OpenDevice, fsys.StatDescriptor; docs/kernel-layout.md).

// sysOpenat is fsys.SysOpenat, which leaves /dev/irq and the kernel's
// generated files to package kernel.
// Context: trap, kernel lock held; does not allocate.
func sysOpenat(t sched.TID, dirfd int, path uintptr, flags int, mode uint32) int64 {
	r := fsys.SysOpenat(t, dirfd, path, flags, mode)
	if r != fsys.OpenDevice {
		return r
	}
	d := fsys.Device
	if d.Kind == fsys.DeviceIRQ {
		return devices.OpenIRQ(d.Flags)
	}
	return openMemFile(d.Ino, d.Index, d.Flags)
}

// sysNewfstatat is fsys.SysNewfstatat, with fstat for AT_EMPTY_PATH on a
// descriptor that is no file of the file system.
// Context: trap, kernel lock held; does not allocate.
func sysNewfstatat(dirfd int, path, st uintptr, flags int) int64 {
	r := fsys.SysNewfstatat(dirfd, path, st, flags)
	if r != fsys.StatDescriptor {
		return r
	}
	return fdcalls.SysFstat(dirfd, st)
}

// sysStatx is fsys.SysStatx, which leaves AT_EMPTY_PATH on a descriptor
// that is no file of the file system to fdcalls.DescStat.
// Context: trap, kernel lock held; does not allocate.
func sysStatx(dirfd int, path uintptr, flags int, buf uintptr) int64 {
	r := fsys.SysStatx(dirfd, path, flags, buf)
	if r != fsys.StatDescriptor {
		return r
	}
	ds, e := fdcalls.DescStat(fdtab.Get(dirfd))
	if e != 0 {
		return e
	}
	return fsys.PutStatxMode(buf, ds.Mode)
}
