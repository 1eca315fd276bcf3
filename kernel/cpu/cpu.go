// Package cpu wraps the privileged x86-64 instructions the kernel and the
// drivers need: port I/O, MSRs, control registers, descriptor tables, CPUID,
// the time-stamp counter and RDRAND.
//
// Every function here is an assembly leaf (cpu_amd64.s): it does not
// allocate, does not grow the stack and is safe in trap context. Most need
// ring 0; the port I/O ones also work in ring 3 with IOPL 3.
package cpu

// Inb reads a byte from an I/O port.
func Inb(port uint16) uint8

// Outb writes a byte to an I/O port.
func Outb(port uint16, v uint8)

// Inl reads a 32-bit value from an I/O port.
func Inl(port uint16) uint32

// Outl writes a 32-bit value to an I/O port.
func Outl(port uint16, v uint32)

// Rdmsr reads a model-specific register.
func Rdmsr(msr uint32) uint64

// Wrmsr writes a model-specific register.
func Wrmsr(msr uint32, v uint64)

// Cpuid executes CPUID for leaf and subleaf.
func Cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// Rdtsc reads the time-stamp counter.
func Rdtsc() uint64

// Rdrand returns a hardware random number; ok is false if the CPU had none
// ready (the caller retries or falls back).
func Rdrand() (v uint64, ok bool)

// ReadCR0, ReadCR2, ReadCR3 and ReadCR4 read control registers.
func ReadCR0() uint64
func ReadCR2() uint64
func ReadCR3() uint64
func ReadCR4() uint64

// WriteCR0, WriteCR3 and WriteCR4 write control registers.
func WriteCR0(v uint64)
func WriteCR3(v uint64)
func WriteCR4(v uint64)

// WriteDR0 and WriteDR7 set the debug registers used for the one-shot
// breakpoint on main.main; ReadDR6 reads the debug status.
func WriteDR0(v uint64)
func WriteDR7(v uint64)
func ReadDR6() uint64
func WriteDR6(v uint64)

// Lgdt loads the GDT register from a 10-byte pseudo-descriptor at addr and
// reloads the segment registers: CS with codeSel, DS/ES/SS with dataSel.
// FS and GS are left alone: loading a selector would reset the bases that
// the kernel set through MSRs.
func Lgdt(addr uintptr, codeSel, dataSel uint16)

// Lidt loads the IDT register from a 10-byte pseudo-descriptor at addr.
func Lidt(addr uintptr)

// Ltr loads the task register.
func Ltr(sel uint16)

// Invlpg drops the TLB entry for the page holding addr.
func Invlpg(addr uintptr)

// Halt enables interrupts, waits for one and disables them again. The
// interrupt's handler runs before Halt returns. Context: ring 0, interrupts
// off on entry and on return.
func Halt()

// DisableInterrupts clears RFLAGS.IF; EnableInterrupts sets it.
func DisableInterrupts()
func EnableInterrupts()

// Pause is the spin-wait hint.
func Pause()

// Outw writes a 16-bit value to an I/O port.
func Outw(port uint16, v uint16)
