package pci

import "math/bits"

// Giving addresses to the BARs the firmware left unassigned. SeaBIOS and
// UEFI firmware assign every BAR; QEMU's qboot, direct-boot monitors and
// some minimal boards' firmware leave them at 0, where a driver cannot map
// them. The kernel then places them itself at boot (kernel/pcilist), in
// the windows the platform leaves for PCI: BARs the firmware did assign
// stay where they are, and a machine whose firmware assigned everything
// sees no write at all.

// Bridge window registers (type 1 header).
const (
	regIOWindow     = 0x1c // I/O base (bits 0-7), limit (bits 8-15)
	regMemWindow    = 0x20 // memory base (bits 0-15), limit (bits 16-31)
	regPrefWindow   = 0x24 // prefetchable memory base, limit
	regPrefBaseHi   = 0x28
	regPrefLimitHi  = 0x2c
	regIOWindowHi   = 0x30 // I/O base (bits 0-15) and limit (16-31), upper halves
	headerTypeEndpt = 0
)

// request is one BAR to place: Bus.Devices[dev]'s BAR bar of size bytes.
type request struct {
	dev  int
	bar  uint8
	size uint64
}

// Assigner places the unassigned BARs of one bus tree. Its Mem and IO
// windows (and MinAlign) are the caller's to set, and what lies inside
// them that is not PCI's (RAM, the ECAM window, interrupt controllers,
// timers) the caller's to Reserve, before Assign. It is large (its spaces
// remember every range): keep it out of a boot stack.
type Assigner struct {
	Mem, IO Space
	reqs    [MaxDevices * 6]request
	nreqs   int
}

// Assign gives each unassigned BAR (a non-zero size at address 0) of the
// functions on bus root an address from Mem or IO: the biggest first, each
// aligned to its size, none overlapping a BAR the firmware assigned, a
// bridge's window or a reserved range. A 64-bit BAR goes in the same
// windows (below 4 GiB when the memory window is). It writes the BARs with
// the function's decoding off, then turns on memory (I/O) decoding for a
// function whose memory (I/O) BARs all have addresses, as firmware does;
// bus mastering stays the driver's. b's BARs and each function's Assigned
// and Unassigned masks record the outcome: a BAR that did not fit, or that
// sits behind a bridge (whose windows the kernel does not program), keeps
// address 0 and its kind of decoding stays off. It returns how many BARs
// it placed and how many it left unassigned.
// Context: boot; does not allocate.
func (as *Assigner) Assign(cs ConfigSpace, b *Bus, root uint8) (placed, left int) {
	as.reserveAssigned(cs, b)
	as.collect(b, root)
	as.sortBySize()
	for _, r := range as.reqs[:as.nreqs] {
		d := &b.Devices[r.dev]
		decode(cs, d.Addr, 0) // off while its BARs change
		as.place(cs, d, r)
	}
	for i := range b.Devices[:b.N] {
		d := &b.Devices[i]
		if d.Assigned|d.Unassigned != 0 && d.Addr.Bus == root {
			decode(cs, d.Addr, decodable(d))
		}
		placed += bits.OnesCount8(d.Assigned)
		left += bits.OnesCount8(d.Unassigned)
	}
	return placed, left
}

// reserveAssigned takes the ranges of the BARs that have addresses and the
// bridges' forwarding windows. Context: boot; does not allocate.
func (as *Assigner) reserveAssigned(cs ConfigSpace, b *Bus) {
	for i := range b.Devices[:b.N] {
		d := &b.Devices[i]
		d.Assigned, d.Unassigned = 0, 0
		if d.HeaderType&headerTypeMask == headerTypeBridge {
			as.reserveBridge(cs, d.Addr)
			continue
		}
		for _, bar := range d.BARs[:] { // [:]: a range over the array copies it
			switch {
			case bar.Size == 0 || bar.Addr == 0:
			case bar.IO:
				as.IO.Reserve(bar.Addr, bar.Size)
			default:
				as.Mem.Reserve(bar.Addr, bar.Size)
			}
		}
	}
}

