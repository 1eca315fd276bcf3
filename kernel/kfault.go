package kernel

import (
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
)

// kfault=1 is a fault-injection option for the crash tests
// (qemu/kernelcrash_test.go): the program's first write system call makes
// the kernel itself read an unmapped address, so the real trap path for a
// fault in ring 0 (kernelTrap, kpanic.Panic's report, the panic status)
// runs under a real program. With it every call takes the kernel lock's
// path (userTrap skips fileTrap), so that the first write reaches doWrite
// whatever its descriptor.

// kfaultAddr is the address read: canonical, in the kernel half, far above
// any physical memory the direct map covers, so never mapped.
const kfaultAddr = 0xffffdeadbeef0000

var (
	kfaultArmed bool   // kfault=1 was given
	kfaultSink  uint64 // keeps the faulting load
)

// setupKernelFault reads the kfault= option. Context: boot CPU, before the
// program starts; does not allocate.
func setupKernelFault() {
	v, ok := kernelOptionValue("kfault=")
	if !ok {
		return
	}
	var l klog.Line
	if v != "1" {
		l.S("warning: kfault=").S(v).S(" ignored (kfault=1 faults in the first write)").Print()
		return
	}
	kfaultArmed = true
	l.S("kfault=1: the first write system call will read ").X(kfaultAddr).S(" in the kernel").Print()
}

// injectKernelFault reads kfaultAddr, which page-faults in ring 0: the
// kernel panics with a report whose rip lies in this function and whose
// cr2 is kfaultAddr. Context: trap, kernel lock held; does not allocate;
// does not return.
//
//go:noinline
func injectKernelFault() {
	if kpanic.Mapped(kfaultAddr) {
		kpanic.Panic("kfault=1: the address to fault on is mapped", nil)
	}
	kfaultSink = *(*uint64)(ptr(kfaultAddr))
	kpanic.Panic("kfault=1: reading an unmapped address did not fault", nil)
}
