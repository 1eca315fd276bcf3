package vm

import (
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/x86"
)

// Fault-tolerant accesses to the program's memory (issue 18).
//
// The kernel reaches the program's memory with plain loads and stores
// after checking the range under the kernel lock (UserRange faults pages
// in). Code that runs without the lock cannot rely on that check staying
// true: another CPU may unmap or protect the page in between. The
// routines here make the access itself safe instead: each instruction
// that may fault is listed in an exception table (faulting PC, resume PC,
// kind), and a page fault in ring 0 at one of those PCs on a user address
// does not end in a kernel panic: the trap handler (package kernel's
// kernelTrap, through FixUserFault) resumes the routine with the failure
// marked, and the caller decides (the locked path, or EFAULT). The
// handler never faults anything in (it takes no lock): a fault always
// fails the access.
//
// The faulting instructions are in usercopy_amd64.s, each the first
// instruction of its own symbol, so the table needs no instruction
// lengths: the faulting PC is the symbol's address, and every entry
// resumes at userFixupRet, a RET that returns to the wrapper.

// FixupKind says how a faulting access reports its failure to its wrapper.
type FixupKind uint8

// The kinds of fixup.
const (
	// FixupLeft: a copy (REP MOVSB) already holds the count of bytes it
	// did not copy in CX; nothing else to set.
	FixupLeft FixupKind = iota + 1
	// FixupFlag: a single load or store; the handler sets CX to 1, which
	// the wrapper (that cleared CX before the access) reads as a fault.
	FixupFlag
)

// FixupEntry is one faulting instruction of the table: its PC, where it
// resumes after a fault, and how it reports the fault.
type FixupEntry struct {
	PC, Resume uintptr
	Kind       FixupKind
}

// The access routines, in accessPCs' order.
const (
	accMovs = iota
	accLoad32
	accLoad64
	accStore32
	accStore64
	accResume  // userFixupRet, not an access
	nAccessPCs // entries accessPCs fills
	nFixups    = accResume
)

// fixupFaulty is CX after a FixupFlag fault.
const fixupFaulty = 1

// FixupTable is the exception table: one entry per faulting instruction.
type FixupTable [nFixups]FixupEntry

// Lookup returns the resume PC and the kind of the entry for pc.
// Context: trap, any lock or none; does not allocate.
func (t *FixupTable) Lookup(pc uintptr) (resume uintptr, kind FixupKind, ok bool) {
	for i := range t {
		if e := &t[i]; e.PC == pc && e.PC != 0 {
			return e.Resume, e.Kind, true
		}
	}
	return 0, 0, false
}

// userAccessTable builds the table of this image's access routines. It
// is built when asked (a fault in ring 0 is rare) rather than at boot, so
// it is right from the first instruction on, in every CPU.
// Context: trap, any lock or none; does not allocate.
func userAccessTable() FixupTable {
	var pcs [nAccessPCs]uintptr
	accessPCs(&pcs)
	var t FixupTable
	for i := range t {
		t[i] = FixupEntry{PC: pcs[i], Resume: pcs[accResume], Kind: FixupFlag}
	}
	t[accMovs].Kind = FixupLeft
	return t
}

// Fixup returns where a ring-0 fault at pc resumes and how the access
// reports it, if pc is one of the access routines' faulting instructions.
// Context: trap, any lock or none; does not allocate.
func Fixup(pc uintptr) (resume uintptr, kind FixupKind, ok bool) {
	t := userAccessTable()
	return t.Lookup(pc)
}

// FixUserFault handles a page fault taken in ring 0 at f.RIP on addr
// (CR2): if the faulting instruction is one of the access routines' and
// addr is a user address, it moves f to the resume PC with the failure
// marked and reports true; the caller counts it and returns from the
// trap. Any other fault is left alone (false): it is the kernel's own, and
// ends in a panic report. Nothing is faulted in.
// Context: trap (kernelTrap), any lock or none; does not allocate.
func FixUserFault(f *x86.TrapFrame, addr uintptr) bool {
	if addr >= UserTop {
		return false
	}
	resume, kind, ok := Fixup(uintptr(f.RIP))
	if !ok {
		return false
	}
	f.RIP = uint64(resume)
	if kind == FixupFlag {
		f.CX = fixupFaulty
	}
	return true
}

// Declarations of usercopy_amd64.s. Each runs the access at most once and
// never faults anything in; the address must be canonical (below UserTop),
// as a non-canonical one raises #GP, which is not fixed up.

// copyUser copies n bytes from src to dst, either of which may be the
// program's memory, and returns how many were left when a page fault
// stopped it (0: all copied). Context: trap, any lock or none; does not
// allocate.
//
//go:noescape
func copyUser(dst, src, n uintptr) (left uintptr)

