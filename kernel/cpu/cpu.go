// Package cpu wraps the privileged x86-64 instructions the kernel and the
// drivers need: port I/O, MSRs, control registers, descriptor tables, CPUID,
// the time-stamp counter and RDRAND.
//
// Every function here is an assembly leaf (cpu_amd64.s): it does not
// allocate, does not grow the stack and is safe in trap context. Most need
// ring 0; the port I/O ones also work in ring 3 with IOPL 3.
package cpu

// Inb reads a byte from an I/O port.
// Context: boot or trap (ring 3 with IOPL 3 too); does not allocate.
func Inb(port uint16) uint8

// Outb writes a byte to an I/O port.
// Context: boot or trap (ring 3 with IOPL 3 too); does not allocate.
func Outb(port uint16, v uint8)

// Inl reads a 32-bit value from an I/O port.
// Context: any: boot, trap, or a ring-3 kernel goroutine with IOPL 3
// (drivers/pci); does not allocate.
func Inl(port uint16) uint32

// Outl writes a 32-bit value to an I/O port.
// Context: any: boot, trap, or a ring-3 kernel goroutine with IOPL 3
// (drivers/pci); does not allocate.
func Outl(port uint16, v uint32)

// Rdmsr reads a model-specific register.
// Context: ring 0 (boot or trap), interrupts off; does not allocate.
func Rdmsr(msr uint32) uint64

// Wrmsr writes a model-specific register.
// Context: ring 0 (boot or trap), interrupts off; does not allocate.
func Wrmsr(msr uint32, v uint64)

// Cpuid executes CPUID for leaf and subleaf.
// Context: any (the kernel calls it at boot and when an AP starts); does
// not allocate.
func Cpuid(leaf, subleaf uint32) (eax, ebx, ecx, edx uint32)

// Rdtsc reads the time-stamp counter.
// Context: any; does not allocate.
func Rdtsc() uint64

// Rdrand returns a hardware random number; ok is false if the CPU had none
// ready (the caller retries or falls back).
// Context: any (boot and system calls); does not allocate.
func Rdrand() (v uint64, ok bool)

// ReadCR0, ReadCR2, ReadCR3 and ReadCR4 read the control registers;
// ReadCR0 reads CR0. Context: ring 0 (boot or trap), interrupts off; does
// not allocate.
func ReadCR0() uint64

// ReadCR2 reads CR2, the last page-fault address. Context: ring 0 (trap,
// or a kernel panic report), interrupts off; does not allocate.
func ReadCR2() uint64

// ReadCR3 reads CR3, the page-table root. Context: ring 0 (boot or trap),
// interrupts off; does not allocate.
func ReadCR3() uint64

// ReadCR4 reads CR4. Context: ring 0 (boot or trap), interrupts off; does
// not allocate.
func ReadCR4() uint64

// WriteCR0, WriteCR3 and WriteCR4 write the control registers;
// WriteCR0 sets CR0. Context: ring 0 (boot or trap), interrupts off; does
// not allocate.
func WriteCR0(v uint64)

// WriteCR3 loads CR3, switching page tables and flushing the non-global
// TLB entries. Context: ring 0 (boot or trap), interrupts off; does not
// allocate.
func WriteCR3(v uint64)

// WriteCR4 sets CR4. Context: ring 0 (boot or trap), interrupts off; does
// not allocate.
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
// Context: boot (the boot CPU, or an AP starting), interrupts off; does not
// allocate.
func Lgdt(addr uintptr, codeSel, dataSel uint16)

// Lidt loads the IDT register from a 10-byte pseudo-descriptor at addr.
// Context: boot (the boot CPU, or an AP starting), interrupts off; does not
// allocate.
func Lidt(addr uintptr)

// Ltr loads the task register.
// Context: boot (the boot CPU, or an AP starting), interrupts off; does not
// allocate.
func Ltr(sel uint16)

// Invlpg drops the TLB entry for the page holding addr.
// Context: ring 0 (trap), interrupts off; does not allocate.
func Invlpg(addr uintptr)

// Halt enables interrupts, waits for one and disables them again. The
// interrupt's handler runs before Halt returns. Context: ring 0, interrupts
// off on entry and on return.
func Halt()

// HaltOff halts without enabling interrupts: only an NMI, SMI, INIT or
// machine check resumes the CPU. Context: ring 0, interrupts off; does not
// allocate.
func HaltOff()

// DisableInterrupts clears RFLAGS.IF; EnableInterrupts sets it.
// Context: ring 0 (boot or trap; the panic and stop paths); does not
// allocate.
func DisableInterrupts()
func EnableInterrupts()

// CompleteFX completes the FXSAVE area at area (16-byte aligned) whose
// MXCSR and XMM registers a trap entry saved, while the x87 state stayed
// in the registers: it loads MXCSR and the XMM registers from area and
// FXSAVEs everything into it. The XMM registers then hold the area's
// values, and MXCSR too (kernel code runs with the program's MXCSR, as
// after the trap entry). Context: trap, interrupts off; does not allocate.
func CompleteFX(area uintptr)

// SetIOPL3 sets RFLAGS.IOPL to 3 on this CPU. In ring 0 IOPL changes
// nothing the processor checks; the kernel keeps it at 3, the program
// threads' value, in every kernel context (setupCPU; FMASK leaves it as
// the thread had it), because QEMU's TCG keys its translations by IOPL
// too and would otherwise translate the kernel's code twice.
// Context: ring 0; does not allocate.
func SetIOPL3()

// Pause is the spin-wait hint.
// Context: any; does not allocate.
func Pause()

// Outw writes a 16-bit value to an I/O port.
// Context: boot or trap (ring 3 with IOPL 3 too); does not allocate.
func Outw(port uint16, v uint16)

// TripleFault shuts the CPU down by raising an exception with an empty
// IDT, the reset of last resort. Context: ring 0, interrupts off; does not
// return on a real CPU.
func TripleFault()
