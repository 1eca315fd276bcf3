package qemu

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// Defaults used for the zero values of [Options] fields.
const (
	DefaultQEMU    = "qemu-system-x86_64"
	DefaultMem     = "256M"
	DefaultSMP     = 1
	DefaultTimeout = 60 * time.Second
)

// NoTimeout as [Options.Timeout] lets the guest run until it exits or the
// context is done.
const NoTimeout time.Duration = -1

// Machine and CPU model passed to QEMU; see the package comment for why.
const (
	DefaultMachine = "q35"
	cpu            = "Westmere-v1,+rdrand"
)

// Machines [Options.Machine] knows (its value may add QEMU machine
// properties after a comma: "microvm,acpi=off").
const (
	MachineQ35     = "q35"
	MachinePC      = "pc"
	MachineMicrovm = "microvm" // no PCI: virtio devices on virtio-mmio, the serial port is isa-serial
)

// DebugExitDevice is the -device argument for the exit-status port of
// docs/protocols.md.
const DebugExitDevice = "isa-debug-exit,iobase=0xf4,iosize=0x04"

// Options describes one boot of an image.
type Options struct {
	// Image is the path of the image (a PVH ELF) to pass to -kernel.
	Image string
	// ISO, instead of Image, is a bootable ISO (gometal iso) attached as a
	// CD-ROM (-cdrom) and booted through the firmware and GRUB. Its kernel
	// command line is in its grub.cfg, so Append must be empty. What the
	// firmware and GRUB print on the serial port before the kernel's first
	// log line goes to Result.Firmware, not to the output.
	ISO string
	// BIOS is the firmware image (-bios), such as OVMF for UEFI, or
	// SeaBIOS for QEMU's default firmware (no -bios). "" means qboot
	// (qboot.rom from QEMU's data directory) for an Image boot on q35 or pc
	// without a display device or PCI bridge in Extra, when QEMU has it, and SeaBIOS
	// otherwise (ISO boots, microvm's own firmware aside); see firmware.go.
	BIOS string
	// SMP is the number of CPUs (-smp); 0 means 1.
	SMP int
	// Mem is the guest memory size (-m), such as "64M" or "2G"; "" means 256M.
	Mem string
	// Append is the kernel command line (-append): kernel options and,
	// split at white space, environment variables, then "--" and the
	// program's arguments. ProgramArgs and ProgramEnv carry them exactly.
	Append string
	// ProgramArgs (argv[1:]) and ProgramEnv ("KEY=value" strings, in
	// order, duplicates kept) reach the program byte for byte in an
	// argument block (docs/protocols.md) appended to the initrd, or alone
	// as the boot module. Both nil means no block: the program gets the
	// command line's arguments. With a block, its arguments replace the
	// command line's and its environment follows the command line's. Any
	// byte but NUL, up to abi.MaxArgBytes (see CheckArgs).
	ProgramArgs, ProgramEnv []string
	// Initrd is a file QEMU loads next to the image as a boot module
	// (-initrd): the multiboot module list or PVH's, whichever protocol
	// the image boots through. The kernel unpacks it as an initramfs (a
	// cpio newc archive, docs/protocols.md) after the image's own. ""
	// means none; with ISO it must be "" (the ISO carries its module).
	Initrd string
	// Machine is the QEMU machine (-machine): "q35" (the default), "pc" or
	// "microvm", optionally with properties ("microvm,acpi=off").
	Machine string
	// NoDebugExit leaves out the isa-debug-exit device: the guest's exit
	// status then comes from the status record it prints on the console
	// (docs/protocols.md), as on monitors without the device (Firecracker).
	NoDebugExit bool
	// Net is a QEMU -netdev backend such as "user,hostfwd=tcp::8080-:80";
	// it is attached to a modern-only virtio-net PCI device (on microvm, a
	// virtio-mmio one). "" means no NIC.
	Net string
	// Extra holds more QEMU arguments, appended last.
	Extra []string
	// NoStallReport leaves out the stall report a run asks the kernel for
	// when its time limit expires (stall.go): no QMP socket, no
	// unknown_nmi_panic option, so an NMI the caller injects is ignored.
	NoStallReport bool
	// Timeout bounds the whole run; 0 means 60s, NoTimeout (any negative
	// value) no limit (a server). It is enforced: QEMU and its process
	// group are killed when it expires.
	Timeout time.Duration
	// Console, if not nil, receives the raw serial stream as it arrives.
	// Write errors are ignored.
	Console io.Writer
	// Stdin, if not nil, is fed to the serial port's input, or with
	// VirtioConsole to the stdin port, whose end is the program's end of
	// file (nil: an empty input).
	Stdin io.Reader
	// VirtioConsole adds a virtio console (virtio-serial) whose ports
	// carry the program's stdout, stderr and stdin and the kernel log
	// (docs/protocols.md, "Console"); the serial port keeps the boot and
	// shutdown lines and panic reports. The Result's Output, Stderr and
	// KernelLog then come from the ports (and the serial port's lines).
	VirtioConsole bool
	// Stdout, Stderr and KernelLogOut, if not nil, receive the program's
	// stdout and stderr and the kernel log lines as they arrive (with
	// VirtioConsole; write errors are ignored).
	Stdout, Stderr, KernelLogOut io.Writer
	// StreamOnly keeps no copy of the program's stdout and stderr (with
	// VirtioConsole): Result.Output and Result.Stderr stay empty, and a
	// long run's output costs no memory. Stdout and Stderr still get it.
	StreamOnly bool
	// QEMU is the QEMU binary; "" means qemu-system-x86_64 from $PATH.
	QEMU string
}

