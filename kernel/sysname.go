package kernel

import "github.com/gometal/gometal/kernel/abi"

// sysName appends system call nr as Linux names it, with its number:
// "statx (332)"; a number Linux has no call for appears alone: "340".
// Context: any; does not allocate.
func (l *logLine) sysName(nr uint64) *logLine {
	if name := abi.SyscallName(nr); name != "" {
		return l.s(name).s(" (").u(nr).s(")")
	}
	return l.u(nr)
}
