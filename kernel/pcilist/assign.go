package pcilist

import (
	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/drivers/pci"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/vm"
)

// The windows the kernel places unassigned BARs in (drivers/pci's
// Assigner). Memory: the part of the 32-bit hole below the I/O APIC that
// the kernel's direct map already maps uncached (vm.MMIOHoleLow, 3 GiB).
// QEMU 7.2's DSDT (PCI0's _CRS, with 256 MiB of RAM) gives PCI, on q35,
// 0x10000000-0xafffffff and 0xc0000000-0xfebfffff (around its 256 MiB
// ECAM window at 0xb0000000), on pc (i440fx) 0x10000000-0xfebfffff:
// everything from the top of low RAM up to the I/O APIC, of which this is
// the upper part on both; SeaBIOS places its BARs there too. 64-bit BARs go
// there as well (simple, and the virtio console and the direct map need
// them below 4 GiB). I/O ports: from 0xc000 up, as SeaBIOS does, clear of
// the legacy ports and the chipsets' ACPI blocks (0x600, 0xb000).
const (
	memWindowEnd  = 0xfec00000
	ioWindowStart = 0xc000
	ioWindowEnd   = 0x10000
	pageSize      = 4096
)

// assignBARs places the BARs the firmware left unassigned on the root bus
// (pci.Assigner.Assign), after reserving everything in the windows that is
// not PCI's: the memory map's regions of every type, the ECAM windows,
// the local APIC, the I/O APICs, the HPET, the virtio-mmio transports, the
// boot loader's framebuffer, the FADT's I/O blocks.
// When the scan overflowed its list it assigns nothing: the functions
// past the list could hold assigned BARs it cannot see.
// Context: boot; does not allocate.
func assignBARs(cs pci.ConfigSpace, root uint8, info *boot.Info) {
	if pciList.Overflow {
		return
	}
	as := &assigner
	as.Mem = pci.Space{Window: pci.Range{Base: vm.MMIOHoleLow, End: memWindowEnd}, MinAlign: pageSize}
	as.IO = pci.Space{Window: pci.Range{Base: ioWindowStart, End: ioWindowEnd}}
	for _, r := range info.Mem[:info.NMem] {
		as.Mem.Reserve(r.Base, r.Size)
	}
	if fb := &info.FB; fb.Addr != 0 {
		as.Mem.Reserve(fb.Addr, uint64(fb.Pitch)*uint64(fb.Height))
	}
	reserveFirmware(as)
	placed, unplaced = as.Assign(cs, &pciList, root)
}

// reserveFirmware reserves what the ACPI tables and the virtio-mmio list
// place in the windows. Context: boot; does not allocate.
func reserveFirmware(as *pci.Assigner) {
	t := firmware.Tables()
	if t.HaveMCFG {
		for _, a := range t.MCFG.Allocations[:t.MCFG.NAllocations] {
			if a.StartBus <= a.EndBus {
				as.Mem.Reserve(a.Base+uint64(a.StartBus)<<20, (uint64(a.EndBus)-uint64(a.StartBus)+1)<<20)
			}
		}
	}
	if t.HaveMADT {
		as.Mem.Reserve(t.MADT.LocalAPICAddr, pageSize)
		for _, io := range t.MADT.IOAPICs[:t.MADT.NIOAPICs] {
			as.Mem.Reserve(uint64(io.Addr), pageSize)
		}
	}
	if t.HaveHPET {
		as.Mem.Reserve(t.HPET.BaseAddress.Address, pageSize)
	}
	for _, m := range firmware.MMIODevices() {
		as.Mem.Reserve(m.Base, max(m.Size, pageSize))
	}
	if t.HaveFADT {
		f := &t.FADT
		as.IO.Reserve(uint64(f.PM1aEvtBlk), uint64(f.PM1EvtLen))
		as.IO.Reserve(uint64(f.PM1bEvtBlk), uint64(f.PM1EvtLen))
		as.IO.Reserve(uint64(f.PM1aCntBlk), uint64(f.PM1CntLen))
		as.IO.Reserve(uint64(f.PM1bCntBlk), uint64(f.PM1CntLen))
		as.IO.Reserve(uint64(f.PMTmrBlk), uint64(f.PMTmrLen))
	}
}

// logAssignment logs what assignBARs did: nothing when the firmware had
// assigned every BAR; else a summary (Info) and, always, a line for each
// BAR still without an address. Context: boot; does not allocate.
func logAssignment() {
	if pciList.Overflow {
		klog.Print("pci: too many functions to see every assigned BAR: the kernel assigns none")
		return
	}
	if placed+unplaced == 0 {
		return
	}
	var l klog.Line
	l.S("pci: the firmware left ").U(uint64(placed + unplaced)).S(" BARs unassigned; the kernel assigned ").U(uint64(placed))
	l.S(" in memory [").S(hexMin(assigner.Mem.Window.Base)).S(", ").S(hexMin(assigner.Mem.Window.End))
	l.S(") and I/O [").S(hexMin(assigner.IO.Window.Base)).S(", ").S(hexMin(assigner.IO.Window.End)).S(")").Info()
	for i := 0; i < pciList.N; i++ {
		d := &pciList.Devices[i]
		for j := range d.BARs {
			if d.Unassigned&(1<<j) != 0 {
				unassignedLine(d, j)
			}
		}
	}
}

// unassignedLine logs BAR j of d, which has no address, and why.
// Context: boot; does not allocate.
func unassignedLine(d *pci.Device, j int) {
	bar := &d.BARs[j]
	var l klog.Line
	l.S("pci ").HB(d.Addr.Bus).S(":").HB(d.Addr.Dev).S(".").U(uint64(d.Addr.Fn)).S(": bar").U(uint64(j)).S(" (")
	if bar.IO {
		l.S("io")
	} else {
		l.S("mem")
	}
	l.S(", ").S(hexMin(bar.Size)).S(" bytes) left unassigned: ")
	if d.Addr.Bus != rootBus {
		l.S("behind a bridge, whose windows the kernel does not program (function not touched)").Print()
		return
	}
	l.S("no room left in the window, or the register did not keep its address; that kind of decoding stays off").Print()
}
