package kfiles

import (
	"strings"
	"testing"

	"github.com/gometal/gometal/kernel/klock"
	"github.com/gometal/gometal/kernel/x86"
	"github.com/stretchr/testify/assert"
	"golang.org/x/sys/unix"
)

// TestHoldTags: a trap's hold tag prints as the system call's name, the
// interrupt or the exception; the lock line ends with the longest
// holder's.
func TestHoldTags(t *testing.T) {
	word := func(tag uint64) string { // the lock line's last word
		var s klock.Stats
		s.Released(100, tag)
		var f File
		WriteLockStats(Writer{F: &f}, "l", &s)
		line := strings.TrimSuffix(string(f.Data[:f.N]), "\n")
		return line[strings.LastIndexByte(line, ' ')+1:]
	}
	assert.Equal(t, "getppid", word(klock.TrapTag(&x86.TrapFrame{Vector: x86.VecSyscall, AX: unix.SYS_GETPPID})))
	assert.Equal(t, "syscall_999", word(klock.TrapTag(&x86.TrapFrame{Vector: x86.VecSyscall, AX: 999})))
	assert.Equal(t, "timer", word(klock.TrapTag(&x86.TrapFrame{Vector: x86.VecTimer, AX: 5})), "AX means nothing for an interrupt")
	assert.Equal(t, "kick", word(klock.TrapTag(&x86.TrapFrame{Vector: x86.VecKick})))
	assert.Equal(t, "page_fault", word(klock.TrapTag(&x86.TrapFrame{Vector: x86.VecPageFault})))
	assert.Equal(t, "exception_0", word(klock.TrapTag(&x86.TrapFrame{Vector: 0})))
	assert.Equal(t, "irq_48", word(klock.TrapTag(&x86.TrapFrame{Vector: 48})))
	assert.Equal(t, "other", word(0))

	var s klock.Stats
	s.Acquired(true, 10)
	s.Released(100, klock.TrapTag(&x86.TrapFrame{Vector: x86.VecSyscall, AX: unix.SYS_MMAP}))
	var f File
	WriteLockStats(Writer{F: &f}, "kernel", &s)
	assert.Regexp(t, `^kernel 1 1 \d+ \d+ \d+ mmap\n$`, string(f.Data[:f.N]))
}
