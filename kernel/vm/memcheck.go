package vm

import (
	"github.com/gometal/gometal/kernel/abi"
	"github.com/gometal/gometal/kernel/klog"
	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/kernel/percpu"
)

// ExitNoMemory is the status the kernel exits with when the machine has
// too little memory to start the program: 2, as the Go runtime's own
// "fatal error: out of memory".
const ExitNoMemory = 2

// CheckProgramMemory reports whether the program can start: it prints one
// log line and returns false when the commit limit is below what the Go
// runtime needs on percpu.NOnline CPUs (abi.ProgramMemory), where the
// runtime would die of "out of memory" with a stack trace before main,
// or worse. The line says how much memory to boot with instead; the
// caller then stops the machine with ExitNoMemory, once the log has
// reached the host. Call it after SetCommitLimit.
// Context: boot; does not allocate.
func CheckProgramMemory() bool {
	need := abi.ProgramMemory(percpu.NOnline)
	if CommitLimit >= need {
		return true
	}
	suggest := suggestMiB(RAMTop, need-CommitLimit)
	// No less than the host tools' rule asks for (with very little RAM
	// the kernel leaves some of its own allocations out).
	var modules uint64
	for _, m := range Modules() {
		modules += mm.PageRoundUp(m.Size)
	}
	suggest = max(suggest, abi.MinMemory(uint64(ImageEnd), modules, percpu.NOnline)>>20)
	var l klog.Line
	l.S("not enough memory: ").U(CommitLimit >> 10).S(" KiB left for the program, the Go runtime needs ").U(need >> 10)
	l.S(" KiB on ").U(uint64(percpu.NOnline)).S(" CPU")
	if percpu.NOnline != 1 {
		l.S("s")
	}
	l.S("; boot with at least ").U(suggest).S(" MiB (-m ").U(suggest).S("M)").Print()
	return false
}

// suggestMiB returns the memory, in MiB, to suggest to a machine whose
// RAM ends at ramTop and whose commit limit is short bytes below the
// program's need. Each added MiB of RAM raises the limit by a bit less
// (the page-table reserve is 1/256 of it): it asks for 1/128 more. The
// machine's -m is at least ramTop rounded up to a whole MiB (firmware
// keeps some of the top, SeaBIOS 128 KiB): it starts from there, so that
// the suggestion is always more than what just failed.
// Context: any; does not allocate.
func suggestMiB(ramTop, short uint64) uint64 {
	const mib = 1 << 20
	return ((ramTop+mib-1)&^(mib-1) + short + short/128 + mib - 1) >> 20
}
