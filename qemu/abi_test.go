package qemu_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gometal/gometal/qemu"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Bad system-call arguments must get the errno Linux gives (the host run
// of examples/badcalls is the reference), and the program must go on.
func init() {
	bootCases["badcalls"] = bootCase{}
	// Console input through the runtime's netpoller: the UART interrupt
	// makes fd 0 readable and wakes the thread in epoll_pwait.
	bootCases["pollstdin"] = bootCase{smp: 2, stdin: "hello\nworld\nquit\n"}
	bootCases["devirq"] = bootCase{guestOnly: true, check: devirqOK(1)}
}

// devirqOK checks examples/devirq's own verdicts: /dev/mem refuses kernel
// RAM and maps the DMA pool and the local APIC; an interrupt raised on the
// descriptor's vector arrives through the netpoller; 64 raised one at a
// time on a descriptor outside the netpoller are each counted and read
// once. On one CPU (smp 1), where nothing runs beside and no epoll
// instance watches that descriptor, the files lock alone serves every
// one of those interrupts (kernel.deviceTrap; none then takes the
// kernel lock for a wake) and every read of the
// count (fdcalls.StreamCall): the reads on the kernel lock's path are
// only the program's reads of /proc/gometal/sched around them.
func devirqOK(smp int) func(t *testing.T, res *qemu.Result) {
	return func(t *testing.T, res *qemu.Result) {
		assert.Equal(t, 0, res.ExitCode)
		out, served, _ := strings.Cut(string(res.Output), "served: ")
		assert.Equal(t, "kernel RAM refused: EPERM\n"+
			"DMA pool of 2048 KiB mapped and writable: true\n"+
			"local APIC mapped: version register lists more than 3 LVT entries: true\n"+
			"interrupt vector in the device range: true\n"+
			"interrupts read through the netpoller: 1\n"+
			"interrupts on a descriptor outside the netpoller: 64 raised, 64 read, 64 counted\n", out)
		var alone, woke, lockedReads int
		_, err := fmt.Sscanf(served, "%d interrupts under the files lock alone (%d then woke a thread on the kernel lock's path), %d reads on the kernel lock's path\ndone\n", &alone, &woke, &lockedReads)
		require.NoError(t, err, "the served line and done: %q", served)
		t.Logf("smp %d: %d of 64 interrupts under the files lock alone (%d then took the kernel lock for a wake), %d reads on the kernel lock's path", smp, alone, woke, lockedReads)
		if smp == 1 {
			assert.Equal(t, 64, alone, "every interrupt counted under the files lock alone")
			assert.Zero(t, woke, "none woke a thread: nothing watches the descriptor")
			assert.LessOrEqual(t, lockedReads, 4, "the count's reads under the files lock alone: only /proc/gometal/sched's reads on the locked path (2 in the boots measured)")
		}
	}
}

// TestDeviceAccess runs examples/devirq on one CPU and on four (where the
// interrupt and its reader may be on different CPUs).
func TestDeviceAccess(t *testing.T) {
	s := newBootSuite(t, mustRoot(t))
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s.boot(t, "devirq", bootCase{guestOnly: true, smp: n, tag: fmt.Sprintf("smp%d", n), check: devirqOK(n)})
		})
	}
}
