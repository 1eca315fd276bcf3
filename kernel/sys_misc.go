package kernel

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/fdtab"
	"github.com/gometal/gometal/kernel/vm"
	"golang.org/x/sys/unix"
)

// sysUname describes the machine the way Go programs and the runtime probe
// it: Linux, x86_64.
// Context: trap, kernel lock held; does not allocate.
func sysUname(buf uintptr) int64 {
	const field = 65 // struct utsname: six 65-byte strings
	b, ok := vm.UserBytes(buf, 6*field, true)
	if !ok {
		return -abi.EFAULT
	}
	clear(b)
	copy(b[0*field:], "Linux")
	copy(b[1*field:], "gometal")
	copy(b[2*field:], "6.1.0-gometal")
	copy(b[3*field:], "#1 SMP")
	copy(b[4*field:], "x86_64")
	copy(b[5*field:], "(none)")
	return 0
}

// randomWord returns 64 random bits from RDRAND, or from the TSC mixed by
// a xorshift when the CPU has no RDRAND (QEMU's default model).
// Context: trap (getrandom) or boot (AT_RANDOM), kernel lock held; does
// not allocate.
func randomWord() uint64 {
	if hasRDRAND {
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
	hasRDRAND    bool
	fallbackRand uint64 = 0x9e3779b97f4a7c15
)

// sysGetrandom fills up to 32 MiB at buf with random bytes; it never
// blocks. Context: trap, kernel lock held; does not allocate.
func sysGetrandom(buf, n uintptr) int64 {
	n = min(n, 1<<25)
	b, ok := vm.UserBytes(buf, n, true)
	if !ok {
		return -abi.EFAULT
	}
	fillRandom(b)
	return int64(n)
}

// sysPrlimit reports the limits; RLIMIT_NOFILE's soft limit can be set
// (up to the hard limit, fdtab.MaxFDs), the others are accepted and ignored.
// Context: trap, kernel lock held; does not allocate.
func sysPrlimit(pid, resource int, newLimit, old uintptr) int64 {
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

// rlimitCount is RLIM_NLIMITS on Linux.
const rlimitCount = 16
