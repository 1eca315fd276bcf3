package knet

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// The DMA pool: the physically contiguous region the kernel reserves at
// boot (/proc/gometal/dma), mapped through /dev/mem. The NIC carves its
// rings and packet buffers out of it with a bump allocator; nothing is
// ever given back.

// dmaMem is the mapped pool and the next free byte.
type dmaMem struct {
	mem  []byte
	phys uint64
	next int
}

// readDMAPool parses /proc/gometal/dma ("base N" and "size N" lines).
func readDMAPool() (base, size uint64, err error) {
	b, err := os.ReadFile("/proc/gometal/dma")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/gometal/dma: %q: %w", line, err)
		}
		switch f[0] {
		case "base":
			base = v
		case "size":
			size = v
		}
	}
	if size == 0 {
		return 0, 0, fmt.Errorf("/proc/gometal/dma: no DMA pool")
	}
	return base, size, nil
}

// mapDMAPool maps the whole pool through the /dev/mem descriptor mem.
func mapDMAPool(mem int) (*dmaMem, error) {
	base, size, err := readDMAPool()
	if err != nil {
		return nil, err
	}
	m, err := unix.Mmap(mem, int64(base), int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("map the DMA pool: %w", err)
	}
	return &dmaMem{mem: m, phys: base}, nil
}

// alloc returns n bytes aligned to align (a power of two) and their
// physical address.
func (d *dmaMem) alloc(n, align int) ([]byte, uint64, error) {
	at := (d.next + align - 1) &^ (align - 1)
	if at+n > len(d.mem) {
		return nil, 0, fmt.Errorf("DMA pool exhausted: %d bytes wanted, %d left", n, len(d.mem)-at)
	}
	d.next = at + n
	return d.mem[at : at+n : at+n], d.phys + uint64(at), nil
}
