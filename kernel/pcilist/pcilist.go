// Package pcilist enumerates the PCI functions at boot, gives the BARs
// the firmware left unassigned addresses (Setup), and writes the boot
// log's list of them (Log). It is a leaf: package kernel calls it twice in
// the boot order, and nothing calls into it (docs/kernel-layout.md).
// Context: boot; nothing here allocates.
package pcilist

import (
	"github.com/gometal/gometal/boot"
	"github.com/gometal/gometal/drivers/pci"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/kpanic"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/vm"
)

// The boot log's list of PCI functions. The kernel walks bus 0 and the
// buses behind its bridges itself, before the program starts, rather than
// leaving it to a goroutine in the program's init (kernel/ring3/kgo): there
// it cost the runtime's start a /dev/mem mapping per bus, the poller's set-up
// and the first run of fmt, all before main (docs/performance.md, "Boot").
// The drivers (kernel/ring3/knet) still enumerate on their own when they
// start.

// pciList is the scan's result (large: kept out of the boot stack).
var pciList pci.Bus

// pciECAM is segment 0's ECAM window through the direct map; pciPorts
// the I/O ports (a variable: a pointer to it goes into the interface
// without an allocation).
var (
	pciECAM  pci.ECAM
	pciPorts pci.PortIO
)

// What Setup found, for Log: how configuration space was reached, and
// what the BAR assignment did (assigner: large, kept out of the stack).
var (
	viaECAM          bool
	rootBus          uint8
	ecamBase         uint64
	ecamStart        uint8
	ecamEnd          uint8
	assigner         pci.Assigner
	placed, unplaced int
)

// Setup enumerates the PCI functions, through the MCFG table's ECAM window
// when it lies in the direct map, or configuration mechanism #1, and gives
// the BARs the firmware left without an address one (in the windows of
// assign.go). It logs nothing: Log does, after the virtio console (which
// needs its BARs placed) is up.
// Context: boot, after the firmware's tables are read (firmware.Read),
// the virtio-mmio transports collected and vm.Setup; does not allocate.
func Setup(info *boot.Info) {
	root := uint8(0)
	var cs pci.ConfigSpace = &pciPorts
	if base, start, end, ok := pciECAMWindow(); ok {
		pciECAM = pci.ECAM{Base: vm.PhysToVirt(base + uint64(start)<<20), StartBus: start, EndBus: end}
		viaECAM, ecamBase, ecamStart, ecamEnd = true, base, start, end
		cs, root = &pciECAM, start
	}
	rootBus = root
	pci.EnumerateTree(cs, root, &pciList)
	// Then it places the BARs the firmware left unassigned on the root
	// bus (pci.Assigner.Assign), after reserving everything in the
	// windows that is not PCI's: the memory map's regions of every type,
	// the ECAM windows, the local APIC, the I/O APICs, the HPET, the
	// virtio-mmio transports, the boot loader's framebuffer, the FADT's
	// I/O blocks. When the scan overflowed its list it assigns nothing:
	// the functions past the list could hold assigned BARs it cannot see.
	if pciList.Overflow {
		return
	}
	// Each Space is zeroed, then given its window, field by field: a
	// composite literal with non-zero fields would keep a full copy of the
	// Space (13 KiB, mostly zeros) in the image's read-only data.
	as := &assigner
	as.Mem = pci.Space{}
	as.Mem.Window = pci.Range{Base: vm.MMIOHoleLow, End: memWindowEnd}
	as.Mem.MinAlign = pageSize
	as.IO = pci.Space{}
	as.IO.Window = pci.Range{Base: ioWindowStart, End: ioWindowEnd}
	for _, r := range info.Mem[:info.NMem] {
		as.Mem.Reserve(r.Base, r.Size)
	}
	if fb := &info.FB; fb.Addr != 0 {
		as.Mem.Reserve(fb.Addr, uint64(fb.Pitch)*uint64(fb.Height))
	}
	// What the ACPI tables and the virtio-mmio list place in the windows.
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
	placed, unplaced = as.Assign(cs, &pciList, root)
}

