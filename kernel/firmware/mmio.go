package firmware

import (
	"github.com/gometal/gometal/drivers/acpi"
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/klog"
)

// Platform devices without a bus to enumerate: virtio-mmio transports,
// which the firmware declares in the DSDT (QEMU's microvm, Firecracker)
// or the monitor announces on the command line (virtio_mmio.device=, as
// Firecracker does for Linux). Drivers in kernel goroutines read the list
// through /dev/irq's irqDeviceInfo ioctl and route the interrupt with
// irqRouteGSI (irqfd.go).
var (
	mmioDevs  [acpi.MaxMMIODevices]acpi.MMIODevice
	nMMIODevs int
)

// CollectMMIODevices gathers the virtio-mmio transports of the DSDT and
// of the command line (a base already listed is not repeated) and logs
// them. Context: boot; does not allocate.
func CollectMMIODevices(cmdline *abi.Cmdline) {
	nMMIODevs = 0
	if haveACPI {
		for i := 0; i < acpiTables.NMMIO; i++ {
			addMMIODevice(acpiTables.MMIO[i], "ACPI")
		}
	}
	for i := 0; i < cmdline.NKernel; i++ {
		w := cmdline.Word(cmdline.Kernel[i])
		if len(w) < len(abi.VirtioMMIOPrefix) || string(w[:len(abi.VirtioMMIOPrefix)]) != abi.VirtioMMIOPrefix {
			continue
		}
		base, size, irq, ok := abi.ParseVirtioMMIO(w[len(abi.VirtioMMIOPrefix):])
		if !ok {
			var l klog.Line
			l.S("warning: bad ").B(w).S(" (want SIZE@BASE:IRQ): ignored").Print()
			continue
		}
		// Firecracker's interrupts are edge-triggered, active high.
		addMMIODevice(acpi.MMIODevice{Base: base, Size: size, GSI: irq}, "command line")
	}
}

// addMMIODevice adds d unless its base is listed already.
// Context: boot; does not allocate.
func addMMIODevice(d acpi.MMIODevice, from string) {
	for i := 0; i < nMMIODevs; i++ {
		if mmioDevs[i].Base == d.Base {
			return
		}
	}
	if nMMIODevs == len(mmioDevs) {
		klog.Print("warning: too many virtio-mmio devices: the rest are ignored")
		return
	}
	mmioDevs[nMMIODevs] = d
	nMMIODevs++
	var l klog.Line
	l.S("virtio-mmio: ").X(d.Base).S("+").U(d.Size).S(", GSI ").U(uint64(d.GSI))
	if d.Level {
		l.S(" level")
	} else {
		l.S(" edge")
	}
	if d.ActiveLow {
		l.S(" active-low")
	}
	l.S(" (").S(from).S(")").Info()
}

// MMIODevices returns the virtio-mmio transports CollectMMIODevices
// found. Context: any.
func MMIODevices() []acpi.MMIODevice { return mmioDevs[:nMMIODevs] }
