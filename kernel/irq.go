package kernel

import "github.com/gometal/gometal/kernel/devices"

// deviceInterrupt handles a device vector (devices.Interrupt), then acts
// on the descriptors the handler recorded for epoll (socketEvents: the
// console's and /dev/irq's watchers wake before the scheduler runs, as
// when the handlers woke them directly). Context: trap, kernel lock held.
func deviceInterrupt(v uint64) bool {
	handled := devices.Interrupt(v)
	socketEvents()
	return handled
}
