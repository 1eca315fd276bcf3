package fdcalls

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/vm"
)

// kmsgMax bounds a /dev/kmsg record, as Linux's 1024-byte records.
const kmsgMax = 1024

// kmsgWrite implements write on /dev/kmsg: the bytes up to the first
// newline, at most kmsgMax, become one kernel log line.
// Context: trap, kernel lock held; does not allocate.
func kmsgWrite(buf, n uintptr) int64 {
	b, ok := vm.UserBytes(buf, min(n, kmsgMax), false)
	if !ok {
		return -abi.EFAULT
	}
	for i, c := range b {
		if c == '\n' {
			b = b[:i]
			break
		}
	}
	klog.Write(b)
	return int64(n)
}
