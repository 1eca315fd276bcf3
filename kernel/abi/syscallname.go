package abi

//go:generate go run gen_sysnames.go

// SyscallName returns the Linux amd64 name of system call nr, such as
// "statx" for 332, or "" when Linux has no call of that number.
// Context: any; does not allocate. Not inlined: its copies at its
// callers cost the image more than the calls (issue 16's budget).
//
//go:noinline
func SyscallName(nr uint64) string {
	if nr >= NumSyscalls {
		return ""
	}
	start := uint16(0)
	if nr > 0 {
		start = syscallNameEnds[nr-1]
	}
	return syscallNames[start:syscallNameEnds[nr]]
}
