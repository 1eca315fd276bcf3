package console

import (
	"sync/atomic"

	"github.com/gometal/gometal/drivers/pci"
	"github.com/gometal/gometal/kernel/clock"
	"github.com/gometal/gometal/kernel/conin"
	"github.com/gometal/gometal/kernel/cpu"
	"github.com/gometal/gometal/kernel/firmware"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
	"github.com/gometal/gometal/kernel/virtq"
	"github.com/gometal/gometal/kernel/vm"
	"github.com/gometal/gometal/kernel/x86"
)

// The virtio console (virtio 1.2, 5.3) with multiple ports: the program's
// standard streams and the kernel log each get a port of their own, so the
// host sees them apart, fast and with flow control (docs/protocols.md,
// "Console"). The kernel drives it itself, in trap context, over the
// modern PCI transport (an MSI-X vector) or virtio-mmio (its GSI through
// the I/O APIC). Without the device, or when a port is missing or not
// connected on the host, that stream stays on COM1 as before.
//
// Ports, by number (QEMU: -device virtserialport,nr=N):
const (
	vconPortStdout = 1 // the program's fd 1
	vconPortStderr = 2 // the program's fd 2
	vconPortStdin  = 3 // the program's fd 0; the host closing it is end of file
	vconPortKlog   = 4 // kernel log lines
	vconPorts      = 5 // max_nr_ports the device must offer (port 0 is QEMU's virtconsole's)
)

// Control messages (struct virtio_console_control: le32 id, le16 event,
// le16 value).
const (
	vconDeviceReady = 0
	vconDeviceAdd   = 1
	vconDeviceRem   = 2
	vconPortReady   = 3
	vconPortOpen    = 6
)

const (
	vconFeatMultiport  = 1 << 1
	vconFeatVersion1   = 1 << 32
	VconPoolBytes      = 400 << 10 // the queues' rings and slots, at most (TestVconLayoutFits)
	virtioVendor       = 0x1af4
	virtioConsoleMMIO  = 3
	vconPCIModern      = 0x1043
	vconPCITransitonal = 0x1003
)

// The device's queues, in VconQ. Port p's receive queue is 2(p+1), its
// transmit queue 2(p+1)+1; the control queues are 2 and 3.
const (
	vqCtrlRx = iota
	vqCtrlTx
	vqStdin
	vqStdout
	vqStderr
	vqKlog
	VqCount
)

// vqSpec is each queue's device number, size and slot bytes.
var vqSpec = [VqCount]struct {
	index, size uint16
	slot        uint32
	rx          bool
}{
	vqCtrlRx: {2, 16, 256, true},
	vqCtrlTx: {3, 16, 16, false},
	vqStdin:  {2 * (vconPortStdin + 1), 16, 1024, true},
	vqStdout: {2*(vconPortStdout+1) + 1, 32, 8192, false},
	vqStderr: {2*(vconPortStderr+1) + 1, 16, 4096, false},
	vqKlog:   {2*(vconPortKlog+1) + 1, 16, 2048, false}, // a /dev/kmsg record (1024 bytes) with the prefix
}

// vconDev is the device's transport.
type vconDev struct {
	found     bool
	mmio      bool
	regs      uintptr // virtio-mmio window, or the PCI common configuration
	devCfg    uintptr // device-specific configuration
	notify    uintptr // PCI: notification region
	notifyMul uint32
	mmioDev   int // virtio-mmio: index in firmware.MMIODevices()
}

var (
	vdev  vconDev
	VconQ [VqCount]virtq.Queue
	// vconAdded and vconHostOpen record the control messages per port.
	vconAdded, vconHostOpen [vconPorts]bool
	// vconOn says the port carries its stream (set at boot).
	vconOn [vconPorts]bool
	vconUp bool // the device is initialised
)

// Register access. 32-bit ones are atomic; all go through cpu.Pointer so
// that the compiler neither merges nor drops them. Context: any.
func rd8(a uintptr) uint8      { return *(*uint8)(cpu.Pointer(a)) }
func wr8(a uintptr, v uint8)   { *(*uint8)(cpu.Pointer(a)) = v }
func rd16(a uintptr) uint16    { return *(*uint16)(cpu.Pointer(a)) }
func wr16(a uintptr, v uint16) { *(*uint16)(cpu.Pointer(a)) = v }
func rd32(a uintptr) uint32    { return atomic.LoadUint32((*uint32)(cpu.Pointer(a))) }

