//go:build acpicapture

package acpi

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// qemuCaptures are the machines TestCaptureQEMU captures. Each boots its
// firmware with no disk; the firmware installs QEMU's ACPI tables during
// start-up, and the monitor's pmemsave copies guest RAM out.
var qemuCaptures = []struct {
	file string
	args []string
	wait time.Duration // firmware start-up
}{
	{"qemu-q35.acpidump", []string{"-machine", "q35", "-smp", "4,maxcpus=8"}, 4 * time.Second},
	{"qemu-pc.acpidump", []string{"-machine", "pc", "-smp", "2"}, 4 * time.Second},
	{"qemu-microvm.acpidump", []string{"-machine", "microvm,acpi=on", "-smp", "2"}, 4 * time.Second},
	{"qemu-q35-ovmf.acpidump", []string{"-machine", "q35", "-smp", "2", "-bios", "/usr/share/qemu/OVMF.fd"}, 25 * time.Second},
}

const captureRAM = 128 << 20

// TestCaptureQEMU regenerates testdata/qemu-*.acpidump with the local
// QEMU. It is a generator, built only when asked:
//
//	go test -tags acpicapture ./drivers/acpi -run TestCaptureQEMU -v
func TestCaptureQEMU(t *testing.T) {
	qemu, err := exec.LookPath("qemu-system-x86_64")
	require.NoError(t, err)
	for _, c := range qemuCaptures {
		t.Run(strings.TrimSuffix(c.file, ".acpidump"), func(t *testing.T) {
			if i := indexOf(c.args, "-bios"); i >= 0 {
				_, err := os.Stat(c.args[i+1])
				require.NoError(t, err, "firmware for %s", c.file)
			}
			ram := filepath.Join(t.TempDir(), "ram.bin")
			args := append([]string{"-m", "128", "-display", "none", "-nodefaults", "-no-reboot",
				"-serial", "none", "-monitor", "stdio"}, c.args...)
			cmd := exec.Command(qemu, args...)
			stdin, err := cmd.StdinPipe()
			require.NoError(t, err)
			var log bytes.Buffer
			cmd.Stdout, cmd.Stderr = &log, &log
			require.NoError(t, cmd.Start())
			time.Sleep(c.wait)
			fmt.Fprintf(stdin, "pmemsave 0 %#x \"%s\"\nquit\n", captureRAM, ram)
			require.NoError(t, cmd.Wait(), "%s", log.Bytes())
			mem, err := os.ReadFile(ram)
			require.NoError(t, err, "%s", log.Bytes())

			tables, err := collectTables(mem)
			require.NoError(t, err)
			var text bytes.Buffer
			writeAcpidump(&text, tables)
			require.NoError(t, os.WriteFile(filepath.Join("testdata", c.file), text.Bytes(), 0o644))
			for _, d := range tables {
				t.Logf("%s @ %#x, %d bytes", d.Sig, d.Addr, len(d.Data))
			}
		})
	}
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

// collectTables walks a RAM image the way acpidump would, independently of
// Parse: the RSDP (BIOS area first, else anywhere on a 16-byte boundary),
// the RSDT and the XSDT, every table either lists, and the FADT's DSDT and
// FACS. Checksums are not checked: the capture keeps what is there.
func collectTables(mem []byte) ([]dumpedTable, error) {
	le := binary.LittleEndian
	valid := func(a int) bool {
		return a+20 <= len(mem) && string(mem[a:a+8]) == "RSD PTR " && checksum(mem[a:a+20]) == 0
	}
	rsdp := -1
	for a := 0xe0000; a < 0x100000 && rsdp < 0; a += 16 {
		if valid(a) {
			rsdp = a
		}
	}
	for a := 0; a < len(mem) && rsdp < 0; a += 16 {
		if valid(a) {
			rsdp = a
		}
	}
	if rsdp < 0 {
		return nil, fmt.Errorf("no RSDP in the RAM image")
	}
	n := 20
	if mem[rsdp+15] >= 2 {
		n = int(le.Uint32(mem[rsdp+20:]))
	}
	out := []dumpedTable{{"RSDP", uint64(rsdp), mem[rsdp : rsdp+n]}}
	seen := map[uint64]bool{}
	var add func(addr uint64) []byte
	add = func(addr uint64) []byte {
		if addr == 0 || seen[addr] || addr+8 > uint64(len(mem)) {
			return nil
		}
		seen[addr] = true
		length := uint64(le.Uint32(mem[addr+4:]))
		if length < 8 || addr+length > uint64(len(mem)) {
			return nil
		}
		t := mem[addr : addr+length]
		out = append(out, dumpedTable{string(t[:4]), addr, t})
		return t
	}
	var entries []uint64
	if r := add(uint64(le.Uint32(mem[rsdp+16:]))); len(r) >= 36 {
		for off := 36; off+4 <= len(r); off += 4 {
			entries = append(entries, uint64(le.Uint32(r[off:])))
		}
	}
	if mem[rsdp+15] >= 2 {
		if x := add(le.Uint64(mem[rsdp+24:])); len(x) >= 36 {
			for off := 36; off+8 <= len(x); off += 8 {
				entries = append(entries, le.Uint64(x[off:]))
			}
		}
	}
	for _, a := range entries {
		t := add(a)
		if len(t) >= 44 && string(t[:4]) == "FACP" {
			add(uint64(le.Uint32(t[36:]))) // FIRMWARE_CTRL
			add(uint64(le.Uint32(t[40:]))) // DSDT
			if len(t) >= 148 {
				add(le.Uint64(t[132:])) // X_FIRMWARE_CTRL
				add(le.Uint64(t[140:])) // X_DSDT
			}
		}
	}
	return out, nil
}
