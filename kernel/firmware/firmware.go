// Package firmware reads what the firmware tells the kernel about the
// machine: the ACPI tables (or, without ACPI, the MP table), and from them
// the CPUs, the I/O APICs and the ISA interrupt routes, and how to power
// off and reset the machine. Context: boot, and power-off at shutdown;
// nothing here allocates.
package firmware

import (
	"unsafe"

	"github.com/gometal/gometal/drivers/acpi"
	"github.com/gometal/gometal/drivers/ioapic"
	"github.com/gometal/gometal/drivers/lapic"
	"github.com/gometal/gometal/drivers/mptable"
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/klog"
)

// The firmware's ACPI tables: the CPUs and I/O APICs (MADT), ISA interrupt
// overrides, and how to power off (FADT and the DSDT's \_S5). Without
// ACPI, the MP table stands in for the MADT.
var (
	acpiTables acpi.Tables
	haveACPI   bool
	// haveMADT: acpiTables.MADT lists the CPUs and I/O APICs, from the
	// ACPI MADT or, on a machine without ACPI, from the MP table.
	haveMADT bool
	cpuIDs   [abi.MaxCPUs]uint32
)

// acpiWindow is the physical memory the parser may read: the direct map's
// first 4 GiB, where firmware keeps its tables.
func acpiWindow() []byte { return window(4 << 30) }

// Read finds and parses the tables (rsdp: the boot loader's RSDP address,
// if it passed one; dump: print each table, the acpidump option). Without them the machine runs on
// the boot CPU with default interrupt routing. Context: boot.
func Read(rsdp uint64, dump bool) {
	rsdp, e := acpi.FindRSDP(acpiWindow(), 0, rsdp)
	if e == acpi.OK {
		e = acpi.Parse(acpiWindow(), 0, rsdp, &acpiTables)
	}
	var l klog.Line
	if e != acpi.OK {
		l.S("no usable ACPI tables (").S(e.String()).S("): looking for an MP table").Info()
		// The MultiProcessor Specification's table fills acpiTables.MADT
		// on machines without ACPI (QEMU's microvm with acpi=off).
		const mpWindow = 1 << 20 // the MP table lives below 1 MiB
		fp, e := mptable.Find(window(mpWindow), 0)
		if e == mptable.OK {
			e = mptable.Parse(window(mpWindow), 0, fp, &acpiTables.MADT)
		}
		l.Reset()
		if e != mptable.OK {
			if e != mptable.ErrNotFound {
				l.S("warning: MP table at ").X(fp).S(" unusable: ").S(e.String()).Print()
			}
			klog.Print("warning: no ACPI tables and no MP table: one CPU, default interrupt routing")
			return
		}
		acpiTables.HaveMADT, haveMADT = true, true
		l.S("MP table at ").X(fp).S(": ").U(uint64(acpiTables.MADT.NCPUs)).S(" CPUs, ").U(uint64(acpiTables.MADT.NIOAPICs)).S(" I/O APICs, ").U(uint64(acpiTables.MADT.NOverrides)).S(" ISA interrupt overrides").Info()
		return
	}
	haveACPI = true
	haveMADT = acpiTables.HaveMADT
	l.S("ACPI: RSDP revision ").U(uint64(acpiTables.RSDP.Revision)).S(" OEM ").B(acpiTables.RSDP.OEMID[:]).S(", tables")
	for i := 0; i < acpiTables.NSeen; i++ {
		r := &acpiTables.Seen[i]
		l.S(" ").B(r.Signature[:])
		if !r.Valid {
			l.S("(bad)")
		}
	}
	l.Info()
	for i := 0; dump && i < acpiTables.NSeen; i++ {
		// Every table in hex (the acpidump kernel option), in the
		// format drivers/acpi's tests read as captured table sets.
		r := &acpiTables.Seen[i]
		t := r.Bytes(acpiWindow(), 0)
		var hb [acpi.DumpHeaderLen]byte
		l.Reset()
		l.B(acpi.DumpHeader(&hb, r.Signature, r.Addr)).Print()
		for off := 0; off < len(t); off += 16 {
			var lb [acpi.DumpLineLen]byte
			l.Reset()
			l.B(acpi.DumpLine(&lb, t, off)).Print()
		}
	}
	if acpiTables.HaveFADT && acpiTables.FADT.VGANotPresent() {
		klog.Screen.Init(0) // the firmware says there is no VGA: stop mirroring
	}
}

