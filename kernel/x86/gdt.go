// Package x86 holds the x86-64 descriptor tables the kernel loads: the
// GDT and its segment selectors, each CPU's TSS (kernel stack and
// interrupt stacks), the IDT's gates and the interrupt vector numbers.
// It is the lowest layer of the kernel (docs/kernel-layout.md): it imports
// only kernel/cpu. Context: trap context (boot and AP start-up); nothing
// here allocates.
package x86

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/cpu"
)

// Segment selectors. The order is fixed by SYSCALL/SYSRET: STAR[47:32]
// gives the kernel CS (and SS = CS+8), STAR[63:48] the base from which
// SYSRET takes SS = base+8 and the 64-bit CS = base+16.
const (
	SelKernelCode = 0x08
	SelKernelData = 0x10
	SelUser32Code = 0x18 | 3 // unused; keeps the SYSRET layout
	SelUserData   = 0x20 | 3
	SelUserCode   = 0x28 | 3
	SelTSS        = 0x30
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
	descBig      = 1 << 54 // data: B, as SYSCALL and SYSRET load SS
	descGran4K   = 1 << 55
	descLimit    = 0xffff | 0xf<<48
	descTSS64    = 0x9 << 40 // available 64-bit TSS
)

// GDT is one CPU's descriptor table: null, kernel code and data, the user
// segments, and the two slots of its TSS descriptor.
type GDT [8]uint64

// TSS is the 64-bit task-state segment (Intel SDM vol. 3, 8.7), kept as
// 32-bit words because its 64-bit fields are not 8-byte aligned.
type TSS [26]uint32

const tssSize = 104

// Words of the TSS.
const (
	tssRSP0 = 1  // RSP0 low word; high word follows
	tssIST1 = 9  // IST n's low word is tssIST1 + 2*(n-1)
	tssIOPB = 25 // I/O permission bitmap offset in the high half
)

func (t *TSS) set64(word int, v uint64) {
	t[word] = uint32(v)
	t[word+1] = uint32(v >> 32)
}

// init fills the table for a CPU whose TSS is t.
func (g *GDT) init(t *TSS) {
	const flat = descLimit | descGran4K | descPresent | descSegment | descAccessed | descWritable
	// The data segments have B set, the attributes SYSCALL and SYSRET
	// give SS: QEMU's TCG keys its translations by SS's B bit, so an SS
	// loaded from the table (boot, IRETQ, the trap entry's reload) must
	// match the one a system call leaves, or the kernel's code (and the
	// program's, after an IRETQ) is translated twice.
	g[0] = 0
	g[1] = flat | descCode | descLong
	g[2] = flat | descBig
	g[3] = flat | descCode | descDPL3 // 32-bit user code, never loaded
	g[4] = flat | descBig | descDPL3
	g[5] = flat | descCode | descLong | descDPL3
	base := uint64(uintptr(unsafe.Pointer(t)))
	g[6] = (tssSize - 1) | (base&0xffffff)<<16 | descTSS64 | descPresent | (base>>24&0xff)<<56
	g[7] = base >> 32
}

// LoadGDT builds and loads one CPU's GDT g and TSS t. The TSS gives
// ring-3 interrupts the CPU's kernel stack (kstackTop), and the double
// fault, NMI and machine check one stack each (IST1-3, from ist).
// Context: boot; does not allocate.
func LoadGDT(g *GDT, t *TSS, kstackTop uintptr, ist *[3]uintptr) {
	t.set64(tssRSP0, uint64(kstackTop))
	t.set64(tssIST1+2*(istDouble-1), uint64(ist[istDouble-1]))
	t.set64(tssIST1+2*(istNMI-1), uint64(ist[istNMI-1]))
	t.set64(tssIST1+2*(istMachCheck-1), uint64(ist[istMachCheck-1]))
	t[tssIOPB] = tssSize << 16 // no I/O bitmap
	g.init(t)
	var desc [10]byte
	putPseudoDescriptor(&desc, uintptr(unsafe.Pointer(g)), uint16(unsafe.Sizeof(*g)-1))
	cpu.Lgdt(uintptr(unsafe.Pointer(&desc)), SelKernelCode, SelKernelData)
	cpu.Ltr(SelTSS)
}

// putPseudoDescriptor writes the 10-byte operand of LGDT/LIDT.
func putPseudoDescriptor(d *[10]byte, base uintptr, limit uint16) {
	d[0], d[1] = byte(limit), byte(limit>>8)
	for i := 0; i < 8; i++ {
		d[2+i] = byte(base >> (8 * i))
	}
}