// load32User loads the aligned 32-bit word at addr in one access; ok is
// false if it faulted. Context: trap, any lock or none; does not allocate.
func load32User(addr uintptr) (v uint32, ok bool)

// load64User loads the aligned 64-bit word at addr in one access; ok is
// false if it faulted. Context: trap, any lock or none; does not allocate.
func load64User(addr uintptr) (v uint64, ok bool)

// store32User stores v at the aligned 32-bit word at addr in one access;
// it reports false if it faulted. Context: trap, any lock or none; does
// not allocate.
func store32User(addr uintptr, v uint32) (ok bool)

// store64User stores v at the aligned 64-bit word at addr in one access;
// it reports false if it faulted. Context: trap, any lock or none; does
// not allocate.
func store64User(addr uintptr, v uint64) (ok bool)

// accessPCs fills pcs with the access routines' addresses, in the order
// of accMovs..accResume. Context: trap, any lock or none; does not
// allocate.
//
//go:noescape
func accessPCs(pcs *[nAccessPCs]uintptr)

// CopyToUser copies src to addr with copyUser and returns how many bytes
// it copied: fewer than len(src) if a page fault stopped it. The caller
// must have checked the range (below UserTop, not kernel state) and the
// permission of any page already mapped (MayAccessLockFree): the kernel's
// stores succeed on supervisor pages. Context: trap, any lock or none;
// does not allocate.
func CopyToUser(addr uintptr, src []byte) int {
	if len(src) == 0 {
		return 0
	}
	return len(src) - int(copyUser(addr, addressOf(src), uintptr(len(src))))
}

// CopyFromUser copies len(dst) bytes from addr into dst and returns how
// many it copied; see CopyToUser. Context: trap, any lock or none; does
// not allocate.
func CopyFromUser(dst []byte, addr uintptr) int {
	if len(dst) == 0 {
		return 0
	}
	return len(dst) - int(copyUser(addressOf(dst), addr, uintptr(len(dst))))
}

// Store64 writes v to the aligned 64-bit word at addr in one access, which
// fails (false) instead of panicking if the page is not mapped. The
// caller must have checked the address as for CopyToUser.
// Context: trap, any lock or none; does not allocate.
func Store64(addr uintptr, v uint64) bool { return store64User(addr, v) }

// Load32 reads the aligned 32-bit word at addr of the program's memory in
// one access, for a lock-free caller: it fails (false) instead of
// panicking if the page is not mapped. The caller must have checked the
// address (MayAccessLockFree). Context: trap, any lock or none; does not
// allocate.
func Load32(addr uintptr) (uint32, bool) { return load32User(addr) }

// Load64 is Load32 for the aligned 64-bit word at addr. Context: trap,
// any lock or none; does not allocate.
func Load64(addr uintptr) (uint64, bool) { return load64User(addr) }

// ReadLockFree copies len(dst) bytes of the program's memory at addr into
// dst without any lock, for a system call answered on a lock-free path:
// it reports false (dst partly written, perhaps) when the range is not
// all in the user half past the first page, overlaps kernel state, or
// has a page that is mapped but not the program's to read (PROT_NONE) or
// not mapped at all (nothing is faulted in: the locked path decides).
// Context: trap, any lock or none; does not allocate.
func ReadLockFree(dst []byte, addr uintptr) bool {
	return lockFreeRange(addr, uintptr(len(dst)), false) && CopyFromUser(dst, addr) == len(dst)
}

// WriteLockFree is ReadLockFree for a store of src at addr: it reports
// false (the range partly written, perhaps) where ReadLockFree would, or
// when a page is mapped read-only. Context: trap, any lock or none; does
// not allocate.
func WriteLockFree(addr uintptr, src []byte) bool {
	return lockFreeRange(addr, uintptr(len(src)), true) && CopyToUser(addr, src) == len(src)
}

// lockFreeRange reports whether [addr, addr+n) may be accessed without a
// lock (a store if write is set): every page in it passes
// MayAccessLockFree, and no byte of it is kernel state.
// Context: trap, any lock or none; does not allocate.
func lockFreeRange(addr, n uintptr, write bool) bool {
	end := addr + n
	if n == 0 || end < addr || end > UserTop || addr < 0x1000 || IsKernelState(addr, n, write) {
		return n == 0
	}
	for p := addr &^ (mm.PageSize - 1); p < end; p += mm.PageSize {
		if !MayAccessLockFree(max(p, addr), write) {
			return false
		}
	}
	return true
}
