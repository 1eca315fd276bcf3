package knet

import (
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/gometal/gometal/kernel/ring3/virtio"
	"golang.org/x/sys/unix"
)

// The virtio-net driver over the virtio-mmio transport (spec 4.2), for
// machines without PCI (QEMU's microvm, Firecracker). The kernel lists
// the transports it knows (the DSDT's LNRO0005 devices and the command
// line's virtio_mmio.device=) through /dev/irq's irqDeviceInfo ioctl, and
// routes a transport's single interrupt line to a /dev/irq descriptor with
// irqRouteGSI. One goroutine reads that descriptor, reads and
// acknowledges the device's interrupt status, and wakes the receive,
// transmit and configuration goroutines, which sleep on fanIRQs instead
// of descriptors of their own. Queues, buffers and the packet paths are
// the PCI driver's.

// The /dev/irq ioctls for platform devices (kernel/irqfd.go).
const (
	irqDeviceInfo = 0x47490002
	irqRouteGSI   = 0x47490003
)

// mmioDevice is one transport the kernel lists.
type mmioDevice struct {
	index      int
	base, size uint64
	gsi        uint32
	level      bool
}

// listMMIODevices asks the kernel for its virtio-mmio transports.
func listMMIODevices(irq *irqFD) ([]mmioDevice, error) {
	rc, err := irq.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var devs []mmioDevice
	for i := 0; ; i++ {
		var info struct {
			index, flags uint32
			base, size   uint64
			gsi, _       uint32
		}
		info.index = uint32(i)
		var e syscall.Errno
		rc.Control(func(fd uintptr) {
			_, _, e = syscall.Syscall(syscall.SYS_IOCTL, fd, irqDeviceInfo, uintptr(unsafe.Pointer(&info)))
		})
		if e == syscall.ENOENT {
			return devs, nil
		}
		if e != 0 {
			return nil, fmt.Errorf("/dev/irq device info: %w", e)
		}
		devs = append(devs, mmioDevice{index: i, base: info.base, size: info.size, gsi: info.gsi, level: info.flags&1 != 0})
	}
}

// routeTo routes device index's interrupt to irq's vector.
func (q *irqFD) routeTo(index int) error {
	rc, err := q.f.SyscallConn()
	if err != nil {
		return err
	}
	var e syscall.Errno
	rc.Control(func(fd uintptr) {
		_, _, e = syscall.Syscall(syscall.SYS_IOCTL, fd, irqRouteGSI, uintptr(index))
	})
	if e != 0 {
		return fmt.Errorf("/dev/irq route: %w", e)
	}
	return nil
}

