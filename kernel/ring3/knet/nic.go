package knet

import (
	"crypto/rand"
	"errors"
	"fmt"
	"github.com/gometal/gometal/kernel/ring3/kgo"
	"os"
	"sync"
	"time"

	"github.com/gometal/gometal/drivers/pci"
	"github.com/gometal/gometal/kernel/ring3/virtio"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// The virtio-net driver (virtio spec 1.2, 5.1) over the modern PCI
// transport: receive queue 0 and transmit queue 1, each a split
// virtqueue in the DMA pool with one 2 KiB buffer per descriptor, an
// MSI-X vector each (and one for configuration changes), read through
// /dev/irq descriptors by goroutines parked in the runtime's netpoller.
// Checksum offload (VIRTIO_NET_F_CSUM, GUEST_CSUM) is negotiated when the
// device offers it, as a tap backend does (nic_csum.go); QEMU's user
// network offers neither, and then gVisor computes and verifies every
// checksum.

// Sizes. 2 x 128 buffers of 2 KiB and the rings take about 520 KiB of
// the pool.
const (
	maxQueueSize = 128
	bufSize      = 2048 // holds the 12-byte header and a 1514-byte frame
	defaultMTU   = 1500
)

// MSI-X table entries.
const (
	vecConfig = 0
	vecRx     = 1
	vecTx     = 2
)

// wantFeatures are the features the driver accepts when offered.
const wantFeatures = virtio.FeatureVersion1 | virtio.NetFeatureMAC | virtio.NetFeatureStatus | virtio.NetFeatureMTU |
	virtio.NetFeatureCsum | virtio.NetFeatureGuestCsum

// NIC is an initialised virtio-net device. Its methods are safe for
// concurrent use.
type NIC struct {
	name     string           // "virtio-net BB:DD.F"
	cfg      virtio.CommonCfg // the PCI transport's registers
	mmio     *virtio.MMIO     // or the virtio-mmio transport's (nic_mmio.go)
	devCfg   []byte
	isr      []byte
	notify   notifier
	features uint64 // accepted
	offered  uint64
	mac      tcpip.LinkAddress
	mtu      uint32

	rx, tx vq
	// The receive goroutine's batch (drainRx): buffers, lengths, frames
	// and which frames a later ACK covers.
	rxBufs   []uint16
	rxLens   []uint32
	rxFrames [][]byte
	rxMerged []bool
	txMu     sync.Mutex // guards tx and acks: WritePackets, the tx goroutine, the ACK timer
	acks     ackHold    // pure ACKs held back (nic_ackhold.go)
	// sleepTx is time.Sleep; tests replace it (waitTxFree).
	sleepTx func(time.Duration)
	cfgIRQ  irqSource

	stats counters
	ep    *endpoint
	start sync.Once
}

var (
	openMu sync.Mutex
	opened *NIC
)

// OpenNIC finds the first virtio-net PCI function, initialises it and
// returns it; later calls return the same NIC. It fails with a clear
// error when there is no such device (or the program does not run on
// gometal); a device that fails to initialise is left with its FAILED
// status bit set and reported as an error. The driver's goroutines start
// when the endpoint is attached to a stack. Context: ring-3 kernel
// goroutine (ordinary Go, may block and allocate); never trap context.
func OpenNIC() (*NIC, error) {
	openMu.Lock()
	defer openMu.Unlock()
	if opened != nil {
		return opened, nil
	}
	if !onGometal() {
		return nil, fmt.Errorf("%w: not running on gometal", errNoDevice)
	}
	d, caps, err := findVirtioNet()
	if errors.Is(err, errNoDevice) {
		// No PCI NIC: a virtio-mmio one (microvm, Firecracker)?
		n, merr := openMMIONIC()
		if merr == nil {
			opened = n
			return n, nil
		}
		if !errors.Is(merr, errNoDevice) {
			return nil, merr
		}
	}
	if err != nil {
		return nil, err
	}
	n, err := initNIC(d, caps)
	if err != nil {
		logf("virtio-net %s: %v", addrString(d.Addr), err)
		return nil, fmt.Errorf("virtio-net %s: %w", addrString(d.Addr), err)
	}
	opened = n
	return n, nil
}

// openedNIC returns the NIC OpenNIC opened, or nil.
func openedNIC() *NIC {
	openMu.Lock()
	defer openMu.Unlock()
	return opened
}

// initNIC brings d to DRIVER_OK (spec 3.1.1).
func initNIC(d *pci.Device, caps virtio.Caps) (*NIC, error) {
	memf, err := os.OpenFile("/dev/mem", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	defer memf.Close() // the mappings outlive the descriptor
	bars := &barMaps{mem: fdOf(memf), dev: d}
	pci.EnableMaster(kgo.ConfigSpace(), d.Addr, true)
	n := &NIC{name: "virtio-net " + addrString(d.Addr), mtu: defaultMTU}
	common, err := bars.virtioRegion(caps.Common)
	if err != nil {
		return nil, err
	}
	if n.cfg, err = virtio.NewCommonCfg(common); err != nil {
		return nil, err
	}
	n.offered, n.features, err = n.cfg.Negotiate(wantFeatures)
	if err != nil {
		return nil, err // Negotiate set FAILED
	}
	if err := n.setup(bars, caps); err != nil {
		n.cfg.Fail()
		return nil, err
	}
	n.ep = &endpoint{nic: n}
	n.cfg.SetStatus(virtio.StatusAcknowledge | virtio.StatusDriver | virtio.StatusFeaturesOK | virtio.StatusDriverOK)
	if n.cfg.Status()&virtio.StatusDeviceNeedsReset != 0 {
		n.cfg.Fail()
		return nil, errors.New("device needs reset after DRIVER_OK")
	}
	n.rx.publish(n.notify) // the receive buffers posted by setup
	logf("%s: MAC %s, link %s, %d queues, features %#x (offered %#x), rx/tx %d/%d descriptors, MSI-X vectors %#x/%#x/%#x, negotiated %s",
		n.name, n.mac, n.linkState(), n.cfg.NumQueues(), n.features, n.offered, n.rx.q.Size(), n.tx.q.Size(),
		vectorOf(n.cfgIRQ), vectorOf(n.rx.irq), vectorOf(n.tx.irq), virtio.FeatureNames(n.features))
	return n, nil
}

// setup maps the rest of the configuration, reads the MAC address and
// MTU, programs MSI-X and creates both queues, with every receive buffer
// posted.
func (n *NIC) setup(bars *barMaps, caps virtio.Caps) error {
	var err error
	if n.devCfg, err = bars.virtioRegion(caps.Device); err != nil {
		return err
	}
	notify, err := bars.virtioRegion(caps.Notify)
	if err != nil {
		return err
	}
	pciNotify := virtio.NewNotifier(notify, caps.NotifyMultiplier)
	n.notify = pciNotify
	if caps.Found&(1<<virtio.CapISR) != 0 {
		if n.isr, err = bars.virtioRegion(caps.ISR); err != nil {
			return err
		}
	}
	if err := n.readConfig(); err != nil {
		return err
	}
	if nq := n.cfg.NumQueues(); nq < 2 {
		return fmt.Errorf("device has %d queues, need 2", nq)
	}
	dma, err := mapDMAPool(bars.mem)
	if err != nil {
		return err
	}
	m, err := setupMSIX(bars.dev, bars)
	if err != nil {
		return err
	}
	if m.entries() < 3 {
		return fmt.Errorf("MSI-X table has %d entries, need 3", m.entries())
	}
	cfgIRQ, err := openIRQ()
	if err != nil {
		return err
	}
	n.cfgIRQ = cfgIRQ
	m.route(vecConfig, cfgIRQ)
	if got := n.cfg.SetConfigMSIXVector(vecConfig); got != vecConfig {
		return fmt.Errorf("device rejected MSI-X entry %d for configuration changes (read back %#x)", vecConfig, got)
	}
	if err := n.rx.init(n.cfg, pciNotify, dma, m, 0, vecRx); err != nil {
		return fmt.Errorf("receive queue: %w", err)
	}
	if err := n.tx.init(n.cfg, pciNotify, dma, m, 1, vecTx); err != nil {
		return fmt.Errorf("transmit queue: %w", err)
	}
	for n.rx.q.Free() > 0 {
		n.rx.post(n.rx.takeBuf(), bufSize, true)
	}
	m.unmask()
	return nil
}

// readConfig reads the MAC address (or makes up a locally administered
// one if the device has none) and the MTU.
func (n *NIC) readConfig() error {
	mac := make([]byte, 6)
	var mtu uint16
	n.deviceConfig(func() {
		for i := range mac {
			mac[i] = virtio.Read8(n.devCfg, i)
		}
		if n.features&virtio.NetFeatureMTU != 0 && len(n.devCfg) >= 12 {
			mtu = virtio.Read16(n.devCfg, 10)
		}
	})
	if n.features&virtio.NetFeatureMAC == 0 {
		if _, err := rand.Read(mac); err != nil {
			return err
		}
		mac[0] = mac[0]&^1 | 2 // unicast, locally administered
	}
	n.mac = tcpip.LinkAddress(mac)
	if !header.IsValidUnicastEthernetAddress(n.mac) {
		return fmt.Errorf("device MAC address %s is not a unicast address", n.mac)
	}
	if mtu != 0 {
		n.mtu = min(uint32(mtu), bufSize-virtio.NetHdrSize-header.EthernetMinimumSize)
	}
	return nil
}

// deviceConfig runs read until it saw a consistent snapshot of the
// device-specific configuration, on either transport.
func (n *NIC) deviceConfig(read func()) {
	if n.mmio != nil {
		n.mmio.DeviceConfig(read)
		return
	}
	virtio.DeviceConfig(n.cfg, read)
}

// notifier tells the device about new buffers in a queue: the PCI
// transport's notification area (virtio.Notifier) or virtio-mmio's
// register (virtio.MMIO).
type notifier interface{ Notify(at int, q uint16) }

// MAC returns the NIC's Ethernet address. Context: ring-3 kernel
// goroutine; never trap context.
func (n *NIC) MAC() tcpip.LinkAddress { return n.mac }

// LinkEndpoint returns the NIC as a gVisor link endpoint (Ethernet
// framing; ARP resolution required) to pass to stack.CreateNIC. The
// receive, transmit-completion and configuration goroutines start when a
// stack attaches it. The endpoint serves one stack at a time: attaching
// it to another takes the received frames away from the first. Context:
// ring-3 kernel goroutine; never trap context.
func (n *NIC) LinkEndpoint() stack.LinkEndpoint { return n.ep }

// fdOf returns f's descriptor without changing its mode (Fd would make it
// blocking).
func fdOf(f *os.File) int {
	fd := -1
	if rc, err := f.SyscallConn(); err == nil {
		rc.Control(func(u uintptr) { fd = int(u) })
	}
	return fd
}