// reserveBridge takes a PCI-to-PCI bridge's I/O, memory and prefetchable
// memory windows (an unprogrammed one reads as the lowest addresses,
// outside the windows the kernel assigns from). Context: boot; does not
// allocate.
func (as *Assigner) reserveBridge(cs ConfigSpace, a Addr) {
	io := cs.Read32(a, regIOWindow)
	ioHi := cs.Read32(a, regIOWindowHi)
	ioBase := uint64(io&0xf0)<<8 | uint64(ioHi&0xffff)<<16
	ioLimit := uint64(io&0xf000) | 0xfff | uint64(ioHi>>16)<<16
	if io&1 == 0 { // 16-bit decoding: the upper halves are not implemented
		ioBase, ioLimit = ioBase&0xffff, ioLimit&0xffff
	}
	if ioLimit >= ioBase {
		as.IO.Reserve(ioBase, ioLimit-ioBase+1)
	}
	mem := cs.Read32(a, regMemWindow)
	if base, limit := uint64(mem&0xfff0)<<16, uint64(mem>>16&0xfff0)<<16|0xfffff; limit >= base {
		as.Mem.Reserve(base, limit-base+1)
	}
	pref := cs.Read32(a, regPrefWindow)
	base, limit := uint64(pref&0xfff0)<<16, uint64(pref>>16&0xfff0)<<16|0xfffff
	if pref&0xf == 1 { // 64-bit
		base |= uint64(cs.Read32(a, regPrefBaseHi)) << 32
		limit |= uint64(cs.Read32(a, regPrefLimitHi)) << 32
	}
	if limit >= base {
		as.Mem.Reserve(base, limit-base+1)
	}
}

// collect lists the unassigned BARs of the endpoints on bus root, and
// marks those of functions on other buses unassigned: the kernel does not
// program bridges' windows. Context: boot; does not allocate.
func (as *Assigner) collect(b *Bus, root uint8) {
	as.nreqs = 0
	for i := range b.Devices[:b.N] {
		d := &b.Devices[i]
		if d.HeaderType&headerTypeMask != headerTypeEndpt {
			continue
		}
		for j, bar := range d.BARs[:] { // [:]: a range over the array copies it
			if bar.Size == 0 || bar.Addr != 0 {
				continue
			}
			if d.Addr.Bus != root || as.nreqs == len(as.reqs) {
				d.Unassigned |= 1 << j
				continue
			}
			as.reqs[as.nreqs] = request{dev: i, bar: uint8(j), size: bar.Size}
			as.nreqs++
		}
	}
}

// sortBySize orders the requests biggest first, keeping the bus order
// among equal sizes (an insertion sort: no allocation, no recursion, a few
// dozen entries). Context: boot; does not allocate.
func (as *Assigner) sortBySize() {
	r := as.reqs[:as.nreqs]
	for i := 1; i < len(r); i++ {
		for j := i; j > 0 && r[j].size > r[j-1].size; j-- {
			r[j], r[j-1] = r[j-1], r[j]
		}
	}
}

// place allocates r's range, writes it to the BAR (both registers of a
// 64-bit one) and reads it back; d's BAR and masks record the outcome.
// Context: boot; does not allocate.
func (as *Assigner) place(cs ConfigSpace, d *Device, r request) {
	bar := &d.BARs[r.bar]
	sp, flags := &as.Mem, uint32(0xf)
	if bar.IO {
		sp, flags = &as.IO, 3
	}
	bit := uint8(1) << r.bar
	addr, ok := sp.Alloc(r.size)
	if !ok {
		d.Unassigned |= bit
		return
	}
	off := regBAR0 + 4*uint16(r.bar)
	keep := cs.Read32(d.Addr, off) & flags // the read-only type bits
	cs.Write32(d.Addr, off, uint32(addr)|keep)
	if bar.Is64 {
		cs.Write32(d.Addr, off+4, uint32(addr>>32))
	}
	got := uint64(cs.Read32(d.Addr, off) &^ flags)
	if bar.Is64 {
		got |= uint64(cs.Read32(d.Addr, off+4)) << 32
	}
	if got != addr { // the register did not take it: back to unassigned
		cs.Write32(d.Addr, off, keep)
		d.Unassigned |= bit
		return
	}
	bar.Addr = addr
	d.Assigned |= bit
}

// decodable returns the command register's decoding bits d may have on:
// memory when it has memory BARs and all of them have addresses, I/O
// likewise. Context: any; does not allocate.
func decodable(d *Device) uint32 {
	var has, missing uint32
	for _, bar := range d.BARs[:] { // [:]: a range over the array copies it
		if bar.Size == 0 {
			continue
		}
		kind := uint32(CommandMemory)
		if bar.IO {
			kind = CommandIO
		}
		has |= kind
		if bar.Addr == 0 {
			missing |= kind
		}
	}
	return has &^ missing
}

// decode sets the function's memory and I/O decoding bits to on (the
// other command bits unchanged, the status bits not written back as ones,
// which would clear them). Context: boot; does not allocate.
func decode(cs ConfigSpace, a Addr, on uint32) {
	cmd := cs.Read32(a, regCommand) & 0xffff &^ (CommandIO | CommandMemory)
	cs.Write32(a, regCommand, cmd|on)
}
