// Package sysinfo holds the small system calls that describe the system
// to the program or hand it something of the machine's, and belong to no
// other subsystem: uname, getrandom (and the kernel's own random words,
// which the boot's AT_RANDOM and /dev/urandom use too) and prlimit.
//
// Every function runs in trap context (docs/trap-context.md).
package sysinfo

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// SysUname describes the machine the way Go programs and the runtime probe
// it: Linux, x86_64.
// Context: trap, kernel lock held; does not allocate.
func SysUname(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	buf := a[0]
	const field = 65 // struct utsname: six 65-byte strings
	b, ok := vm.UserBytes(buf, 6*field, true)
	if !ok {
		return -abi.EFAULT
	}
	// sysname, nodename, release, version, machine, domainname, each
	// NUL-padded to its field
	const uts = "Linux\x00gometal\x006.1.0-gometal\x00#1 SMP\x00x86_64\x00(none)\x00"
	clear(b)
	at, f := 0, 0
	for i := range len(uts) {
		if uts[i] == 0 {
			f += field
			at = f
			continue
		}
		b[at] = uts[i]
		at++
	}
	return 0
}

// RandomWord returns 64 random bits from RDRAND, or from the TSC mixed by
// a xorshift when the CPU has no RDRAND (QEMU's default model).
// Context: trap (getrandom) or boot (AT_RANDOM), kernel lock held; does
// not allocate.
func RandomWord() uint64 {
	if HasRDRAND {
		for i := 0; i < 10; i++ {
			if v, ok := cpu.Rdrand(); ok {
				return v
			}
		}
	}
	fallbackRand ^= cpu.Rdtsc()
	fallbackRand ^= fallbackRand << 13
	fallbackRand ^= fallbackRand >> 7
	fallbackRand ^= fallbackRand << 17
	return fallbackRand
}

var (
	// HasRDRAND says whether the CPU has the RDRAND instruction; the boot
	// CPU's set-up (setupCPU in package kernel) records it.
	HasRDRAND bool

	// fallbackRand is the xorshift's state when there is no RDRAND.
	fallbackRand uint64 = 0x9e3779b97f4a7c15
)

// SysGetrandom fills up to 32 MiB at buf with random bytes; it never
// blocks. Context: trap, kernel lock held; does not allocate.
func SysGetrandom(_ *percpu.CPU, _ sched.TID, a abi.SysArgs) int64 {
	buf, n := a[0], a[1]
	n = min(n, 1<<25)
	b, ok := vm.UserBytes(buf, n, true)
	if !ok {
		return -abi.EFAULT
	}
	FillRandom(b)
	return int64(n)
}

// SysPrlimit reports the limits; RLIMIT_NOFILE's soft limit can be set
// (up to the hard limit, fdtab.MaxFDs), the others are accepted and ignored.
// Context: trap, kernel lock held; does not allocate.
func SysPrlimit(pid, resource int, newLimit, old uintptr) int64 {
	if pid != 0 && pid != 1 {
		return -abi.EPERM
	}
	if resource < 0 || resource >= rlimitCount {
		return -abi.EINVAL
	}
	cur, maxv := uint64(unix.RLIM_INFINITY), uint64(unix.RLIM_INFINITY)
	switch resource {
	case unix.RLIMIT_NOFILE:
		cur, maxv = fdtab.NofileLimit, fdtab.MaxFDs
	case unix.RLIMIT_STACK:
		cur = vm.StackSize
	}
	if old != 0 && (!vm.UserWrite64(old, cur) || !vm.UserWrite64(old+8, maxv)) {
		return -abi.EFAULT
	}
	if newLimit == 0 {
		return 0
	}
	soft, ok1 := vm.UserRead64(newLimit)
	hard, ok2 := vm.UserRead64(newLimit + 8)
	switch {
	case !ok1 || !ok2:
		return -abi.EFAULT
	case soft > hard:
		return -abi.EINVAL
	case resource == unix.RLIMIT_NOFILE && hard > fdtab.MaxFDs:
		return -abi.EPERM // raising the hard limit needs a bigger table
	case resource == unix.RLIMIT_NOFILE:
		fdtab.NofileLimit = soft
	}
	return 0
}

// FillRandom fills b from the CPU's random-number generator.
// Context: trap, kernel lock held; does not allocate.
func FillRandom(b []byte) {
	for i := 0; i < len(b); i += 8 {
		v := RandomWord()
		for k := 0; k < 8 && i+k < len(b); k++ {
			b[i+k] = byte(v >> (8 * k))
		}
	}
}

// rlimitCount is RLIM_NLIMITS on Linux.
const rlimitCount = 16
