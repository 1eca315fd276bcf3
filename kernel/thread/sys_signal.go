package thread

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/threadtab"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/sched"
	"golang.org/x/sys/unix"
)

// Signal state: the handlers (process-wide), masks and alternate stacks
// (per thread), kept as Linux keeps them. Delivery is in signal.go.
const nsig = abi.NSig

// sigaction is the kernel's struct sigaction on amd64.
type sigaction struct {
	handler, flags, restorer, mask uint64
}

var sigactions [nsig + 1]sigaction

// SysRtSigaction reads and sets a signal's handler (process-wide); SIGKILL
// and SIGSTOP cannot be changed. Context: trap, kernel lock held; does not allocate.
func SysRtSigaction(sig int, act, oact, size uintptr) int64 {
	if size != 8 || sig < 1 || sig > nsig {
		return -abi.EINVAL
	}
	if act != 0 && (sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP)) {
		return -abi.EINVAL
	}
	var next sigaction
	if act != 0 {
		b, ok := vm.UserBytes(act, 32, false)
		if !ok {
			return -abi.EFAULT
		}
		next = sigaction{le64(b), le64(b[8:]), le64(b[16:]), le64(b[24:])}
	}
	if oact != 0 {
		old := sigactions[sig]
		if !vm.UserWrite64(oact, old.handler) || !vm.UserWrite64(oact+8, old.flags) ||
			!vm.UserWrite64(oact+16, old.restorer) || !vm.UserWrite64(oact+24, old.mask) {
			return -abi.EFAULT
		}
	}
	if act != 0 {
		sigactions[sig] = next
	}
	return 0
}

// SysRtSigprocmask changes t's signal mask (SIGKILL and SIGSTOP stay
// unblocked) and reports the old one. Context: trap, kernel lock held; does not allocate.
func SysRtSigprocmask(t sched.TID, how int, set, oset, size uintptr) int64 {
	if size != 8 {
		return -abi.EINVAL
	}
	th := &threadtab.Threads[t]
	old := th.Sigmask
	if set != 0 {
		s, ok := vm.UserRead64(set)
		if !ok {
			return -abi.EFAULT
		}
		s &^= 1<<(unix.SIGKILL-1) | 1<<(unix.SIGSTOP-1)
		switch how {
		case unix.SIG_BLOCK:
			th.Sigmask |= s
		case unix.SIG_UNBLOCK:
			th.Sigmask &^= s
		case unix.SIG_SETMASK:
			th.Sigmask = s
		default:
			return -abi.EINVAL
		}
	}
	if oset != 0 && !vm.UserWrite64(oset, old) {
		th.Sigmask = old
		return -abi.EFAULT
	}
	return 0
}

// SysSigaltstack reads and sets t's alternate signal stack, a stack_t on
// amd64: ss_sp (8), ss_flags (4, padded to 8), ss_size (8).
// Context: trap, kernel lock held; does not allocate.
func SysSigaltstack(t sched.TID, ss, oss uintptr) int64 {
	th := &threadtab.Threads[t]
	if oss != 0 {
		flags := th.AltStack[1]
		if th.AltStack[2] == 0 {
			flags = ssDisable
		}
		if !vm.UserWrite64(oss, th.AltStack[0]) || !vm.UserWrite64(oss+8, flags) || !vm.UserWrite64(oss+16, th.AltStack[2]) {
			return -abi.EFAULT
		}
	}
	if ss != 0 {
		b, ok := vm.UserBytes(ss, 24, false)
		if !ok {
			return -abi.EFAULT
		}
		sp, flags, size := le64(b), uint64(uint32(le64(b[8:]))), le64(b[16:])
		switch {
		case flags == ssDisable:
			th.AltStack = [3]uint64{}
		case flags != 0:
			return -abi.EINVAL
		case size < minSigStackSize:
			return -abi.ENOMEM
		default:
			th.AltStack = [3]uint64{sp, 0, size}
		}
	}
	return 0
}

func le64(b []byte) uint64 {
	_ = b[7]
	return uint64(b[0]) | uint64(b[1])<<8 | uint64(b[2])<<16 | uint64(b[3])<<24 |
		uint64(b[4])<<32 | uint64(b[5])<<40 | uint64(b[6])<<48 | uint64(b[7])<<56
}

// sigaltstack constants (asm-generic/signal.h).
const (
	ssDisable       = 2
	minSigStackSize = 2048
)
