package kernel

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/cpu"
)

// Segment selectors. The order is fixed by SYSCALL/SYSRET: STAR[47:32]
// gives the kernel CS (and SS = CS+8), STAR[63:48] the base from which
// SYSRET takes SS = base+8 and the 64-bit CS = base+16.
const (
	selKernelCode = 0x08
	selKernelData = 0x10
	selUser32Code = 0x18 | 3 // unused; keeps the SYSRET layout
	selUserData   = 0x20 | 3
	selUserCode   = 0x28 | 3
	selTSS        = 0x30
)

// Descriptor bits (Intel SDM vol. 3, 3.4.5).
const (
	descAccessed = 1 << 40
	descWritable = 1 << 41 // data: writable; code: readable
	descCode     = 1 << 43
	descSegment  = 1 << 44 // code or data (not system)
	descDPL3     = 3 << 45
	descPresent  = 1 << 47
	descLong     = 1 << 53 // 64-bit code
	descGran4K   = 1 << 55
	descLimit    = 0xffff | 0xf<<48
	descTSS64    = 0x9 << 40 // available 64-bit TSS
)

// gdt is one CPU's descriptor table: null, kernel code and data, the user
// segments, and the two slots of its TSS descriptor.
type gdt [8]uint64

// tss is the 64-bit task-state segment (Intel SDM vol. 3, 8.7), kept as
// 32-bit words because its 64-bit fields are not 8-byte aligned.
type tss [26]uint32

const tssSize = 104

// Words of the TSS.
const (
	tssRSP0 = 1  // RSP0 low word; high word follows
	tssIST1 = 9  // IST n's low word is tssIST1 + 2*(n-1)
	tssIOPB = 25 // I/O permission bitmap offset in the high half
)

func (t *tss) set64(word int, v uint64) {
	t[word] = uint32(v)
	t[word+1] = uint32(v >> 32)
}

// init fills the table for a CPU whose TSS is t.
func (g *gdt) init(t *tss) {
	const flat = descLimit | descGran4K | descPresent | descSegment | descAccessed | descWritable
	g[0] = 0
	g[1] = flat | descCode | descLong
	g[2] = flat
	g[3] = flat | descCode | descDPL3 // 32-bit user code, never loaded
	g[4] = flat | descDPL3
	g[5] = flat | descCode | descLong | descDPL3
	base := uint64(uintptr(unsafe.Pointer(t)))
	g[6] = (tssSize - 1) | (base&0xffffff)<<16 | descTSS64 | descPresent | (base>>24&0xff)<<56
	g[7] = base >> 32
}

// loadGDT builds and loads c's GDT and TSS. The TSS gives ring-3 interrupts
// the CPU's kernel stack, and the double fault, NMI and machine check one
// stack each (IST1-3, from ist).
// Context: boot; does not allocate.
func loadGDT(c *percpu, ist *[3]uintptr) {
	c.tss.set64(tssRSP0, uint64(c.kstackTop))
	c.tss.set64(tssIST1+2*(istDouble-1), uint64(ist[istDouble-1]))
	c.tss.set64(tssIST1+2*(istNMI-1), uint64(ist[istNMI-1]))
	c.tss.set64(tssIST1+2*(istMachCheck-1), uint64(ist[istMachCheck-1]))
	c.tss[tssIOPB] = tssSize << 16 // no I/O bitmap
	c.gdt.init(&c.tss)
	var desc [10]byte
	putPseudoDescriptor(&desc, uintptr(unsafe.Pointer(&c.gdt)), uint16(unsafe.Sizeof(c.gdt)-1))
	cpu.Lgdt(uintptr(unsafe.Pointer(&desc)), selKernelCode, selKernelData)
	cpu.Ltr(selTSS)
}

// putPseudoDescriptor writes the 10-byte operand of LGDT/LIDT.
func putPseudoDescriptor(d *[10]byte, base uintptr, limit uint16) {
	d[0], d[1] = byte(limit), byte(limit>>8)
	for i := 0; i < 8; i++ {
		d[2+i] = byte(base >> (8 * i))
	}
}
