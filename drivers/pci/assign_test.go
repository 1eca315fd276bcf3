package pci

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unassignedNet is QEMU's modern virtio-net-pci as qboot leaves it: BAR 1
// (4 KiB, 32-bit) and BAR 4 (16 KiB, 64-bit prefetchable) at address 0,
// decoding off.
func unassignedNet() *fakeFunc {
	f := virtioNet()
	f.regs[5], f.regs[8], f.regs[9] = 0, 0xc, 0
	f.regs[1] = statusCapList | CommandIntxOff
	return f
}

// ahci is ICH9's AHCI function as qboot leaves it: I/O BAR 4 (32 ports),
// memory BAR 5 (4 KiB).
func ahci() *fakeFunc {
	f := &fakeFunc{}
	f.regs[0] = 0x2922<<16 | 0x8086
	f.regs[2] = 0x01060201
	f.regs[8], f.barMask[4] = 1, 0xffffffe0
	f.regs[9], f.barMask[5] = 0, 0xfffff000
	return f
}

// smbus is ICH9's SMBus function: I/O BAR 4 (64 ports).
func smbus() *fakeFunc {
	f := &fakeFunc{}
	f.regs[0] = 0x2930<<16 | 0x8086
	f.regs[2] = 0x0c050002
	f.regs[8], f.barMask[4] = 1, 0xffffffc0
	return f
}

// hostBridge has no BARs.
func hostBridge() *fakeFunc {
	f := &fakeFunc{}
	f.regs[0] = 0x29c0<<16 | 0x8086
	f.regs[2] = 0x06000002
	return f
}

// q35Assigner has the kernel's windows on q35: memory from 3 GiB to the
// I/O APIC, I/O ports from 0xc000.
func q35Assigner() *Assigner {
	return &Assigner{
		Mem: Space{Window: Range{0xc0000000, 0xfec00000}, MinAlign: 4096},
		IO:  Space{Window: Range{0xc000, 0x10000}},
	}
}

// writeLog records the configuration writes per function.
type writeLog struct {
	fakeBus
	writes map[Addr]int
}

func (w writeLog) Write32(a Addr, off uint16, v uint32) {
	w.writes[a]++
	w.fakeBus.Write32(a, off, v)
}

// scan enumerates bus and returns the list.
func scan(t *testing.T, cs ConfigSpace) *Bus {
	var b Bus
	EnumerateTree(cs, 0, &b)
	require.False(t, b.Overflow)
	return &b
}

// TestAssignQbootQ35 places what qboot leaves on q35 with a virtio NIC:
// biggest first, aligned, 64-bit BARs in the 32-bit window with the upper
// half zero, type bits kept, decoding on and bus mastering left alone; a
// new scan reads the same addresses back.
func TestAssignQbootQ35(t *testing.T) {
	net, sata, smb := unassignedNet(), ahci(), smbus()
	bus := fakeBus{{0, 0, 0}: hostBridge(), {0, 1, 0}: net, {0, 4, 0}: sata, {0, 5, 0}: smb}
	b := scan(t, bus)
	placed, left := q35Assigner().Assign(bus, b, 0)
	assert.Equal(t, 5, placed)
	assert.Equal(t, 0, left)

	assert.Equal(t, uint32(0xc000000c), net.regs[8], "BAR 4 first (biggest), type bits kept")
	assert.Equal(t, uint32(0), net.regs[9], "upper half: below 4 GiB")
	assert.Equal(t, uint32(0xc0004000), net.regs[5])
	assert.Equal(t, uint32(0xc0005000), sata.regs[9])
	assert.Equal(t, uint32(0xc001), smb.regs[8], "64 ports first")
	assert.Equal(t, uint32(0xc041), sata.regs[8])

	assert.Equal(t, uint32(CommandMemory|CommandIntxOff), net.regs[1]&0xffff, "memory decoding on, no bus master, INTx bit kept")
	assert.Equal(t, uint32(CommandMemory|CommandIO), sata.regs[1]&0xffff)
	assert.Equal(t, uint32(CommandIO), smb.regs[1]&0xffff)

	d := &b.Devices[1]
	assert.Equal(t, uint8(1<<1|1<<4), d.Assigned)
	assert.Zero(t, d.Unassigned)
	assert.Equal(t, BAR{Addr: 0xc0000000, Size: 0x4000, Is64: true, Prefetchable: true}, d.BARs[4])

	again := scan(t, bus)
	for i := 0; i < b.N; i++ {
		assert.Equal(t, b.Devices[i].BARs, again.Devices[i].BARs, "function %v as the hardware has it", b.Devices[i].Addr)
	}
}