// wr32 stores a 32-bit MMIO register. Context: any. Not inlined: its
// copies cost the image bytes (issue 16's budget).
//
//go:noinline
func wr32(a uintptr, v uint32) { atomic.StoreUint32((*uint32)(cpu.Pointer(a)), v) }

// SetupVirtio finds the console device, initialises it and learns
// its ports. Context: boot, after firmware.CollectMMIODevices, interrupts off.
func SetupVirtio() {
	if !findVconPCI() && !findVconMMIO() {
		return
	}
	if !vdev.start() {
		klog.Print("virtio console: the device refused to start: console stays on the serial port")
		return
	}
	vconUp = true
	vconHandshake()
	var l klog.Line
	l.S("virtio console: ports")
	for p := 1; p < vconPorts; p++ {
		vconOn[p] = vconAdded[p] && (vconHostOpen[p] || p == vconPortStdin)
		if vconOn[p] {
			l.S(" ").U(uint64(p))
		}
	}
	if vconOn[vconPortKlog] {
		klog.UseVcon(&VconQ[vqKlog]) // from this line on
	}
	l.S(" (1 stdout, 2 stderr, 3 stdin, 4 kernel log)").Info()
}

// findVconPCI looks for a virtio console on PCI bus 0 and maps its
// configuration structures. Context: boot.
func findVconPCI() bool {
	var cs pci.PortIO
	for dev := uint8(0); dev < 32; dev++ {
		for fn := uint8(0); fn < 8; fn++ {
			a := pci.Addr{Bus: 0, Dev: dev, Fn: fn}
			id := cs.Read32(a, 0)
			if id == 0xffffffff {
				if fn == 0 {
					break
				}
				continue
			}
			if uint16(id) == virtioVendor && (id>>16 == vconPCIModern || id>>16 == vconPCITransitonal) {
				return vdev.initPCI(a)
			}
		}
	}
	return false
}

// pciBAR returns the virtual address of memory BAR bar of a, or 0 when it
// is not a memory BAR in the uncached window below 4 GiB. Context: boot.
func pciBAR(a pci.Addr, bar uint8) uintptr {
	var cs pci.PortIO
	if bar > 5 {
		return 0
	}
	lo := cs.Read32(a, 0x10+4*uint16(bar))
	if lo&1 != 0 {
		return 0
	}
	addr := uint64(lo &^ 0xf)
	if lo&6 == 4 && bar < 5 {
		addr |= uint64(cs.Read32(a, 0x14+4*uint16(bar))) << 32
	}
	if addr < vm.MMIOHoleLow || addr >= 4<<30 {
		return 0
	}
	return vm.PhysToVirt(addr)
}

// initPCI reads the virtio and MSI-X capabilities of a, points MSI-X
// table entry 0 at x86.VecVCon on the boot CPU and enables MSI-X.
// Context: boot.
func (d *vconDev) initPCI(a pci.Addr) bool {
	var cs pci.PortIO
	cmd := cs.Read32(a, 0x04)
	cs.Write32(a, 0x04, cmd&0xffff|pci.CommandMemory|pci.CommandMaster|pci.CommandIntxOff)
	var msix uint16
	off := uint16(cs.Read32(a, 0x34) & 0xfc)
	for n := 0; off != 0 && n < 48; n++ {
		w := cs.Read32(a, off)
		switch uint8(w) {
		case pci.CapMSIX:
			msix = off
		case pci.CapVendor:
			d.virtioCap(a, off, uint8(w>>24))
		}
		off = uint16(w>>8) & 0xfc
	}
	if d.regs == 0 || d.notify == 0 || d.devCfg == 0 || msix == 0 {
		klog.Print("virtio console: no modern PCI capabilities or no MSI-X: console stays on the serial port")
		return false
	}
	table := cs.Read32(a, msix+4)
	tbase := pciBAR(a, uint8(table&7))
	if tbase == 0 {
		klog.Print("virtio console: MSI-X table not reachable: console stays on the serial port")
		return false
	}
	e := tbase + uintptr(table&^7)
	wr32(e, 0xfee00000|percpu.CPUs[0].APICID<<12)
	wr32(e+4, 0)
	wr32(e+8, x86.VecVCon)
	wr32(e+12, 0) // unmasked
	ctl := cs.Read32(a, msix)
	cs.Write32(a, msix, ctl&^(1<<30)|1<<31) // MSI-X on, function not masked
	d.found = true
	return true
}

