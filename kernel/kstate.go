package kernel

import (
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/vm"
)

// checkKernelState hands kernel/vm where the vDSO page is (kernel state
// the program may read, never write) and checks the image's kernel-state
// table (vm.CheckKernelState: the boot stops without one). Context: boot,
// after vm.Setup; does not allocate.
func checkKernelState() {
	vm.SetVDSO(clock.VDSORange())
	vm.CheckKernelState()
}