// withDefaults returns o with its zero fields replaced by the defaults.
func (o Options) withDefaults() Options {
	if o.SMP <= 0 {
		o.SMP = DefaultSMP
	}
	if o.Mem == "" {
		o.Mem = DefaultMem
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.QEMU == "" {
		o.QEMU = DefaultQEMU
	}
	if o.Machine == "" {
		o.Machine = DefaultMachine
	}
	return o
}

// MachineType returns the machine's name without its properties
// ("microvm" for "microvm,acpi=off").
func (o Options) MachineType() string {
	name, _, _ := strings.Cut(o.withDefaults().Machine, ",")
	return name
}

// Args returns the QEMU command-line arguments (without the binary) for o,
// after filling in the defaults.
func (o Options) Args() []string {
	o = o.withDefaults()
	boot := []string{"-kernel", o.Image}
	if o.ISO != "" {
		boot = []string{"-cdrom", o.ISO}
	}
	boot = append(o.firmwareArgs(), boot...)
	args := []string{
		"-machine", o.Machine,
		"-cpu", cpu,
		"-smp", strconv.Itoa(o.SMP),
		"-m", o.Mem,
	}
	args = append(args, boot...)
	args = append(args,
		// -nodefaults drops the default NIC, VGA, floppy and CD-ROM; the
		// serial console is added back explicitly on stdio.
		"-nodefaults",
		"-display", "none",
		"-serial", "stdio",
		"-monitor", "none",
		"-no-reboot",
	)
	if !o.NoDebugExit {
		args = append(args, "-device", DebugExitDevice)
	}
	if o.Append != "" {
		args = append(args, "-append", o.Append)
	}
	if o.Initrd != "" {
		args = append(args, "-initrd", o.Initrd)
	}
	if o.Net != "" {
		backend, opts, _ := strings.Cut(o.Net, ",")
		netdev := backend + ",id=net0"
		if opts != "" {
			netdev += "," + opts
		}
		nic := []string{"-device", "virtio-net-pci,netdev=net0,disable-legacy=on"}
		if o.MachineType() == MachineMicrovm {
			// A virtio-mmio transport; QEMU 7.2 makes them legacy
			// (version 1) unless told otherwise, the kernel drives only
			// version 2 (virtio 1.x), as Firecracker offers.
			nic = []string{"-global", "virtio-mmio.force-legacy=false", "-device", "virtio-net-device,netdev=net0"}
		}
		args = append(append(args, "-netdev", netdev), nic...)
	}
	if o.VirtioConsole {
		// After the NIC: on microvm without ACPI the NIC keeps the
		// transport (and the virtio_mmio.device= option) it has alone.
		args = append(args, o.consoleArgs()...)
	}
	return append(args, o.Extra...)
}

// The virtio console's ports (docs/protocols.md): each on a socket that
// Run passes to QEMU as an inherited descriptor, in this order from 3.
var consolePorts = []struct {
	name string // chardev id and port name suffix
	nr   int    // port number, which the kernel knows the stream by
}{
	{"stdout", 1},
	{"stderr", 2},
	{"stdin", 3},
	{"klog", 4},
}

// consoleArgs returns the QEMU arguments of the virtio console.
func (o Options) consoleArgs() []string {
	dev := "virtio-serial-pci,max_ports=5"
	var args []string
	if o.MachineType() == MachineMicrovm {
		dev = "virtio-serial-device,max_ports=5"
		if o.Net == "" {
			args = append(args, "-global", "virtio-mmio.force-legacy=false")
		}
	}
	args = append(args, "-device", dev)
	for i, p := range consolePorts {
		args = append(args,
			"-chardev", fmt.Sprintf("socket,id=gm%s,fd=%d", p.name, 3+i),
			"-device", fmt.Sprintf("virtserialport,chardev=gm%s,nr=%d,name=gometal.%s", p.name, p.nr, p.name))
	}
	return args
}
