package vm

import (
	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/klog"
)

// The initramfs archives (cpio newc) come from two places: the one the
// image build embedded (fs.EmbeddedArchive, gometal build --files) and the
// boot modules the boot loader loaded (QEMU's -initrd, GRUB's module2),
// in boot.Info's Modules, which Setup copies. This file keeps the modules' memory out of the
// frame allocator and gives the file system their bytes; unpacking them is
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

// reserveModules takes the boot modules' pages out of the frame
// allocator, so that neither page tables nor the program's memory
// overwrite them. Context: boot, in Setup before the first frame
// allocation; does not allocate.
func reserveModules() {
	for _, m := range Modules() {
		if m.Size > 0 {
			Frames.Reserve(m.Base, m.End())
		}
	}
}

// logInitramfs logs the embedded archive's size and one line per boot
// module, and warns about modules the boot information parse left out.
// Context: boot; does not allocate.
func logInitramfs(info *boot.Info) {
	var l klog.Line // one line, reset for each (klog.Line.Reset)
	if n := len(fs.EmbeddedArchive()); n > 0 {
		l.S("initramfs: ").U(uint64(n)).S(" bytes embedded in the image").Info()
	}
	for i, m := range Modules() {
		l.Reset()
		l.S("initramfs module ").U(uint64(i)).S(": ").U(m.Size).S(" bytes at ").X(m.Base).Info()
	}
	if info.ModulesDropped {
		l.Reset()
		l.S("warning: more than ").U(boot.MaxModules).S(" boot modules: only the first ").U(boot.MaxModules).S(" are used").Print()
	}
	if info.BadModules > 0 {
		l.Reset()
		l.S("warning: ").U(uint64(info.BadModules)).S(" malformed boot module entries ignored (outside RAM, or ending before they start)").Print()
	}
}
