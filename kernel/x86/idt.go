package x86

import (
	"unsafe"

	"github.com/gometal/gometal/kernel/cpu"
)

// Interrupt vectors the kernel uses (exceptions are 0-31).
const (
	VecDivide     = 0
	VecDebug      = 1
	VecBreakpoint = 3
	VecInvalidOp  = 6
	VecNMI        = 2
	VecDouble     = 8
	VecGP         = 13
	VecPageFault  = 14
	VecMachCheck  = 18
	VecTimer      = 0x20 // local APIC timer
	VecCOM1       = 0x24 // the first serial port's receive interrupt (ISA IRQ 4, through the I/O APIC)
	VecVCon       = 0x25 // the virtio console's interrupt
	// VecPICBase is where the kernel moves the 8259s' 16 vectors. They
	// are masked, but a spurious IRQ 7 or 15 still arrives on the last
	// vector of each, so no other user of vectors (/dev/irq) may overlap
	// them.
	VecPICBase  = 0xe0
	VecKick     = 0xf0 // IPI: enter the kernel (wake from idle, deliver a signal, re-arm the timer)
	VecTLB      = 0xf1 // IPI: flush the TLB
	VecLockWake = 0xf2 // IPI: a kernel lock a halted waiter waits for was released (kernel/klock)
	VecSpurious = 0xff
	// VecSyscall is no interrupt vector: the SYSCALL entry marks the trap
	// frame it builds with it, one past the last real vector.
	VecSyscall = 256
)

// idtEntry is a 64-bit interrupt gate (Intel SDM vol. 3, 6.14.1).
type idtEntry struct {
	offsetLow  uint16
	selector   uint16
	ist        uint8
	typeAttr   uint8
	offsetMid  uint16
	offsetHigh uint32
	_          uint32
}

const (
	gateInterrupt = 0x8e // present, DPL 0, 64-bit interrupt gate (clears IF)
	gateUser      = 0x60 // DPL 3: INT n allowed from ring 3
)

var idt [256]idtEntry

// The gate layout is fixed by the hardware: 16 bytes.
var _ [16 - unsafe.Sizeof(idtEntry{})]byte
var _ [unsafe.Sizeof(idtEntry{}) - 16]byte

// Interrupt stack table slots (TSS IST1-3): the double fault, NMI and
// machine check each have their own stack, so that a broken kernel stack
// still yields a report and one of them arriving while another runs (an
// NMI during a double fault's report, say) does not overwrite its frame.
const (
	istDouble    = 1
	istNMI       = 2
	istMachCheck = 3
)

// SetGate points vector v of the IDT (shared by all CPUs) at the entry
// stub at address stub. The double fault, NMI and machine check run on
// their own IST stacks; INT3 may be raised from ring 3.
// Context: boot; does not allocate.
func SetGate(v uint8, stub uintptr) {
	e := &idt[v]
	e.offsetLow = uint16(stub)
	e.selector = SelKernelCode
	e.typeAttr = gateInterrupt
	e.offsetMid = uint16(stub >> 16)
	e.offsetHigh = uint32(stub >> 32)
	switch v {
	case VecDouble:
		e.ist = istDouble
	case VecNMI:
		e.ist = istNMI
	case VecMachCheck:
		e.ist = istMachCheck
	}
	if v == VecBreakpoint {
		e.typeAttr |= gateUser // INT3 from ring 3 (as on Linux: SIGTRAP, and main.main's marker)
	}
}

// LoadIDT loads the IDT register on this CPU.
// Context: boot (the boot CPU, or an AP starting), interrupts off; does not
// allocate.
func LoadIDT() {
	var desc [10]byte
	putPseudoDescriptor(&desc, uintptr(unsafe.Pointer(&idt)), uint16(unsafe.Sizeof(idt)-1))
	cpu.Lidt(uintptr(unsafe.Pointer(&desc)))
}
