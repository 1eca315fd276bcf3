package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/klog"
)

// sysName appends system call nr as Linux names it, with its number:
// "statx (332)"; a number Linux has no call for appears alone: "340".
// Context: any; does not allocate.
func sysName(l *klog.Line, nr uint64) *klog.Line {
	if name := abi.SyscallName(nr); name != "" {
		return l.S(name).S(" (").U(nr).S(")")
	}
	return l.U(nr)
}