// openMMIONIC finds the first virtio-mmio transport with a network device
// behind it and initialises it; errNoDevice when there is none.
func openMMIONIC() (*NIC, error) {
	irq, err := openIRQ()
	if err != nil {
		return nil, err
	}
	devs, err := listMMIODevices(irq)
	if err != nil || len(devs) == 0 {
		irq.f.Close()
		if err == nil {
			err = errNoDevice
		}
		return nil, err
	}
	memf, err := os.OpenFile("/dev/mem", os.O_RDWR, 0)
	if err != nil {
		irq.f.Close()
		return nil, err
	}
	defer memf.Close() // the mappings outlive the descriptor
	for _, d := range devs {
		regs, err := mapPhys(fdOf(memf), d.base, d.size)
		if err != nil {
			logf("virtio-mmio %#x: %v", d.base, err)
			continue
		}
		m, err := virtio.NewMMIO(regs)
		if errors.Is(err, virtio.ErrNoDevice) {
			continue
		}
		if err != nil {
			logf("virtio-mmio %#x: %v", d.base, err)
			continue
		}
		if m.DeviceID() != virtio.DeviceNet {
			continue
		}
		name := fmt.Sprintf("virtio-net mmio %#x", d.base)
		n, err := initMMIONIC(name, fdOf(memf), m, d, irq)
		if err != nil {
			logf("%s: %v", name, err)
			irq.f.Close()
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return n, nil
	}
	irq.f.Close()
	return nil, errNoDevice
}

// mapPhys maps the physical range [base, base+size) of device memory.
func mapPhys(mem int, base, size uint64) ([]byte, error) {
	start := base &^ 0xfff
	n := (base + size - start + 0xfff) &^ 0xfff
	b, err := unix.Mmap(mem, int64(start), int(n), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map %#x+%#x: %w", base, size, err)
	}
	return b[base-start : base-start+size : base-start+size], nil
}

// initMMIONIC brings the device to DRIVER_OK (spec 3.1.1) with both
// queues and its interrupt routed to irq.
func initMMIONIC(name string, mem int, m virtio.MMIO, d mmioDevice, irq *irqFD) (*NIC, error) {
	n := &NIC{name: name, mtu: defaultMTU, mmio: &m, notify: m, devCfg: m.Config()}
	var err error
	n.offered, n.features, err = m.Negotiate(wantFeatures)
	if err != nil {
		return nil, err // Negotiate set FAILED
	}
	if err := n.setupMMIO(mem, d, irq); err != nil {
		m.Fail()
		return nil, err
	}
	n.ep = &endpoint{nic: n}
	m.SetStatus(virtio.StatusAcknowledge | virtio.StatusDriver | virtio.StatusFeaturesOK | virtio.StatusDriverOK)
	if m.Status()&virtio.StatusDeviceNeedsReset != 0 {
		m.Fail()
		return nil, errors.New("device needs reset after DRIVER_OK")
	}
	n.rx.publish(n.notify) // the receive buffers posted by setup
	trigger := "edge"
	if d.level {
		trigger = "level"
	}
	logf("%s: MAC %s, link %s, features %#x (offered %#x), rx/tx %d/%d descriptors, GSI %d (%s) on vector %#x, negotiated %s",
		n.name, n.mac, n.linkState(), n.features, n.offered, n.rx.q.Size(), n.tx.q.Size(),
		d.gsi, trigger, irq.vector, virtio.FeatureNames(n.features))
	return n, nil
}

// setupMMIO reads the MAC address and MTU, creates both queues with every
// receive buffer posted, and starts the interrupt goroutine.
func (n *NIC) setupMMIO(mem int, d mmioDevice, irq *irqFD) error {
	if err := n.readConfig(); err != nil {
		return err
	}
	dma, err := mapDMAPool(mem)
	if err != nil {
		return err
	}
	rx, tx, cfg := newFanIRQ(), newFanIRQ(), newFanIRQ()
	n.cfgIRQ = cfg
	if err := n.rx.initMMIO(*n.mmio, dma, 0, rx); err != nil {
		return fmt.Errorf("receive queue: %w", err)
	}
	if err := n.tx.initMMIO(*n.mmio, dma, 1, tx); err != nil {
		return fmt.Errorf("transmit queue: %w", err)
	}
	for n.rx.q.Free() > 0 {
		n.rx.post(n.rx.takeBuf(), bufSize, true)
	}
	if err := irq.routeTo(d.index); err != nil {
		return err
	}
	go mmioInterrupts(*n.mmio, irq, rx, tx, cfg)
	return nil
}

// initMMIO creates queue index on a virtio-mmio device: its size (at most
// maxQueueSize), its rings and buffers in the DMA pool; it wakes on irq.
func (v *vq) initMMIO(m virtio.MMIO, dma *dmaMem, index uint16, irq irqSource) error {
	v.index = index
	m.SelectQueue(index)
	max := int(m.QueueSizeMax())
	if max == 0 {
		return fmt.Errorf("queue %d does not exist", index)
	}
	size := maxQueueSize
	for size > max {
		size /= 2
	}
	m.SetQueueSize(uint16(size))
	if err := v.alloc(dma, size); err != nil {
		return err
	}
	v.irq = irq
	m.SetQueueAddrs(v.q.DescAddr(), v.q.DriverAddr(), v.q.DeviceAddr())
	m.EnableQueue()
	return nil
}

// mmioInterrupts is the transport's interrupt goroutine: it waits on the
// device's interrupt, acknowledges what the device reports and wakes the
// goroutines concerned. Reading the descriptor before acknowledging keeps
// a level-triggered line from being lost: the kernel unmasks it on the
// read, and a cause that arrives after the acknowledgement raises it again.
// Context: ring-3 kernel goroutine.
func mmioInterrupts(m virtio.MMIO, irq *irqFD, rx, tx, cfg *fanIRQ) {
	for {
		if _, err := irq.wait(); err != nil {
			logf("virtio-mmio interrupt: %v; the NIC stops", err)
			return
		}
		// Until the status reads 0: with an edge-triggered line (the
		// command line's devices, Firecracker's), a cause raised between
		// the read and the acknowledgement makes no new edge.
		for st := m.InterruptStatus(); st != 0; st = m.InterruptStatus() {
			m.AckInterrupt(st)
			if st&virtio.MMIOUsedBuffer != 0 {
				rx.signal()
				tx.signal()
			}
			if st&virtio.MMIOConfigChange != 0 {
				cfg.signal()
			}
		}
	}
}

// fanIRQ is an irqSource fed by mmioInterrupts.
type fanIRQ struct {
	ch chan struct{}
	n  atomic.Uint64
}

// newFanIRQ returns a fanIRQ with nothing pending.
func newFanIRQ() *fanIRQ { return &fanIRQ{ch: make(chan struct{}, 1)} }

// signal counts one interrupt and wakes the waiter.
func (f *fanIRQ) signal() {
	f.n.Add(1)
	select {
	case f.ch <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// wait implements irqSource.
func (f *fanIRQ) wait() (uint64, error) {
	<-f.ch
	return f.n.Swap(0), nil
}
