package knet

import (
	"encoding/binary"
	"fmt"
	"github.com/gometal/gometal/kernel/ring3/kgo"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"

	"github.com/gometal/gometal/drivers/pci"
)

// MSI-X: each interrupt source of the NIC gets a vector of its own from
// the kernel (an open /dev/irq descriptor) and an entry in the function's
// MSI-X table, which lives in one of its BARs.

// irqInfo is the /dev/irq ioctl that returns {vector, APIC id}.
const irqInfo = 0x47490001

// irqFD is one interrupt as a file: a read (parked in the netpoller)
// returns the number of interrupts since the last read.
type irqFD struct {
	f            *os.File
	vector, apic uint32
}

// openIRQ allocates a vector. os.OpenFile makes the descriptor
// non-blocking and registers it with the runtime's netpoller.
func openIRQ() (*irqFD, error) {
	f, err := os.OpenFile("/dev/irq", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, err
	}
	var info [2]uint32
	var e syscall.Errno
	rc.Control(func(fd uintptr) {
		_, _, e = syscall.Syscall(syscall.SYS_IOCTL, fd, irqInfo, uintptr(unsafe.Pointer(&info)))
	})
	if e != 0 {
		f.Close()
		return nil, fmt.Errorf("/dev/irq info: %w", e)
	}
	return &irqFD{f: f, vector: info[0], apic: info[1]}, nil
}

// irqSource is what a driver goroutine sleeps on: an interrupt
// descriptor of its own (MSI-X), or its share of one the transport's
// interrupt goroutine fans out (virtio-mmio, nic_mmio.go).
type irqSource interface {
	// wait blocks until at least one interrupt has arrived and returns
	// how many did.
	wait() (uint64, error)
}

// vectorOf returns s's vector for the log, 0 when it has none of its own.
func vectorOf(s irqSource) uint32 {
	if q, ok := s.(*irqFD); ok {
		return q.vector
	}
	return 0
}

// wait blocks until at least one interrupt has arrived and returns how
// many did.
func (q *irqFD) wait() (uint64, error) {
	var b [8]byte
	if _, err := q.f.Read(b[:]); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

// MSI-X capability registers and table layout (PCI 3.0, 6.8.2).
const (
	msixEnable     = 1 << 31 // in the capability's first dword (message control << 16)
	msixFuncMask   = 1 << 30
	msixEntrySize  = 16
	msixVectorMask = 1 // vector control: entry masked
)

// msix is a function's MSI-X table, mapped.
type msix struct {
	dev   *pci.Device
	cap   uint16
	table []byte
}

// setupMSIX enables MSI-X on d with the whole function masked and maps
// its table (through bars). Program entries, then call unmask.
func setupMSIX(d *pci.Device, bars *barMaps) (*msix, error) {
	off := d.Cap(pci.CapMSIX)
	if off == 0 {
		return nil, fmt.Errorf("no MSI-X capability")
	}
	cs := kgo.ConfigSpace()
	ctl := cs.Read32(d.Addr, off)
	n := int(ctl>>16&0x7ff) + 1
	tbl := cs.Read32(d.Addr, off+4)
	table, err := bars.region(uint8(tbl&7), uint64(tbl&^7), uint64(n*msixEntrySize))
	if err != nil {
		return nil, fmt.Errorf("MSI-X table: %w", err)
	}
	cs.Write32(d.Addr, off, ctl|msixEnable|msixFuncMask)
	m := &msix{dev: d, cap: off, table: table}
	for i := 0; i < n; i++ {
		m.reg(i, 12).Store(msixVectorMask)
	}
	return m, nil
}

// entries is the size of the table.
func (m *msix) entries() int { return len(m.table) / msixEntrySize }

func (m *msix) reg(entry, off int) *atomic.Uint32 {
	return (*atomic.Uint32)(unsafe.Pointer(&m.table[entry*msixEntrySize+off]))
}

// route points table entry i at irq's vector and CPU and unmasks it.
func (m *msix) route(i int, irq *irqFD) {
	m.reg(i, 12).Store(msixVectorMask)
	m.reg(i, 0).Store(0xfee00000 | irq.apic<<12)
	m.reg(i, 4).Store(0)
	m.reg(i, 8).Store(irq.vector)
	m.reg(i, 12).Store(0)
}

// unmask clears the function mask: the device may now signal.
func (m *msix) unmask() {
	cs := kgo.ConfigSpace()
	ctl := cs.Read32(m.dev.Addr, m.cap)
	cs.Write32(m.dev.Addr, m.cap, ctl&^msixFuncMask|msixEnable)
}