// CPUs returns the APIC ids of the enabled CPUs in the MADT.
// Context: boot; does not allocate (the slice is of a fixed array).
func CPUs() []uint32 {
	if !haveMADT {
		return nil
	}
	m := &acpiTables.MADT
	n, left := enabledIDs(m, cpuIDs[:])
	if m.Overflow {
		klog.Print("warning: the MADT lists more entries than the kernel keeps")
	}
	if left > 0 {
		var l klog.Line
		l.S("the firmware enables ").U(uint64(n + left)).S(" CPUs; the kernel starts at most ").U(uint64(len(cpuIDs))).S(": the rest stay off").Print()
	}
	return cpuIDs[:n]
}

// enabledIDs copies the APIC ids of m's enabled CPUs into out, in the
// MADT's order, as many as fit, and returns how many it copied and how
// many enabled CPUs did not fit. Context: boot; does not allocate.
func enabledIDs(m *acpi.MADT, out []uint32) (n, left int) {
	for i := 0; i < m.NCPUs && i < len(m.CPUs); i++ {
		switch {
		case !m.CPUs[i].Enabled():
		case n < len(out):
			out[n] = m.CPUs[i].APICID
			n++
		default:
			left++
		}
	}
	return n, left
}

// UseX2APIC reports whether the local APICs must run in x2APIC mode: the
// firmware left them so, or some APIC id does not fit xAPIC's 8 bits.
// Context: boot (the boot CPU, or an AP starting in apMain), interrupts
// off; does not allocate.
func UseX2APIC(apicBase uint64) bool {
	if apicBase&(1<<10) != 0 {
		return true
	}
	if !lapic.HasX2APIC() || !haveMADT {
		return false
	}
	for i := 0; i < acpiTables.MADT.NCPUs; i++ {
		if acpiTables.MADT.CPUs[i].APICID > 254 {
			return true
		}
	}
	return false
}

// NMIPins returns the local interrupt pins of the CPU with APIC id apicID
// that are wired to NMI, and which are active low (bit n: LINTn): the
// MADT's Local APIC NMI entries, or LINT1 without a MADT (acpi.MADT's
// NMIPins). Context: boot; does not allocate.
func NMIPins(apicID uint32) (pins, activeLow uint8) {
	if !haveMADT {
		return 1 << 1, 0
	}
	return acpiTables.MADT.NMIPins(apicID)
}

// InitIOAPICs sets up the MADT's I/O APICs (or the one at the standard
// address when there is no MADT). Context: boot.
func InitIOAPICs() bool {
	if !haveMADT || acpiTables.MADT.NIOAPICs == 0 {
		return ioapics[0].Init(ioapic.Config{Base: physToVirt(ioapic.DefaultBase)})
	}
	ok := false
	for i := 0; i < acpiTables.MADT.NIOAPICs && i < len(ioapics); i++ {
		a := &acpiTables.MADT.IOAPICs[i]
		if ioapics[i].Init(ioapic.Config{Base: physToVirt(uint64(a.Addr)), GSIBase: a.GSIBase}) {
			ok = true
		}
	}
	return ok
}

// ISARoute applies the MADT's interrupt source override for an ISA IRQ.
// Context: boot; does not allocate.
func ISARoute(irq uint8) Route {
	if !haveMADT {
		return Route{GSI: uint32(irq)}
	}
	gsi, flags := acpiTables.MADT.IRQToGSI(irq)
	return Route{GSI: gsi, ActiveLow: flags&3 == 3, Level: flags>>2&3 == 3}
}

