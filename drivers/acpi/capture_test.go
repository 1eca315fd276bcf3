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
		require.NotZero(t, d.Addr, "%s: %s @ 0: the capture lacks physical addresses (see testdata/README)", path, d.Sig)
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
				case "FACS", "RSDT", "XSDT", "SSDT": // not followed (FACS), the root not used, SSDTs loaded at run time
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
// TestCaptureQEMU makes (QEMU 7.2's table builders, with SeaBIOS, OVMF or
// qboot placing them); captures added by hand get only the generic checks.
var captureExpectations = map[string]func(t *testing.T, out *Tables){
	"qemu-q35.acpidump": func(t *testing.T, out *Tables) {
		assert.Equal(t, []string{"RSDP", "RSDT", "FACP", "APIC", "HPET", "MCFG", "WAET", "DSDT"}, sigs(out))
		assert.Equal(t, uint8(0), out.RSDP.Revision, "SeaBIOS gives an ACPI 1.0 RSDP")
		assert.Equal(t, "BOCHS ", string(out.RSDP.OEMID[:]))
		m := &out.MADT
		var cpus []CPU
		for i := uint32(0); i < 8; i++ {
			cpus = append(cpus, CPU{UID: i, APICID: i, Flags: map[bool]uint32{true: CPUEnabled}[i < 4]})
		}
		assert.Equal(t, cpus, m.CPUs[:m.NCPUs], "-smp 4,maxcpus=8: the hot-pluggable four are disabled")
		assert.Equal(t, 4, m.EnabledCPUs())
		qemuISA(t, m)
		qemuICH9FADT(t, &out.FADT)
		assert.Equal(t, []ECAM{{Base: 0xb0000000, Segment: 0, StartBus: 0, EndBus: 0xff}}, out.MCFG.Allocations[:out.MCFG.NAllocations])
		assert.Equal(t, uint64(0xfed00000), out.HPET.BaseAddress.Address)
		assert.True(t, out.HaveS5)
		assert.Equal(t, uint16(0x2000), out.S5.PM1aValue(), "what kernel.stop writes to QEMU's PM1a_CNT")
	},
	"gometal-q35-smp4.acpidump": func(t *testing.T, out *Tables) {
		assert.Equal(t, []string{"RSDP", "RSDT", "FACP", "APIC", "HPET", "MCFG", "WAET", "DSDT"}, sigs(out))
		assert.Equal(t, 4, out.MADT.NCPUs)
		assert.Equal(t, 4, out.MADT.EnabledCPUs())
		qemuISA(t, &out.MADT)
		qemuICH9FADT(t, &out.FADT)
		assert.True(t, out.HaveS5)
		assert.Equal(t, S5{}, out.S5)
	},
	"qemu-q35-ovmf.acpidump": func(t *testing.T, out *Tables) {
		assert.Equal(t, []string{"RSDP", "RSDT", "FACP", "APIC", "HPET", "MCFG", "WAET", "DSDT"}, sigs(out))
		assert.Equal(t, uint64(0x777e000), out.RSDP.Addr, "UEFI: outside the BIOS area, found through the hint")
		assert.Equal(t, 2, out.MADT.NCPUs)
		assert.Equal(t, 2, out.MADT.EnabledCPUs())
		qemuISA(t, &out.MADT)
		qemuICH9FADT(t, &out.FADT)
		assert.Equal(t, 1, out.MCFG.NAllocations)
		assert.True(t, out.HaveS5)
		assert.Equal(t, S5{}, out.S5)
	},
	"qemu-pc.acpidump": func(t *testing.T, out *Tables) {
		assert.Equal(t, []string{"RSDP", "RSDT", "FACP", "APIC", "HPET", "WAET", "DSDT"}, sigs(out))
		assert.Equal(t, 2, out.MADT.EnabledCPUs())
		qemuISA(t, &out.MADT)
		f := &out.FADT
		assert.Equal(t, uint8(1), f.Revision, "PIIX4: a 116-byte ACPI 1.0 FADT")
		assert.Equal(t, uint16(9), f.SCIInt)
		assert.Equal(t, uint32(0xb2), f.SMICmd)
		assert.Equal(t, uint8(0xf1), f.ACPIEnable)
		assert.Equal(t, GenericAddress{AddressSpaceID: SpaceSystemIO, RegisterBitWidth: 16, Address: 0x604}, f.PM1aControl())
		assert.Equal(t, GenericAddress{AddressSpaceID: SpaceSystemIO, RegisterBitWidth: 32, Address: 0x608}, f.PMTimer())
		assert.False(t, f.ResetSupported())
		assert.False(t, out.HaveMCFG)
		assert.True(t, out.HaveS5)
		assert.Equal(t, S5{}, out.S5)
	},
	"qemu-microvm.acpidump": func(t *testing.T, out *Tables) {
		assert.Equal(t, []string{"RSDP", "XSDT", "FACP", "APIC", "DSDT"}, sigs(out))
		assert.True(t, out.XSDT)
		m := &out.MADT
		assert.Equal(t, 2, m.EnabledCPUs())
		assert.Equal(t, []IOAPIC{{0, 0xfec00000, 0}, {1, 0xfec10000, 24}}, m.IOAPICs[:m.NIOAPICs])
		assert.Zero(t, m.NOverrides)
		f := &out.FADT
		assert.Equal(t, uint8(5), f.Revision)
		assert.True(t, f.HardwareReduced())
		assert.Equal(t, GenericAddress{}, f.PM1aControl())
		assert.Equal(t, GenericAddress{AddressSpaceID: SpaceSystemMemory, RegisterBitWidth: 8, Address: 0xfea00200}, f.SleepControlReg)
		assert.Equal(t, GenericAddress{AddressSpaceID: SpaceSystemMemory, RegisterBitWidth: 8, Address: 0xfea00201}, f.SleepStatusReg)
		assert.True(t, f.ResetSupported())
		assert.Equal(t, GenericAddress{AddressSpaceID: SpaceSystemMemory, RegisterBitWidth: 8, Address: 0xfea00202}, f.ResetReg)
		assert.Equal(t, uint8(0x42), f.ResetValue)
		assert.False(t, out.HaveHPET)
		assert.False(t, out.HaveMCFG)
		assert.True(t, out.HaveS5)
		assert.Equal(t, S5{SLPTypA: 5}, out.S5)
		assert.Equal(t, uint8(0x34), out.S5.SleepControlValue())
		assert.Zero(t, out.NMMIO, "no virtio device attached: no transport declared")
	},
	// microvm with two virtio-net-device NICs (and -smp 2): the DSDT
	// declares the two virtio-mmio transports they sit on, the last two,
	// level-triggered on the second I/O APIC.
	"gometal-microvm-virtio-net.acpidump": func(t *testing.T, out *Tables) {
		assert.Equal(t, []string{"RSDP", "XSDT", "FACP", "APIC", "DSDT"}, sigs(out))
		assert.Equal(t, []MMIODevice{
			{Base: 0xfeb02e00, Size: 0x200, GSI: 47, Level: true},
			{Base: 0xfeb02c00, Size: 0x200, GSI: 46, Level: true},
		}, out.MMIO[:out.NMMIO])
	},
}