// virtioCap takes the first common, notify and device configuration
// structures from the virtio capability of type typ at off.
// Context: boot.
func (d *vconDev) virtioCap(a pci.Addr, off uint16, typ uint8) {
	var cs pci.PortIO
	base := pciBAR(a, uint8(cs.Read32(a, off+4)))
	if base == 0 {
		return
	}
	at := base + uintptr(cs.Read32(a, off+8))
	switch {
	case typ == 1 && d.regs == 0:
		d.regs = at
	case typ == 2 && d.notify == 0:
		d.notify, d.notifyMul = at, cs.Read32(a, off+16)
	case typ == 4 && d.devCfg == 0:
		d.devCfg = at
	}
}

// findVconMMIO looks for a console among the virtio-mmio transports and
// routes its interrupt. Context: boot.
func findVconMMIO() bool {
	mmioDevs := firmware.MMIODevices()
	for i := 0; i < len(mmioDevs); i++ {
		m := &mmioDevs[i]
		regs := vm.PhysToVirt(m.Base)
		if m.Base < vm.MMIOHoleLow || m.Base >= 4<<30 || rd32(regs) != 0x74726976 || rd32(regs+8) != virtioConsoleMMIO {
			continue
		}
		if rd32(regs+4) != 2 {
			klog.Print("virtio console: legacy virtio-mmio (QEMU: -global virtio-mmio.force-legacy=false): console stays on the serial port")
			return false
		}
		if !RouteGSI(m.GSI, x86.VecVCon, m.ActiveLow, m.Level) {
			klog.Print("virtio console: cannot route its interrupt: console stays on the serial port")
			return false
		}
		vdev = vconDev{found: true, mmio: true, regs: regs, devCfg: regs + 0x100, mmioDev: i}
		return true
	}
	return false
}

// RouteGSI sends gsi to vector on the boot CPU through the I/O APIC
// that serves it, with the given polarity and trigger mode, and reports
// false if none serves it or it refused (also package devices' route of
// the serial port's ISA line). Context: boot.
func RouteGSI(gsi uint32, vector uint8, activeLow, level bool) bool {
	ioapics := firmware.IOAPICs()
	for i := range ioapics {
		if ioapics[i].Serves(gsi) {
			return ioapics[i].Route(gsi, vector, percpu.CPUs[0].APICID, activeLow, level)
		}
	}
	return false
}

// status reads the device status register. Context: any; does not
// allocate.
func (d *vconDev) status() uint8 {
	if d.mmio {
		return uint8(rd32(d.regs + 0x70))
	}
	return rd8(d.regs + 0x14)
}

// setStatus writes the device status register. Context: any; does not
// allocate.
func (d *vconDev) setStatus(s uint8) {
	if d.mmio {
		wr32(d.regs+0x70, uint32(s))
		return
	}
	wr8(d.regs+0x14, s)
}

// negotiate reads the offered feature bits and, if they hold all of
// want, accepts want (the driver feature registers sit step bytes past
// the device's) and reports true. Context: boot.
func (d *vconDev) negotiate(want uint64) bool {
	sel, val, step := d.regs, d.regs+0x04, uintptr(0x08)
	if d.mmio {
		sel, val, step = d.regs+0x14, d.regs+0x10, 0x10
	}
	wr32(sel, 0)
	f := uint64(rd32(val))
	wr32(sel, 1)
	if (f|uint64(rd32(val))<<32)&want != want {
		return false
	}
	wr32(sel+step, 0)
	wr32(val+step, uint32(want))
	wr32(sel+step, 1)
	wr32(val+step, uint32(want>>32))
	return true
}

