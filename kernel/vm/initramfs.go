package vm

import "github.com/gometal/gometal/boot"

// The initramfs archives (cpio newc) come from two places: the one the
// image build embedded (fs.EmbeddedArchive, gometal build --files) and the
// boot modules the boot loader loaded (QEMU's -initrd, GRUB's module2),
// in boot.Info's Modules, which Setup copies and keeps out of the frame
// allocator. This file gives the file system their bytes; unpacking them is
// kernel/fs's job (docs/protocols.md, "Initramfs").

// modules and nModules are the boot modules, copied from the boot
// information by Setup (plain values).
var (
	modules  [boot.MaxModules]boot.Module
	nModules int
)

// Modules returns the boot modules in the boot loader's order.
// Context: boot (after Setup) or trap; does not allocate.
func Modules() []boot.Module { return modules[:nModules] }

// copyModules records info's boot modules for Modules. Context: boot;
// does not allocate.
func copyModules(info *boot.Info) {
	nModules = copy(modules[:], info.Modules[:info.NModules])
}

// ModuleData returns the bytes of boot module m, read through the direct
// map (boot.Parse keeps only modules below the end of RAM, which the
// direct map covers). The frames stay reserved: the slice is valid for
// the kernel's lifetime. Context: boot after Setup, or trap; does
// not allocate.
func ModuleData(m boot.Module) []byte {
	if m.Size == 0 {
		return nil
	}
	return bytesAt(PhysToVirt(m.Base), uintptr(m.Size))
}
