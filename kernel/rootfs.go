package kernel

import (
	"github.com/gometal/gometal/kernel/kfiles"
	"github.com/gometal/gometal/kernel/vm"
)

// setupFiles builds the root file system the program starts with
// (kernel/kfiles): the base tree and the kernel's generated files, the
// archive embedded in the image, then the boot modules' archives in order,
// each overriding what came before (a module's argument block is taken
// off first, takeArgBlock), and the working directory from the cwd=
// option. It hands kernel/kfiles the command line and the dns= option
// first. Context: boot, after vm.Setup, before startProgram; does not
// allocate.
func setupFiles() {
	dns, ok := kernelOptionValue("dns=")
	kfiles.SetBootOptions(bootInfo.Cmdline[:bootInfo.CmdlineLen], dns, ok)
	m := kfiles.BeginRoot()
	for _, mod := range vm.Modules() {
		archive, hasArgs := takeArgBlock(mod, vm.ModuleData(mod))
		kfiles.Unpack(&m, archive, "a boot module (-initrd)")
		if !hasArgs {
			kfiles.FreeModule(mod) // else after startProgram copied the arguments
		}
	}
	dir, ok := kernelOptionValue("cwd=")
	kfiles.EndRoot(&m, dir, ok)
}