// start resets the device, negotiates VERSION_1 and MULTIPORT, sets up
// the queues in VconPoolBytes of its own and sets DRIVER_OK.
// Context: boot.
func (d *vconDev) start() bool {
	d.setStatus(0)
	for i := 0; d.status() != 0; i++ {
		if i > 1_000_000 {
			return false
		}
		cpu.Pause()
	}
	d.setStatus(1 | 2) // ACKNOWLEDGE, DRIVER
	const want = vconFeatVersion1 | vconFeatMultiport
	if !d.negotiate(want) {
		d.setStatus(128)
		return false
	}
	d.setStatus(1 | 2 | 8)
	if d.status()&8 == 0 {
		return false
	}
	if rd32(d.devCfg+4) < vconPorts {
		klog.Print("virtio console: fewer than 5 ports (QEMU: max_ports=5)")
		d.setStatus(128)
		return false
	}
	if !d.setupQueues() {
		d.setStatus(128)
		return false
	}
	if !d.mmio {
		wr16(d.regs+0x10, 0xffff) // no configuration-change interrupts
	}
	d.setStatus(1 | 2 | 8 | 4)
	for _, i := range [...]int{vqCtrlRx, vqStdin} {
		q := &VconQ[i]
		for !q.Full() {
			q.Put(q.Slot)
		}
		q.Publish()
	}
	return true
}

// On a machine with less than vconTightRAM of memory the output queues
// are smaller (vconTight): standard output 64 KiB in flight instead of
// 256 KiB (a 32 MiB burst of 32 KiB writes took about 20% longer),
// standard error 16 KiB instead of 64, so that examples/hello still boots
// in 16 MiB under gometal run (docs/protocols.md, "Memory").
const vconTightRAM = 32 << 20

// vconTight is each queue's size and slot bytes below vconTightRAM, for
// the queues that shrink there (a zero size: as in vqSpec).
var vconTight = [VqCount]struct {
	size uint16
	slot uint32
}{
	vqStdout: {16, 4096},
	vqStderr: {16, 1024},
}

// vconLayout returns queue i's size and slot bytes on a machine whose RAM
// ends at ramTop. Context: any; does not allocate.
func vconLayout(i int, ramTop uint64) (size uint16, slot uint32) {
	if t := vconTight[i]; ramTop < vconTightRAM && t.size != 0 {
		return t.size, t.slot
	}
	return vqSpec[i].size, vqSpec[i].slot
}

// vconPoolBytes returns the bytes of the queues' rings (a page each) and
// slots on a machine whose RAM ends at ramTop, in whole pages.
// Context: any; does not allocate.
func vconPoolBytes(ramTop uint64) uint64 {
	n := uint64(VqCount * mm.PageSize)
	for i := range vqSpec {
		size, slot := vconLayout(i, ramTop)
		n += uint64(size) * uint64(slot)
	}
	return mm.PageRoundUp(n)
}

// setupQueues lays the queues out in vconPoolBytes of contiguous frames
// of its own (a page of rings each, then the slots), charged to the
// commit, and tells the device. Context: boot.
func (d *vconDev) setupQueues() bool {
	pool := vconPoolBytes(vm.RAMTop)
	phys := vm.Frames.AllocContiguous(pool / mm.PageSize)
	if phys == 0 {
		klog.Print("virtio console: no contiguous memory for its queues")
		return false
	}
	vm.Commit(pool)
	bufs := phys + VqCount*mm.PageSize
	for i := range VconQ {
		s := vqSpec[i]
		s.size, s.slot = vconLayout(i, vm.RAMTop)
		q := &VconQ[i]
		*q = virtq.Queue{Index: s.index, Size: s.size, Slot: s.slot, RX: s.rx}
		q.RingPhys, q.BufPhys = phys+uint64(i)*mm.PageSize, bufs
		q.Ring, q.Buf = vm.PhysToVirt(q.RingPhys), vm.PhysToVirt(q.BufPhys)
		q.UsedOff, _ = virtq.Layout(int(s.size))
		bufs += uint64(s.size) * uint64(s.slot)
		if !d.setupQueue(q) {
			return false
		}
	}
	return true
}

