package pcilist

// The windows Setup places unassigned BARs in (drivers/pci's
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
