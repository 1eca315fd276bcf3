package qemu_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gometal/gometal/qemu"
	"github.com/gometal/gometal/tools/iso"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// OVMF is Debian's UEFI firmware for QEMU (package ovmf), passed to -bios.
const OVMF = "/usr/share/ovmf/OVMF.fd"

// TestBootISO boots examples from GRUB ISOs (gometal iso) the way a real
// machine would: SeaBIOS and OVMF (UEFI) firmware, a CD-ROM, GRUB's
// multiboot loader with the command line from grub.cfg. The output and
// exit status must match the host's, as for -kernel boots. It needs
// grub-mkrescue, GRUB's BIOS and EFI modules, xorriso, mtools and OVMF
// (make deps-iso; CI installs them) and fails, naming the package, when
// one is missing.
func TestBootISO(t *testing.T) {
	missing := iso.Missing()
	require.Empty(t, missing, "%s", iso.MissingMessage(missing))
	_, err := os.Stat(OVMF)
	require.NoError(t, err, "the UEFI firmware is missing: install Debian's ovmf package (make deps-iso)")

	root, err := filepath.Abs("..")
	require.NoError(t, err)
	s := newBootSuite(t, root)
	start := time.Now()
	for tag, tc := range map[string]struct {
		name string
		c    bootCase
	}{
		"bios-hello": {"hello", bootCase{mem: "64M", iso: true, check: func(t *testing.T, res *qemu.Result) {
			assert.Contains(t, string(res.KernelLog), "booting: multiboot2")
		}}},
		"uefi-hello": {"hello", bootCase{iso: true, bios: OVMF}},
		// Under UEFI the ACPI tables are only found through the multiboot2
		// information: with them the kernel brings up every CPU.
		"uefi-smp2": {"demo", bootCase{iso: true, bios: OVMF, smp: 2, fixHost: cpuCount(2), check: func(t *testing.T, res *qemu.Result) {
			assert.Contains(t, string(res.KernelLog), "booting: multiboot2")
			assert.Contains(t, string(res.KernelLog), ": 2 CPUs,")
		}}},
		"bios-args": {"args", bootCase{
			iso:    true,
			append: "FOO=bar GOMAXPROCS=1 -- -flag value",
			args:   []string{"-flag", "value"},
			env:    []string{"FOO=bar", "GOMAXPROCS=1"},
		}},
		// The arguments in a boot module of their own (module2), exact.
		"bios-args-module": {"args", bootCase{
			iso:      true,
			append:   "GOMAXPROCS=1",
			env:      []string{"GOMAXPROCS=1"},
			progArgs: exactArgs,
			progEnv:  []string{`FOO=a "b" c`},
		}},
	} {
		t.Run(tag, func(t *testing.T) {
			t.Parallel()
			tc.c.tag = tag
			s.boot(t, tc.name, tc.c)
		})
	}
	t.Cleanup(func() { t.Logf("ISO boots took %v", time.Since(start).Round(time.Millisecond)) })
}