// TestAssignLeavesFirmwareAlone: with everything assigned (SeaBIOS)
// nothing is written; a firmware-assigned function next to an unassigned
// one is not written to, and the new BARs avoid its ranges.
func TestAssignLeavesFirmwareAlone(t *testing.T) {
	seabios := writeLog{fakeBus{{0, 0, 0}: hostBridge(), {0, 2, 0}: virtioNet()}, map[Addr]int{}}
	placed, left := q35Assigner().Assign(seabios, scan(t, seabios.fakeBus), 0)
	assert.Zero(t, placed+left)
	assert.Empty(t, seabios.writes, "an assigned machine sees no write")

	fw := virtioNet()
	fw.regs[5] = 0xc0000000 // firmware's BAR 1 at the window's start
	fw.regs[8], fw.regs[9] = 0xc0008000|0xc, 0
	mixed := writeLog{fakeBus{{0, 2, 0}: fw, {0, 3, 0}: unassignedNet()}, map[Addr]int{}}
	b := scan(t, mixed.fakeBus)
	placed, left = q35Assigner().Assign(mixed, b, 0)
	assert.Equal(t, 2, placed)
	assert.Zero(t, left)
	assert.Zero(t, mixed.writes[Addr{0, 2, 0}], "the firmware's function is not touched")
	assert.Equal(t, uint64(0xc0004000), b.Devices[1].BARs[4].Addr, "between the firmware's BARs")
	assert.Equal(t, uint64(0xc0001000), b.Devices[1].BARs[1].Addr, "past the firmware's 0xc0000000+0x1000")
}

// TestAssignExhausted: a BAR that does not fit keeps address 0, is
// reported, and its kind of decoding stays off (it would decode at 0);
// the rest still get theirs.
func TestAssignExhausted(t *testing.T) {
	net, smb := unassignedNet(), smbus()
	bus := fakeBus{{0, 1, 0}: net, {0, 2, 0}: smb}
	b := scan(t, bus)
	as := &Assigner{
		Mem: Space{Window: Range{0xfeb00000, 0xfeb02000}, MinAlign: 4096}, // room for 8 KiB: not BAR 4's 16
		IO:  Space{Window: Range{0xc000, 0x10000}},
	}
	placed, left := as.Assign(bus, b, 0)
	assert.Equal(t, 2, placed)
	assert.Equal(t, 1, left)
	d := &b.Devices[0]
	assert.Equal(t, uint8(1<<4), d.Unassigned)
	assert.Equal(t, uint8(1<<1), d.Assigned)
	assert.Zero(t, d.BARs[4].Addr)
	assert.Equal(t, uint32(0xc), net.regs[8], "BAR 4 still at 0")
	assert.Equal(t, uint32(0xfeb00000), net.regs[5])
	assert.Zero(t, net.regs[1]&CommandMemory, "memory decoding stays off")
	assert.Equal(t, uint32(CommandIO), smb.regs[1]&0xffff, "the other function is fine")
}

// TestAssignSkipsBehindBridges: the kernel does not program bridges'
// windows, so an unassigned function behind a bridge is reported and not
// written to; the bridge's programmed window is avoided on bus 0.
func TestAssignSkipsBehindBridges(t *testing.T) {
	br := &fakeFunc{}
	br.regs[0] = 0x0001<<16 | 0x1b36
	br.regs[2] = 0x06040000
	br.regs[3] = headerTypeBridge << 16
	br.regs[regBusNumbers/4] = 1<<8 | 1<<16
	br.regs[regMemWindow/4] = 0xc000<<16 | 0xc000 // [0xc0000000, 0xc00fffff]
	br.regs[regIOWindow/4] = 0xc0<<8 | 0xc0       // [0xc000, 0xcfff]
	br.regs[regPrefWindow/4] = 0x0000fff0         // base above limit: off
	bus := writeLog{fakeBus{{0, 1, 0}: br, {1, 0, 0}: unassignedNet(), {0, 2, 0}: unassignedNet(), {0, 3, 0}: smbus()}, map[Addr]int{}}
	b := scan(t, bus.fakeBus)
	placed, left := q35Assigner().Assign(bus, b, 0)
	assert.Equal(t, 3, placed)
	assert.Equal(t, 2, left)
	assert.Zero(t, bus.writes[Addr{1, 0, 0}], "behind the bridge: untouched")
	assert.Zero(t, bus.writes[Addr{0, 1, 0}], "the bridge: untouched")
	for i := 0; i < b.N; i++ {
		d := &b.Devices[i]
		switch d.Addr {
		case Addr{1, 0, 0}:
			assert.Equal(t, uint8(1<<1|1<<4), d.Unassigned)
		case Addr{0, 2, 0}:
			assert.Equal(t, uint64(0xc0100000), d.BARs[4].Addr, "past the bridge's memory window")
		case Addr{0, 3, 0}:
			assert.Equal(t, uint64(0xd000), d.BARs[4].Addr, "past the bridge's I/O window")
		}
	}
}

// stuckBAR ignores writes to one function's BARs, as a register that does
// not implement them would.
type stuckBAR struct {
	fakeBus
	at Addr
}

func (s stuckBAR) Write32(a Addr, off uint16, v uint32) {
	if a == s.at && off >= regBAR0 && off < regBAR0+24 && v != 0xffffffff {
		return
	}
	s.fakeBus.Write32(a, off, v)
}

// TestAssignReadBackMismatch: a BAR that does not keep the address
// written is reported unassigned, not trusted.
func TestAssignReadBackMismatch(t *testing.T) {
	bus := stuckBAR{fakeBus{{0, 1, 0}: unassignedNet()}, Addr{0, 1, 0}}
	b := scan(t, bus.fakeBus)
	placed, left := q35Assigner().Assign(bus, b, 0)
	assert.Zero(t, placed)
	assert.Equal(t, 2, left)
	assert.Zero(t, b.Devices[0].BARs[4].Addr)
	assert.Zero(t, bus.fakeBus[Addr{0, 1, 0}].regs[1]&CommandMemory)
}
