package kernel

import (
	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/kernel/fs"
	"github.com/gometal/gometal/kernel/klog"
)

// The initramfs archives (cpio newc) come from two places: the one the
// image build embedded (fs.EmbeddedArchive, gometal build --files) and the
// boot modules the boot loader loaded (QEMU's -initrd, GRUB's module2),
// in bootInfo.Modules. This file keeps the modules' memory out of the
// frame allocator and gives the file system their bytes; unpacking them is
// kernel/fs's job (docs/protocols.md, "Initramfs").

// initramfsModules returns the boot modules in the boot loader's order.
// Context: boot or trap; does not allocate.
func initramfsModules() []boot.Module { return bootInfo.Modules[:bootInfo.NModules] }

// moduleData returns the bytes of boot module m, read through the direct
// map (boot.Parse keeps only modules below the end of RAM, which the
// direct map covers). The frames stay reserved: the slice is valid for
// the kernel's lifetime. Context: boot after setupMemory, or trap; does
// not allocate.
func moduleData(m boot.Module) []byte {
	if m.Size == 0 {
		return nil
	}
	return unsafeSlice(physToVirt(m.Base), uintptr(m.Size))
}

// reserveModules takes the boot modules' pages out of the frame
// allocator, so that neither page tables nor the program's memory
// overwrite them. Context: boot, in setupMemory before the first frame
// allocation; does not allocate.
func reserveModules() {
	for _, m := range initramfsModules() {
		if m.Size > 0 {
			frames.Reserve(m.Base, m.End())
		}
	}
}

// logInitramfs logs the embedded archive's size and one line per boot
// module, and warns about modules the boot information parse left out.
// Context: boot; does not allocate.
func logInitramfs() {
	if n := len(fs.EmbeddedArchive()); n > 0 {
		var l klog.Line
		l.S("initramfs: ").U(uint64(n)).S(" bytes embedded in the image").Info()
	}
	for i, m := range initramfsModules() {
		var l klog.Line
		l.S("initramfs module ").U(uint64(i)).S(": ").U(m.Size).S(" bytes at ").X(m.Base).Info()
	}
	if bootInfo.ModulesDropped {
		var l klog.Line
		l.S("warning: more than ").U(boot.MaxModules).S(" boot modules: only the first ").U(boot.MaxModules).S(" are used").Print()
	}
	if bootInfo.BadModules > 0 {
		var l klog.Line
		l.S("warning: ").U(uint64(bootInfo.BadModules)).S(" malformed boot module entries ignored (outside RAM, or ending before they start)").Print()
	}
}