// qemuISA checks QEMU's PC interrupt wiring: one I/O APIC, IRQ 0 on GSI 2,
// the PCI link IRQs 5, 9, 10, 11 level-triggered active-high.
func qemuISA(t *testing.T, m *MADT) {
	assert.Equal(t, uint64(0xfee00000), m.LocalAPICAddr)
	assert.True(t, m.PCATCompat)
	assert.False(t, m.X2APIC)
	assert.False(t, m.Overflow)
	assert.Equal(t, []IOAPIC{{0, 0xfec00000, 0}}, m.IOAPICs[:m.NIOAPICs])
	assert.Equal(t, []Override{{0, 0, 2, 0}, {0, 5, 5, 0xd}, {0, 9, 9, 0xd}, {0, 10, 10, 0xd}, {0, 11, 11, 0xd}}, m.Overrides[:m.NOverrides])
	assert.Equal(t, []LocalNMI{{UID: AllProcessors, LINT: 1}}, m.NMIs[:m.NNMIs])
	gsi, flags := m.IRQToGSI(0)
	assert.Equal(t, uint32(2), gsi)
	assert.Equal(t, uint16(0), flags)
}

// qemuICH9FADT checks QEMU q35's revision-3 FADT.
func qemuICH9FADT(t *testing.T, f *FADT) {
	assert.Equal(t, uint8(3), f.Revision)
	assert.Equal(t, uint16(9), f.SCIInt)
	assert.Equal(t, uint32(0xb2), f.SMICmd)
	assert.Equal(t, uint8(2), f.ACPIEnable)
	assert.Equal(t, uint8(3), f.ACPIDisable)
	assert.Equal(t, uint32(0x604), f.PM1aCntBlk)
	assert.Equal(t, GenericAddress{AddressSpaceID: SpaceSystemIO, RegisterBitWidth: 16, Address: 0x604}, f.PM1aControl())
	assert.Equal(t, GenericAddress{AddressSpaceID: SpaceSystemIO, RegisterBitWidth: 32, Address: 0x600}, f.PM1aEvent())
	assert.Equal(t, GenericAddress{AddressSpaceID: SpaceSystemIO, RegisterBitWidth: 32, Address: 0x608}, f.PMTimer())
	assert.Zero(t, f.Flags&FlagTmrValExt, "24-bit PM timer")
	assert.Equal(t, GenericAddress{}, f.PM1bControl())
	assert.Equal(t, uint8(0x32), f.Century)
	assert.True(t, f.Has8042())
	assert.False(t, f.HardwareReduced())
	assert.True(t, f.ResetSupported())
	assert.Equal(t, GenericAddress{AddressSpaceID: SpaceSystemIO, RegisterBitWidth: 8, Address: 0xcf9}, f.ResetReg)
	assert.Equal(t, uint8(0x0f), f.ResetValue)
}
