package kernel

import (
	"github.com/gometal/gometal/kernel/devices"
	"github.com/gometal/gometal/kernel/fdcalls"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/fsys"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/sched"
)

// The system calls of kernel/fsys that end in package kernel: an open of
// a device served here, and a stat of a descriptor by its kind
// (fsys.OpenDevice, fsys.StatDescriptor; docs/kernel-layout.md).

// doOpenat serves openat(2): fsys.SysOpenat, which leaves /dev/irq and
// the kernel's generated files to package kernel.
// Context: trap, kernel lock held; does not allocate.
func doOpenat(_ *percpu.CPU, t sched.TID, a sysArgs) int64 {
	dirfd := int(int32(a[0]))
	r := fsys.SysOpenat(t, dirfd, a[1], int(int32(a[2])), uint32(a[3]))
	if r != fsys.OpenDevice {
		return r
	}
	d := fsys.Device
	if d.Kind == fsys.DeviceIRQ {
		return devices.OpenIRQ(d.Flags)
	}
	return openMemFile(d.Ino, d.Index, d.Flags)
}

// doNewfstatat serves newfstatat(2): fsys.SysNewfstatat, with fstat for
// AT_EMPTY_PATH on a descriptor that is no file of the file system.
// Context: trap, kernel lock held; does not allocate.
func doNewfstatat(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	dirfd, st := int(int32(a[0])), a[2]
	r := fsys.SysNewfstatat(dirfd, a[1], st, int(int32(a[3])))
	if r != fsys.StatDescriptor {
		return r
	}
	return fdcalls.SysFstat(dirfd, st)
}

// doStatx serves statx(2): fsys.SysStatx, which leaves AT_EMPTY_PATH on
// a descriptor that is no file of the file system to fdcalls.DescStat.
// Context: trap, kernel lock held; does not allocate.
func doStatx(_ *percpu.CPU, _ sched.TID, a sysArgs) int64 {
	dirfd, buf := int(int32(a[0])), a[4]
	r := fsys.SysStatx(dirfd, a[1], int(int32(a[2])), buf)
	if r != fsys.StatDescriptor {
		return r
	}
	ds, e := fdcalls.DescStat(fdtab.Get(dirfd))
	if e != 0 {
		return e
	}
	return fsys.PutStatxMode(buf, ds.Mode)
}
