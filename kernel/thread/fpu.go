package thread

import (
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/percpu"
)

// SyncFPU completes the FX area of the thread whose x87 state is live in
// c's registers (percpu.CPU.X87Live: the trap entry stored only its MXCSR
// and XMM registers), so that the kernel may copy or replace the area, or
// the thread run on another CPU; c's next trap exit then restores the
// whole area. The kernel calls it before it reads or writes a running
// thread's area (signal delivery, rt_sigreturn, clone) and before a
// thread leaves the CPU (package kernel's load and halt).
// Context: trap, on c, kernel lock held or not (the state is c's own:
// rt_sigreturn's lock-free path, TrySigreturn); does not allocate.
// Not inlined: its copies cost the image 320 bytes (issue 16's budget).
//
//go:noinline
func SyncFPU(c *percpu.CPU) {
	if c.X87Live != 0 {
		cpu.CompleteFX(c.X87Live)
		c.X87Live = 0
	}
}
