package acpi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// loadCapture reads testdata/name and lays its tables out at their
// physical addresses in a window at 0; it returns the window and the
// RSDP's address.
func loadCapture(t *testing.T, path string) ([]byte, uint64, []dumpedTable) {
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	tables, err := readAcpidump(f)
	require.NoError(t, err)
	var top, rsdp uint64
	nRSDP := 0
	for _, d := range tables {
		top = max(top, d.Addr+uint64(len(d.Data)))
		if d.Sig == "RSDP" {
			rsdp = d.Addr
			nRSDP++
		}
	}
	require.Equal(t, 1, nRSDP, "a capture holds one RSDP")
	mem := sparseWindow(t, top)
	for _, d := range tables {
		copy(mem[d.Addr:], d.Data)
	}
	return mem, rsdp, tables
}

// TestCaptures parses every captured table set in testdata/*.acpidump
// (see testdata/README) and checks what holds on any machine, plus the
// values known for the captures listed in captureExpectations.
func TestCaptures(t *testing.T) {
	files, err := filepath.Glob("testdata/*.acpidump")
	require.NoError(t, err)
	for name := range captureExpectations {
		assert.Contains(t, files, filepath.Join("testdata", name), "expected capture missing")
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".acpidump"), func(t *testing.T) {
			mem, rsdp, tables := loadCapture(t, path)

			a, e := FindRSDP(mem, 0, rsdp)
			require.Equal(t, OK, e)
			assert.Equal(t, rsdp, a)
			if rsdp >= 0xe0000 && rsdp < 0x100000 {
				a, e = FindRSDP(mem, 0, 0)
				require.Equal(t, OK, e)
				assert.Equal(t, rsdp, a, "found by the BIOS-area scan")
			}

			var out Tables
			require.Equal(t, OK, Parse(mem, 0, rsdp, &out))
			assert.Zero(t, out.Skipped)
			listed := map[uint64]bool{}
			for _, r := range out.Seen[:out.NSeen] {
				assert.True(t, r.Valid, "%s @ %#x", r.Signature[:], r.Addr)
				listed[r.Addr] = true
			}
			for _, d := range tables {
				switch d.Sig {
				case "FACS", "RSDT", "XSDT": // not followed (FACS), or the root not used
				default:
					assert.True(t, listed[d.Addr] || out.NSeen == MaxTables, "%s @ %#x not reached", d.Sig, d.Addr)
				}
			}
			require.True(t, out.HaveMADT, "MADT")
			require.True(t, out.HaveFADT, "FADT")
			assert.True(t, out.HaveDSDT, "DSDT")
			assert.GreaterOrEqual(t, out.MADT.EnabledCPUs(), 1)
			assert.NotZero(t, out.MADT.LocalAPICAddr)
			if !out.FADT.HardwareReduced() {
				assert.NotZero(t, out.FADT.PM1aControl().Address, "PM1a control block")
			}
			if check := captureExpectations[name]; check != nil {
				check(t, &out)
			}
			t.Logf("%s: %d tables, %d CPUs (%d enabled), %d I/O APICs, %d overrides, S5 %v %+v",
				name, out.NSeen, out.MADT.NCPUs, out.MADT.EnabledCPUs(), out.MADT.NIOAPICs, out.MADT.NOverrides, out.HaveS5, out.S5)
		})
	}
}

// captureExpectations holds the values known for the captures that
// TestCaptureQEMU makes (QEMU 7.2's table builders); captures added by
// hand get only the generic checks.
var captureExpectations = map[string]func(t *testing.T, out *Tables){}
