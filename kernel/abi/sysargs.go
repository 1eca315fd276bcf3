package abi

// SysArgs are a system call's six argument registers: RDI, RSI, RDX, R10,
// R8, R9. A handler converts each as the call's C type says: int(a[i])
// for a long, int(int32(a[i])) for an int (sign-extended), uint32(a[i])
// for an unsigned int, int64(a[i]) for an off_t. (Plain conversions, not
// methods: each of the 179 inlined method calls left an entry in the
// image's inlining tables, about 4 KB in all, issue 16's budget.)
type SysArgs [6]uintptr
