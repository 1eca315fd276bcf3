package fsys

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/vm"
)

// What a system call here cannot finish because the rest of it is
// package kernel's, above this package (trap context has no callbacks):
// it answers one of these values, which are neither a descriptor, nor 0,
// nor an errno (-1 ... -4095), and package kernel acts on it
// (kernel/sys_fsys.go).
const (
	// OpenDevice: SysOpenat named a device package kernel serves; which
	// one is in Device.
	OpenDevice int64 = -1 << 32
	// StatDescriptor: SysNewfstatat or SysStatx with AT_EMPTY_PATH named
	// a descriptor that is no file of the file system (console, socket,
	// pipe, eventfd, a kernel file, ...); package kernel describes it by
	// its kind.
	StatDescriptor int64 = -1<<32 - 1
)

// The devices SysOpenat records in Device.Kind.
const (
	DeviceIRQ     = 1 + iota // /dev/irq (kernel/irqfd.go)
	DeviceMemFile            // a kernel-generated file (kernel/memfile.go): Ino, Index
)

// DeviceOpen is an open of a device that package kernel serves, as
// SysOpenat records it.
type DeviceOpen struct {
	Kind  int    // DeviceIRQ, DeviceMemFile
	Ino   fs.Ino // the file's inode (DeviceMemFile)
	Index int    // which kernel file (the low bits of its rdev)
	Flags int    // the open's flags
}

// Device is the last open SysOpenat answered OpenDevice for; package
// kernel reads it under the same hold of the kernel lock.
var Device DeviceOpen

// recordDevice records an open for package kernel and answers OpenDevice.
// Context: trap, kernel lock held; does not allocate.
func recordDevice(kind int, ino fs.Ino, index, flags int) int64 {
	Device = DeviceOpen{Kind: kind, Ino: ino, Index: index, Flags: flags}
	return OpenDevice
}

// PutStatxMode fills the struct statx at buf for a descriptor that is no
// file of the file system: its mode and one link, as SysStatx answers
// for AT_EMPTY_PATH.
// Context: trap, kernel lock held; does not allocate.
func PutStatxMode(buf uintptr, mode uint32) int64 {
	b, ok := vm.UserBytes(buf, fs.StatxSize, true)
	if !ok {
		return -abi.EFAULT
	}
	s := fs.Stat{Mode: mode, Nlink: 1}
	fs.PutStatx(b, &s)
	return 0
}
