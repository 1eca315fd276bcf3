package kgo

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/gometal/gometal/drivers/pci"
)

// PCI configuration access for the kernel goroutines: the PCI Express
// ECAM window of segment 0 from the ACPI MCFG table (which the kernel
// lists in /proc/gometal/pci), mapped uncached through /dev/mem; port
// 0xCF8 (configuration mechanism #1) when the machine has no MCFG or the
// window cannot be mapped.

var (
	configOnce  sync.Once
	configSpace pci.ConfigSpace
	configHow   string
)

// ConfigSpace returns the PCI configuration access chosen at boot.
// Context: ring-3 kernel goroutine.
func ConfigSpace() pci.ConfigSpace {
	configOnce.Do(func() { configSpace, configHow = openConfigSpace() })
	return configSpace
}

// openConfigSpace opens segment 0's ECAM window, or falls back to ports.
func openConfigSpace() (pci.ConfigSpace, string) {
	base, start, end, ok := readECAM()
	if !ok {
		return &pci.PortIO{}, "port 0xCF8 (no MCFG table)"
	}
	fd, err := syscall.Open("/dev/mem", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return &pci.PortIO{}, "port 0xCF8 (/dev/mem: " + err.Error() + ")"
	}
	e := &lazyECAM{fd: fd, base: base, start: start, end: end}
	if e.window(start) == nil {
		syscall.Close(fd)
		return &pci.PortIO{}, "port 0xCF8 (mapping the ECAM window failed)"
	}
	return e, "ECAM at 0x" + strconv.FormatUint(base+uint64(start)<<20, 16) + ", buses " + strconv.Itoa(int(start)) + "-" + strconv.Itoa(int(end))
}

// lazyECAM is an ECAM window mapped one bus (1 MiB) at a time, when the
// bus is first accessed: mapping all 256 buses up front costs tens of
// milliseconds of boot time under emulation, and a machine has few buses.
type lazyECAM struct {
	fd         int
	base       uint64 // bus 0's address
	start, end uint8
	mu         sync.Mutex
	buses      [256]*pci.ECAM
}

// window returns the accessor of bus b, mapping it if needed; nil if b is
// outside the window or cannot be mapped.
func (e *lazyECAM) window(b uint8) *pci.ECAM {
	if b < e.start || b > e.end {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.buses[b] == nil {
		m, err := syscall.Mmap(e.fd, int64(e.base+uint64(b)<<20), 1<<20, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
		if err != nil {
			return nil
		}
		e.buses[b] = &pci.ECAM{Base: uintptr(unsafe.Pointer(&m[0])), StartBus: b, EndBus: b}
	}
	return e.buses[b]
}

// Read32 implements pci.ConfigSpace.
func (e *lazyECAM) Read32(a pci.Addr, off uint16) uint32 {
	if w := e.window(a.Bus); w != nil {
		return w.Read32(a, off)
	}
	return 0xffffffff
}

// Write32 implements pci.ConfigSpace.
func (e *lazyECAM) Write32(a pci.Addr, off uint16, v uint32) {
	if w := e.window(a.Bus); w != nil {
		w.Write32(a, off, v)
	}
}

// readECAM returns segment 0's allocation from /proc/gometal/pci, whose
// lines read "ecam BASE SEGMENT START END" (decimal; BASE is bus 0's).
func readECAM() (base uint64, start, end uint8, ok bool) {
	f, err := os.Open("/proc/gometal/pci")
	if err != nil {
		return 0, 0, 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		w := strings.Fields(s.Text())
		if len(w) != 5 || w[0] != "ecam" || w[2] != "0" {
			continue
		}
		b, err1 := strconv.ParseUint(w[1], 10, 64)
		st, err2 := strconv.ParseUint(w[3], 10, 8)
		en, err3 := strconv.ParseUint(w[4], 10, 8)
		if err1 == nil && err2 == nil && err3 == nil && st <= en {
			return b, uint8(st), uint8(en), true
		}
	}
	return 0, 0, 0, false
}