// Log logs how configuration space is reached, one line for each function
// ("pci BB:DD.F VVVV:DDDD KIND BARS [msi-x]", with Info: quiet turns them
// off), and what the BAR assignment did: a summary, and a line (always)
// for each BAR left without an address. One function: each costs the
// image its own line tables (issue 16's budget).
// Context: boot, after Setup; does not allocate.
func Log() {
	var l klog.Line
	l.S("pci: configuration space through ")
	if viaECAM {
		l.S("ECAM at ").S(hexMin(ecamBase + uint64(ecamStart)<<20)).S(", buses ").U(uint64(ecamStart)).S("-").U(uint64(ecamEnd))
	} else if firmware.Tables().HaveMCFG {
		l.S("port 0xCF8 (the ECAM window is outside the direct map)")
	} else {
		l.S("port 0xCF8 (no MCFG table)")
	}
	l.Info()
	for i := 0; i < pciList.N; i++ {
		d := &pciList.Devices[i]
		l.Reset()
		devLine(&l, d).S(" ")
		l.HB(byte(d.Vendor >> 8)).HB(byte(d.Vendor)).S(":").HB(byte(d.DeviceID >> 8)).HB(byte(d.DeviceID)).S(" ")
		if name := pci.Describe(d); name != "" {
			l.S(name)
		} else {
			l.S("class ").S(hexMin(uint64(d.Class)))
		}
		for j, bar := range d.BARs[:] { // [:]: a range over the array copies it
			if bar.Size == 0 {
				continue
			}
			kind := "mem"
			if bar.IO {
				kind = "io"
			}
			l.S(" bar").U(uint64(j)).S("=").S(kind).S(":")
			l.S(hexMin(bar.Addr))
			l.S("+")
			l.S(hexMin(bar.Size))
		}
		if d.Cap(pci.CapMSIX) != 0 {
			l.S(" msi-x")
		}
		l.Info()
	}
	// Then what the BAR assignment did: nothing when the firmware had
	// assigned every BAR; else a summary (Info) and, always, a line for
	// each BAR still without an address, and why.
	if pciList.Overflow {
		l.Reset()
		l.S("pci: more than ").U(pci.MaxDevices).S(" functions; the rest are ignored").Info()
		klog.Print("pci: too many functions to see every assigned BAR: the kernel assigns none")
		return
	}
	if placed+unplaced == 0 {
		return
	}
	l.Reset()
	l.S("pci: the firmware left ").U(uint64(placed + unplaced)).S(" BARs unassigned; the kernel assigned ").U(uint64(placed))
	l.S(" in memory [").S(hexMin(assigner.Mem.Window.Base)).S(", ").S(hexMin(assigner.Mem.Window.End))
	l.S(") and I/O [").S(hexMin(assigner.IO.Window.Base)).S(", ").S(hexMin(assigner.IO.Window.End)).S(")").Info()
	for i := 0; i < pciList.N; i++ {
		d := &pciList.Devices[i]
		for j := range d.BARs {
			if d.Unassigned&(1<<j) == 0 {
				continue
			}
			// BAR j, which has no address, and why.
			bar := &d.BARs[j]
			l.Reset()
			devLine(&l, d).S(": bar").U(uint64(j)).S(" (")
			if bar.IO {
				l.S("io")
			} else {
				l.S("mem")
			}
			l.S(", ").S(hexMin(bar.Size)).S(" bytes) left unassigned: ")
			if d.Addr.Bus != rootBus {
				l.S("behind a bridge, whose windows the kernel does not program (function not touched)").Print()
			} else {
				l.S("no room left in the window, or the register did not keep its address; that kind of decoding stays off").Print()
			}
		}
	}
}

// pciECAMWindow returns segment 0's ECAM allocation (base: bus 0's
// address) if the MCFG table has one inside the direct map, after
// remapping the 2 MiB pages of the direct map that cover the window
// uncached (device memory; above vm.MMIOHoleLow they already are).
// Context: boot, before the program starts; does not allocate.
func pciECAMWindow() (base uint64, start, end uint8, ok bool) {
	if !firmware.Tables().HaveMCFG {
		return 0, 0, 0, false
	}
	m := &firmware.Tables().MCFG
	for _, a := range m.Allocations[:m.NAllocations] {
		if a.Segment != 0 || a.StartBus > a.EndBus {
			continue
		}
		lo, hi := a.Base+uint64(a.StartBus)<<20, a.Base+(uint64(a.EndBus)+1)<<20
		if hi > max(mm.PageRoundUp(vm.RAMTop), 4<<30) {
			return 0, 0, 0, false
		}
		for pa := lo &^ (1<<21 - 1); pa < hi && pa < vm.MMIOHoleLow; pa += 1 << 21 {
			va := vm.DirectBase + uintptr(pa)
			if !mm.KPT.Map2M(&vm.Frames, va, pa, mm.PTEWrite|mm.PTENoExec|mm.PTENoCache|mm.PTEWriteThr) {
				kpanic.Panic("cannot map the PCI configuration space", nil)
			}
			cpu.Invlpg(va)
		}
		return a.Base, a.StartBus, a.EndBus, true
	}
	return 0, 0, 0, false
}

// devLine appends the device's address to l ("pci 00:1f.2"): a line
// about a device starts with it. Context: boot; does not allocate. Not
// inlined: one copy is smaller than its callers' (issue 16's budget).
//
//go:noinline
func devLine(l *klog.Line, d *pci.Device) *klog.Line {
	return l.S("pci ").HB(d.Addr.Bus).S(":").HB(d.Addr.Dev).S(".").U(uint64(d.Addr.Fn))
}

// hexBuf holds hexMin's result until the next call.
var hexBuf [18]byte

// hexMin formats v as 0x and its hex digits without leading zeros. The
// result lives until the next call. Context: boot; does not allocate.
// Not inlined (image size).
//
//go:noinline
func hexMin(v uint64) string {
	const digits = "0123456789abcdef"
	i := len(hexBuf)
	for {
		i--
		hexBuf[i] = digits[v&15]
		v >>= 4
		if v == 0 {
			break
		}
	}
	i--
	hexBuf[i] = 'x'
	i--
	hexBuf[i] = '0'
	return stringOf(hexBuf[i:])
}
