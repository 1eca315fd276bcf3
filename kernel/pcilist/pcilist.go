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
// the BARs the firmware left without an address one (assignBARs). It logs
// nothing: Log does, after the virtio console (which needs its BARs
// placed) is up.
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
	assignBARs(cs, root, info)
}

// Log logs how configuration space is reached, one line for each function
// (with Info: quiet turns them off), and what the BAR assignment did: a
// summary, and a line (always) for each BAR left without an address.
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
		pciLine(&pciList.Devices[i])
	}
	if pciList.Overflow {
		l.Reset()
		l.S("pci: more than ").U(pci.MaxDevices).S(" functions; the rest are ignored").Info()
	}
	logAssignment()
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

// pciLine logs one function: "pci BB:DD.F VVVV:DDDD KIND BARS [msi-x]".
// Context: boot; does not allocate.
func pciLine(d *pci.Device) {
	var l klog.Line
	l.S("pci ").HB(d.Addr.Bus).S(":").HB(d.Addr.Dev).S(".").U(uint64(d.Addr.Fn)).S(" ")
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
