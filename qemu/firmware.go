package qemu

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Firmware. A -kernel boot on q35 or pc needs the firmware only to load
// the image, hand over the ACPI tables and start it: QEMU's qboot
// (qboot.rom in QEMU's data directory) does that about 40 ms sooner than
// SeaBIOS, QEMU's default (docs/performance.md, "qboot instead of SeaBIOS"). qboot
// assigns no PCI BARs; the kernel does (docs/architecture.md, "PCI: firmware and BARs"). It
// runs no option ROMs either: no VGA BIOS sets up the text mode the
// kernel's VGA mirror writes to. So a boot that adds a display device or
// a PCI bridge (the kernel leaves bridges' windows alone) keeps SeaBIOS,
// as do ISO boots (SeaBIOS boots the CD) and microvm (its own qboot
// build).

// SeaBIOS as [Options.BIOS] asks for QEMU's default firmware, SeaBIOS,
// where "" would choose qboot: no -bios argument.
const SeaBIOS = "seabios"

// qbootROM is qboot's file name in QEMU's data directory.
const qbootROM = "qboot.rom"

// firmwareArgs returns the -bios argument for o (with its defaults), if
// any: o.BIOS, or qboot for a -kernel boot on q35 or pc without a display
// device or a PCI bridge when QEMU has it.
func (o Options) firmwareArgs() []string {
	switch {
	case o.BIOS == SeaBIOS:
		return nil
	case o.BIOS != "":
		return []string{"-bios", o.BIOS}
	case o.ISO != "", seabiosNeeded(o.Extra):
		return nil
	}
	if mt := o.MachineType(); mt != MachineQ35 && mt != MachinePC {
		return nil
	}
	if rom := qbootFor(o.QEMU); rom != "" {
		return []string{"-bios", rom}
	}
	return nil
}

// Firmware names the firmware a boot with o runs: the -bios file, or
// "SeaBIOS" (QEMU's default) when Args passes none; on microvm QEMU's own
// microvm build of qboot. For logs and the benchmark's table.
func (o Options) Firmware() string {
	o = o.withDefaults()
	if args := o.firmwareArgs(); len(args) == 2 {
		return args[1]
	}
	if o.MachineType() == MachineMicrovm {
		return "qboot (microvm's bios-microvm.bin)"
	}
	return "SeaBIOS"
}

// seabiosNeeded reports whether extra (Options.Extra) adds what qboot
// cannot serve: a display (-vga other than none, or a -device whose driver
// is a VGA card or a display: "VGA", "cirrus-vga", "bochs-display",
// "ramfb", ...), which needs a VGA BIOS, or a PCI bridge ("pcie-root-port",
// "pci-bridge", "ioh3420", "x3130-upstream", "pxb-pcie", ...), whose
// windows the kernel does not program: devices behind it would keep
// unassigned BARs.
func seabiosNeeded(extra []string) bool {
	for i := 0; i+1 < len(extra); i++ {
		arg, val := extra[i], extra[i+1]
		if arg == "-vga" && val != "none" {
			return true
		}
		if arg != "-device" {
			continue
		}
		driver, _, _ := strings.Cut(val, ",")
		driver = strings.ToLower(driver)
		for _, kind := range []string{"vga", "display", "ramfb", "root-port", "bridge", "ioh3420", "x3130", "xio3130", "pxb"} {
			if strings.Contains(driver, kind) {
				return true
			}
		}
	}
	return false
}

// qbootFor returns the absolute path of qboot.rom for the QEMU binary bin
// (looked up in $PATH), or "" when it has none; the answer is found once
// per binary. A variable: the package's tests replace it.
var qbootFor = func(bin string) string {
	v, _ := qbootFound.LoadOrStore(bin, &qbootLookup{})
	l := v.(*qbootLookup)
	l.once.Do(func() { l.path = findQboot(bin, os.Stderr) })
	return l.path
}

// qbootFound maps a QEMU binary's name to its qbootLookup.
var qbootFound sync.Map

// qbootLookup is one binary's answer, found once.
type qbootLookup struct {
	once sync.Once
	path string
}

// findQboot looks for qboot.rom in QEMU's data directory, which QEMU
// places beside its binary (BINDIR/../share/qemu, whatever the prefix:
// /usr, /usr/local, a Nix store path), the binary's symbolic links
// resolved. When that directory exists without qboot.rom, it writes one
// note to w: the boots fall back to SeaBIOS, which is slower. A binary
// without a data directory (a test's fake) gets SeaBIOS without a note.
func findQboot(bin string, w io.Writer) string {
	path, err := exec.LookPath(bin)
	if err != nil {
		return ""
	}
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return ""
	}
	dataDir := filepath.Join(filepath.Dir(abs), "..", "share", "qemu")
	rom := filepath.Join(dataDir, qbootROM)
	if st, err := os.Stat(rom); err == nil && st.Mode().IsRegular() {
		return filepath.Clean(rom)
	}
	if st, err := os.Stat(dataDir); err == nil && st.IsDir() && w != nil {
		fmt.Fprintf(w, "gometal: %s has no %s: booting with SeaBIOS, about 40 ms slower\n", filepath.Clean(dataDir), qbootROM)
	}
	return ""
}