// setupQueue tells the device where q lies. Context: boot.
func (d *vconDev) setupQueue(q *virtq.Queue) bool {
	clear(unsafeSlice(q.Ring, mm.PageSize))
	desc, avail, used := q.RingPhys, q.RingPhys+16*uint64(q.Size), q.RingPhys+uint64(q.UsedOff)
	if d.mmio {
		r := d.regs
		wr32(r+0x30, uint32(q.Index))
		if max := rd32(r + 0x34); max < uint32(q.Size) {
			return false
		}
		wr32(r+0x38, uint32(q.Size))
		for k, a := range [3]uint64{desc, avail, used} {
			wr32(r+0x80+0x10*uintptr(k), uint32(a))
			wr32(r+0x84+0x10*uintptr(k), uint32(a>>32))
		}
		wr32(r+0x44, 1)
		q.Notify, q.MMIONote = r+0x50, true
		return true
	}
	r := d.regs
	wr16(r+0x16, q.Index)
	if max := rd16(r + 0x18); max < q.Size {
		return false
	}
	wr16(r+0x18, q.Size)
	wr16(r+0x1a, 0)
	if rd16(r+0x1a) != 0 {
		return false // the device rejected the MSI-X vector
	}
	for k, a := range [3]uint64{desc, avail, used} {
		wr32(r+0x20+8*uintptr(k), uint32(a))
		wr32(r+0x24+8*uintptr(k), uint32(a>>32))
	}
	q.Notify = d.notify + uintptr(rd16(r+0x1e))*uintptr(d.notifyMul)
	wr16(r+0x1c, 1)
	return true
}

// vconControl sends one control message, waiting (polling) for a free
// slot. Context: boot or trap; does not allocate.
func vconControl(port uint32, event, value uint16) {
	q := &VconQ[vqCtrlTx]
	for i := 0; q.Full(); i++ {
		q.ReapTx()
		if i > 10_000_000 {
			return
		}
		cpu.Pause()
	}
	a := q.SlotAddr(q.AvailIdx & (q.Size - 1))
	*(*uint32)(cpu.Pointer(a)) = port
	*(*uint16)(cpu.Pointer(a + 4)) = event
	*(*uint16)(cpu.Pointer(a + 6)) = value
	q.Put(8)
	q.Publish()
}

// vconHandshake tells the device the driver is ready and handles its
// answers (the ports, and whether the host side of each is open), for up
// to a second. Context: boot.
func vconHandshake() {
	vconControl(0, vconDeviceReady, 1)
	end := clock.Nanotime() + 1e9
	for clock.Nanotime() < end {
		vconControlRx()
		// The device answers PORT_READY with PORT_OPEN (when the host
		// side is open) before it returns the message's slot.
		done := VconQ[vqCtrlTx].InFlight == 0
		for p := 1; p < vconPorts; p++ {
			done = done && vconAdded[p]
		}
		if done {
			vconControlRx()
			break
		}
		cpu.Pause()
	}
	if vconAdded[vconPortStdin] && !vconHostOpen[vconPortStdin] {
		conin.EOF = true // the host had nothing to send, and closed the port already
	}
}

// vconControlRx handles the control messages the device sent.
// Context: boot or trap, kernel lock held; does not allocate.
func vconControlRx() {
	q := &VconQ[vqCtrlRx]
	got := false
	for {
		s, n, ok := q.PeekUsed()
		if !ok {
			break
		}
		q.PopUsed(s)
		got = true
		if n >= 8 {
			a := q.SlotAddr(s)
			vconEvent(*(*uint32)(cpu.Pointer(a)), *(*uint16)(cpu.Pointer(a + 4)), *(*uint16)(cpu.Pointer(a + 6)))
		}
		q.Put(q.Slot)
	}
	if got {
		q.Publish()
	}
	VconQ[vqCtrlTx].ReapTx()
}

// vconEvent handles one control message: the host closing the stdin
// port (removing it, or a PORT_OPEN of 0) means end of file after the
// buffered bytes. Context: boot or trap, kernel lock held; does not
// allocate.
func vconEvent(port uint32, event, value uint16) {
	if port == 0 || port >= vconPorts {
		if event == vconDeviceAdd {
			vconControl(port, vconPortReady, 0) // not ours (QEMU's console port)
		}
		return
	}
	switch event {
	case vconDeviceAdd:
		vconAdded[port] = true
		vconControl(port, vconPortReady, 1)
		vconControl(port, vconPortOpen, 1)
		return
	case vconDeviceRem:
		vconAdded[port] = false
		vconHostOpen[port] = false
	case vconPortOpen:
		vconHostOpen[port] = value != 0
	default:
		return
	}
	if port == vconPortStdin && !vconHostOpen[port] && !conin.EOF {
		vconStdinPump()
		conin.EOF = true
		consoleInputArrived()
	}
}
