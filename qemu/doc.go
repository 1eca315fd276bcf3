// Package qemu boots a gometal image in QEMU and reports what the guest did.
//
// [Run] starts qemu-system-x86_64 with the image as a PVH kernel (-kernel),
// the serial console (COM1) on QEMU's stdout and the isa-debug-exit device on
// port 0xf4, waits for QEMU to exit or for the timeout, and turns QEMU's exit
// status into the guest program's exit code as docs/protocols.md describes:
//
//	QEMU status 2n+1 -> the program exited with status n
//	QEMU status 255  -> kernel panic (ErrKernelPanic)
//	QEMU status 0    -> the console's status record, else reset or
//	                    power-off without a status (ErrNoStatus)
//	no exit in time  -> QEMU is killed (ErrTimeout)
//
// The firmware of an Image boot on q35 and pc is QEMU's qboot (qboot.rom
// beside the QEMU binary, in its data directory) when QEMU has it: about
// 40 ms sooner to main than SeaBIOS, QEMU's default; it assigns no PCI
// BARs, the kernel does (docs/architecture.md, "PCI: firmware and BARs").
// Options.BIOS = SeaBIOS asks for SeaBIOS, which is also what a display
// device or a PCI bridge in Options.Extra gets (qboot runs no VGA BIOS,
// and the kernel does not program bridges' windows), and what a QEMU
// without qboot.rom gets (with one note on stderr when its data directory
// lacks the file). See firmware.go.
//
// With Options.ISO, QEMU boots a GRUB ISO (gometal iso) from a CD-ROM
// through SeaBIOS or, with Options.BIOS, OVMF; what the firmware and GRUB
// print before the kernel's first log line is kept apart in Result.Firmware.
//
// The console stream is split into the program's output and the kernel log
// (lines that start with "[gometal] ") by [Splitter].
//
// Without isa-debug-exit (Options.NoDebugExit) QEMU exits with 0 when the
// guest resets or powers off, and the status comes from the kernel's
// status record on the console ([ParseStatusRecord]).
//
// Options.Machine chooses pc or microvm (docs/microvm.md) instead of the
// default machine, q35 (PCIe, so virtio devices get MSI-X; QEMU 7.2 loads
// a PVH ELF with -kernel on q35 and pc alike, and both boot equally fast
// under TCG). The CPU model is Westmere-v1 plus RDRAND (docs/architecture.md,
// "CPU model"): SSE4.2, POPCNT, AES-NI and PCLMULQDQ, which the standard
// library's assembly uses on real hardware (hash/crc32, crypto/aes), and no
// AVX, whose state the kernel's FXSAVE does not keep. QEMU's TCG implements
// RDRAND and the TSC; it does not offer RDSEED, invariant TSC or the
// TSC-deadline timer, so the kernel must not depend on them.
package qemu