// PowerOff enters S5 through the FADT's PM1 control registers, or
// the sleep control register of hardware-reduced ACPI, if the tables
// describe them. It returns if that did not stop the machine.
// Context: trap or boot (stop, on the exit and panic paths), interrupts
// off; does not allocate.
func PowerOff() {
	if !haveACPI || !acpiTables.HaveFADT || !acpiTables.HaveS5 {
		return
	}
	f := &acpiTables.FADT
	if a := f.PM1aControl(); a.Address != 0 && a.AddressSpaceID == acpi.SpaceSystemIO {
		cpu.Outw(uint16(a.Address), acpiTables.S5.PM1aValue())
	}
	if b := f.PM1bControl(); b.Address != 0 && b.AddressSpaceID == acpi.SpaceSystemIO {
		cpu.Outw(uint16(b.Address), acpiTables.S5.PM1bValue())
	}
	// Hardware-reduced ACPI (QEMU's microvm): the sleep control register.
	if r := f.SleepControlReg; f.HardwareReduced() && r.Address != 0 {
		switch r.AddressSpaceID {
		case acpi.SpaceSystemIO:
			cpu.Outb(uint16(r.Address), acpiTables.S5.SleepControlValue())
		case acpi.SpaceSystemMemory:
			if r.Address < 4<<30 {
				*(*uint8)(cpu.Pointer(physToVirt(r.Address))) = acpiTables.S5.SleepControlValue()
			}
		}
	}
}

// Reset resets the machine: through the 8042 keyboard controller
// (which QEMU's pc and q35 machines and Firecracker take as a reset or a
// stop; tried even where the FADT denies an 8042, since Firecracker
// emulates just this command and a write to an absent port goes nowhere),
// then through the FADT's reset register, then by a triple fault. QEMU run
// with -no-reboot exits on any of them. It returns only if none worked.
// Context: trap or boot (stop), interrupts off; does not allocate.
func Reset() {
	f := &acpiTables.FADT
	cpu.Outb(0x64, 0xfe) // 8042: pulse the reset line
	if haveACPI && acpiTables.HaveFADT && f.ResetSupported() {
		switch r := f.ResetReg; r.AddressSpaceID {
		case acpi.SpaceSystemIO:
			cpu.Outb(uint16(r.Address), f.ResetValue)
		case acpi.SpaceSystemMemory:
			if r.Address < 4<<30 {
				*(*uint8)(cpu.Pointer(physToVirt(r.Address))) = f.ResetValue
			}
		}
	}
	cpu.TripleFault()
}

// Tables returns the parsed tables (valid parts say so: HaveFADT, ...).
// Context: any.
func Tables() *acpi.Tables { return &acpiTables }

// HaveACPI reports whether the machine has usable ACPI tables.
// Context: any.
func HaveACPI() bool { return haveACPI }

// I/O APICs, set up by InitIOAPICs.
var ioapics [8]ioapic.IOAPIC

// IOAPICs returns the I/O APICs (a unit that did not answer serves no
// GSI). Context: any.
func IOAPICs() []ioapic.IOAPIC { return ioapics[:] }

// Route is one ISA IRQ's GSI and signalling.
type Route struct {
	GSI              uint32
	ActiveLow, Level bool
}

// physToVirt returns the direct-map address of a physical address.
func physToVirt(pa uint64) uintptr { return abi.DirectBase + uintptr(pa) }

// window is the first n bytes of physical memory, through the direct map.
// Context: boot or trap; does not allocate. Not inlined: its copies at
// its callers cost the image more than the calls (issue 16's budget).
//
//go:noinline
func window(n uintptr) []byte { return unsafe.Slice((*byte)(cpu.Pointer(abi.DirectBase)), n) }
