// Package devices is the program's access to hardware: device
// interrupts (the I/O APIC routes at boot, SetupInterrupts, and the
// dispatch of a device vector to the serial console, the virtio console
// or a /dev/irq descriptor, Interrupt), interrupts as file descriptors
// (/dev/irq: OpenIRQ, IRQRead, IRQIoctl, CloseIRQ; an MSI's interrupt
// counted beside other calls, the files lock held shared:
// IRQInterruptShared) and /dev/mem (device
// memory and the DMA pool mapped into the program: MapDevice,
// UnmapDevice, UnmapDeviceAreas, EnsureDMAPool), for the drivers that
// run as goroutines (kernel/ring3).
//
// It lies below package kernel, which dispatches by descriptor kind and
// acts on what the handlers record for epoll (fdtab.Notify) after the
// interrupt (deviceTrap, deviceInterrupt, socketEvents), and above kernel/console,
// whose interrupts it dispatches. docs/kernel-layout.md.
//
// Trap context (docs/trap-context.md): nothing here allocates.
package devices

import (
	"github.com/gometal/gometal/kernel/thread"
	"github.com/gometal/gometal/sched"
)

// blocked is returned by a handler whose thread now waits (thread.Blocked).
const blocked = thread.Blocked

// noThread is no thread (sched.None).
const noThread = sched.None
