package qemu_test

import (
	"fmt"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
)

// Bad system-call arguments must get the errno Linux gives (the host run
// of examples/badcalls is the reference), and the program must go on.
func init() {
	bootCases["badcalls"] = bootCase{}
	// Console input through the runtime's netpoller: the UART interrupt
	// makes fd 0 readable and wakes the thread in epoll_pwait.
	bootCases["pollstdin"] = bootCase{smp: 2, stdin: "hello\nworld\nquit\n"}
	bootCases["devirq"] = bootCase{guestOnly: true, check: devirqOK}
}

// devirqOK checks examples/devirq's own verdicts: /dev/mem refuses kernel
// RAM and maps the DMA pool and the local APIC; an interrupt raised on the
// descriptor's vector arrives through the netpoller.
func devirqOK(t *testing.T, res *qemu.Result) {
	assert.Equal(t, 0, res.ExitCode)
	assert.Equal(t, "kernel RAM refused: EPERM\n"+
		"DMA pool of 2048 KiB mapped and writable: true\n"+
		"local APIC mapped: version register lists more than 3 LVT entries: true\n"+
		"interrupt vector in the device range: true\n"+
		"interrupts read through the netpoller: 1\n"+
		"done\n", string(res.Output))
}

// TestDeviceAccess runs examples/devirq on one CPU and on four (where the
// interrupt and its reader may be on different CPUs).
func TestDeviceAccess(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s.boot(t, "devirq", bootCase{guestOnly: true, smp: n, tag: fmt.Sprintf("smp%d", n), check: devirqOK})
		})
	}
}
