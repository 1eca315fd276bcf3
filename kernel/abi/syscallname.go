package abi

//go:generate go run gen_sysnames.go

// SyscallName returns the Linux amd64 name of system call nr, such as
// "statx" for 332, or "" when Linux has no call of that number.
// Context: any; does not allocate.
func SyscallName(nr uint64) string {
	if nr >= uint64(len(SyscallNames)) {
		return ""
	}
	return SyscallNames[nr]
}
