package trapcheck

// Config says where trap context starts and what it may do.
type Config struct {
	// Roots are the trap-context entry points.
	Roots []Root
	// Indirect lists the functions allowed to call through a register or
	// memory; any other indirect call or jump fails the check.
	Indirect []IndirectRule
	// StackLimit is the most stack, in bytes, a root may need; 0 means
	// no limit.
	StackLimit int64
	// Ring3 lists the symbols (a final "*" matching any suffix) of code
	// that runs only in ring 3, as the kernel's goroutines: reaching it
	// from a root is a violation, whatever it does.
	Ring3 []string
}

// Root is one entry point into trap context.
type Root struct {
	// Name is the symbol: a Go function (pkg/path.Func) or an assembly
	// one; for a Go-declared assembly function the ABI0 body NAME.abi0 is
	// checked too.
	Name string
	// Entry is how many bytes are already on the stack when the root is
	// entered (a trap frame the CPU pushed, say).
	Entry int64
	// Optional roots may be missing from the image.
	Optional bool
}

// IndirectRule allows the indirect calls and jumps in one function.
type IndirectRule struct {
	// Caller is the symbol name of the function that makes the calls.
	Caller string
	// Targets are what the calls can reach: symbol names, a final "*"
	// matching any suffix. Each matching function is checked as if
	// called directly from the call site. Empty, with no Table either,
	// means the targets are trusted without checking (say why in Reason).
	Targets []string
	// Table, if set, is the symbol of a statically initialized variable
	// (an array of structs, say) whose Go function values are the
	// targets: every function a word of the table points to through its
	// funcval is checked as if called directly. The checker reads the
	// table out of the image, so the rule cannot drift from the code.
	Table string
	// Reason documents the rule.
	Reason string
}

// The kernel's stack layout (kernel/percpu/percpu.go): a 64 KiB per-CPU stack
// whose stand-in g puts the stack guard 8 KiB above the bottom.
const (
	pciPkg         = "github.com/gometal/gometal/drivers/pci."
	KernelStack    = 64 << 10
	KernelGuard    = 8 << 10
	kernelPkg      = "github.com/gometal/gometal/kernel."
	bootPkg        = "github.com/gometal/gometal/boot."
	ring3Pkgs      = "github.com/gometal/gometal/kernel/ring3/*"
	trapFrameBytes = 5*8 + 2*8 // the CPU's interrupt frame, then the stub's error code and vector
)

// Gometal is the policy for images built with the gometal kernel; see
// docs/trap-context.md.
func Gometal() Config {
	return Config{
		Roots: []Root{
			{Name: bootPkg + "entry32"},
			{Name: bootPkg + "entry64"},
			{Name: kernelPkg + "start64"},
			{Name: kernelPkg + "kmain", Entry: 8},
			{Name: kernelPkg + "apEntry64"}, // an AP, on its own kernel stack, from the trampoline
			{Name: kernelPkg + "apMain", Entry: 8},
			{Name: kernelPkg + "syscallEntry"},
			{Name: kernelPkg + "trapEnter", Entry: trapFrameBytes},
			{Name: kernelPkg + "userTrap"},
			{Name: kernelPkg + "kernelTrap"},
		},
		Indirect: []IndirectRule{{
			Caller: kernelPkg + "doSyscall",
			Table:  kernelPkg + "syscallTable",
			Reason: "system calls dispatch through the table of handlers (kernel/systable.go)",
		}, {
			Caller: kernelPkg + "fileTrap",
			Table:  kernelPkg + "fileCalls",
			Reason: "the calls under the files lock alone dispatch through their table (kernel/filetrap.go)",
		},
			pciRule("EnumerateTree"), pciRule("Probe"), pciRule("readBARs"), pciRule("readCaps"),
			pciRule("(*Assigner).Assign"), pciRule("(*Assigner).reserveBridge"), pciRule("(*Assigner).place"), pciRule("decode"),
		},
		StackLimit: KernelStack - KernelGuard,
		// The kernel's goroutines (docs/kernel-layout.md): ordinary Go.
		Ring3: []string{ring3Pkgs},
	}
}

// pciRule allows fn of package drivers/pci its calls through the
// ConfigSpace interface: at boot the kernel lists the PCI functions
// and places the BARs the firmware left unassigned (kernel/pcilist)
// through the ECAM window or the I/O ports, whose
// methods are checked as the targets; the other implementations (the
// kernel goroutines' lazily mapped window, the tests' fakes) are ring 3's.
func pciRule(fn string) IndirectRule {
	return IndirectRule{
		Caller:  pciPkg + fn,
		Targets: []string{pciPkg + "(*ECAM).*", pciPkg + "(*PortIO).*"},
		Reason:  "PCI configuration space through the ECAM window or the ports (kernel/pcilist.go)",
	}
}
