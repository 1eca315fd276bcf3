package image

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"unsafe"

	"github.com/gometal/gometal/kernel/mm"
	"github.com/gometal/gometal/tools/symbolize"
)

// The kernel-state table (kernel/mm/kstate.go): the byte ranges of the
// kernel's variables in the image, which the kernel's system calls refuse
// as user memory. The kernel is linked into the program, so its variables
// share the writable sections with the program's; only the symbol table
// tells them apart. WriteKernelState computes the table after the link and
// writes it into the kernel variable KernelStateSymbol; the kernel refuses
// to boot without it (fails closed).

// KernelStateSymbol is the kernel variable that receives the table.
const KernelStateSymbol = KernelPackage + "/vm.kernelState"

// kernelStateRoots are the packages (with everything below them) whose
// variables are kernel state: the code that runs in trap context.
var kernelStateRoots = []string{
	ModulePath + "/boot",
	ModulePath + "/drivers",
	KernelPackage,
	ModulePath + "/sched",
}

// ring3Dir is the directory whose packages are the kernel's goroutines
// and the drivers only they use (docs/kernel-layout.md: trap context
// follows the directory, as kernel/escape_test.go checks): ordinary Go in
// ring 3 that hands its own variables to system calls like any program,
// so they are not kernel state (their state is mostly in the Go heap
// anyway).
const ring3Dir = "/ring3/"

// stateSections are the sections that hold Go's package variables.
var stateSections = []string{".data", ".bss", ".noptrdata", ".noptrbss"}

// dataSymbol is one variable of the image: its symbol name, address and
// size.
type dataSymbol struct {
	name       string
	addr, size uint64
}

// symbolPackage returns the import path of the package that defines the
// Go symbol name ("github.com/gometal/gometal/kernel.threads": the kernel).
func symbolPackage(name string) string {
	name, _, _ = strings.Cut(name, "[") // a generic instantiation's arguments
	slash := strings.LastIndexByte(name, '/')
	dot := strings.IndexByte(name[slash+1:], '.')
	if dot < 0 {
		return ""
	}
	return name[:slash+1+dot]
}

// under reports whether pkg is one of roots or below one.
func under(pkg string, roots []string) bool {
	for _, r := range roots {
		if pkg == r || strings.HasPrefix(pkg, r+"/") {
			return true
		}
	}
	return false
}

// isKernelState reports whether the variable named name is kernel state.
func isKernelState(name string) bool {
	p := symbolPackage(name)
	return under(p, kernelStateRoots) && !strings.Contains(p+"/", ring3Dir)
}

// kernelStateRanges returns the table's ranges for the image's variables
// syms: those of kernel-state packages, sorted, with ranges that overlap or
// touch merged. Ranges separated by any gap stay apart, since the gap may
// hold a program variable the symbol table does not list (the compiler's
// static temporaries are not in it).
func kernelStateRanges(syms []dataSymbol) []mm.StateRange {
	var rs []mm.StateRange
	for _, s := range syms {
		if s.size > 0 && isKernelState(s.name) {
			rs = append(rs, mm.StateRange{Start: s.addr, End: s.addr + s.size})
		}
	}
	slices.SortFunc(rs, func(a, b mm.StateRange) int {
		if a.Start != b.Start {
			return cmpUint64(a.Start, b.Start)
		}
		return cmpUint64(a.End, b.End)
	})
	var out []mm.StateRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.Start <= out[n-1].End {
			out[n-1].End = max(out[n-1].End, r.End)
			continue
		}
		out = append(out, r)
	}
	return out
}

// cmpUint64 orders a and b.
func cmpUint64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// dataSymbols returns the variables of f that lie in stateSections.
func dataSymbols(f *elf.File) ([]dataSymbol, error) {
	syms, err := f.Symbols()
	if errors.Is(err, elf.ErrNoSymbols) {
		return nil, errors.New("the image has no symbol table (linked with -ldflags=-s?): the kernel-state table needs it to tell the kernel's variables from the program's")
	}
	if err != nil {
		return nil, err
	}
	var out []dataSymbol
	for _, s := range syms {
		if int(s.Section) >= len(f.Sections) || !slices.Contains(stateSections, f.Sections[s.Section].Name) {
			continue
		}
		if t := elf.ST_TYPE(s.Info); t == elf.STT_SECTION || t == elf.STT_FILE {
			continue
		}
		out = append(out, dataSymbol{s.Name, s.Value, s.Size})
	}
	return out, nil
}

// KernelStateRanges returns the kernel-state table of the ELF at path, from
// the symbol table of its debug file when there is one.
func KernelStateRanges(path string) ([]mm.StateRange, error) {
	f, err := elf.Open(symbolize.DebugFile(path))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	syms, err := dataSymbols(f)
	if err != nil {
		return nil, err
	}
	return kernelStateRanges(syms), nil
}

// WriteKernelState computes the kernel-state table of the image at path
// and writes it into the kernel's KernelStateSymbol, with its count and
// check word (mm.StateCheck). It fails when the image has no symbol table
// or no such variable, or needs more than mm.StateMax ranges.
func WriteKernelState(path string) error {
	rs, err := KernelStateRanges(path)
	if err != nil {
		return fmt.Errorf("kernel-state table: %w", err)
	}
	if len(rs) > mm.StateMax {
		return fmt.Errorf("kernel-state table: %d ranges, more than the kernel's mm.StateMax (%d)", len(rs), mm.StateMax)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	off, err := kernelStateOffset(path, data)
	if err != nil {
		return err
	}
	putKernelState(data[off:off+int(unsafe.Sizeof(mm.StateTable{}))], rs)
	return os.WriteFile(path, data, 0o755)
}

// putKernelState encodes the table of rs into b, the file bytes of the
// kernel's mm.StateTable variable, zeroing the unused ranges.
func putKernelState(b []byte, rs []mm.StateRange) {
	clear(b[8:])
	le.PutUint64(b[8:], uint64(len(rs)))
	le.PutUint64(b[16:], mm.StateCheck(rs))
	for i, r := range rs {
		le.PutUint64(b[24+16*i:], r.Start)
		le.PutUint64(b[32+16*i:], r.End)
	}
}

// kernelStateOffset returns the file offset of KernelStateSymbol in data,
// the image at path, after checking its size and magic.
func kernelStateOffset(path string, data []byte) (int, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return 0, err
	}
	symFile := f
	if dbg := symbolize.DebugFile(path); dbg != path {
		if symFile, err = elf.Open(dbg); err != nil {
			return 0, err
		}
		defer symFile.Close()
	}
	syms, err := symFile.Symbols()
	if err != nil {
		return 0, err
	}
	i := slices.IndexFunc(syms, func(s elf.Symbol) bool { return s.Name == KernelStateSymbol })
	if i < 0 {
		return 0, fmt.Errorf("no %s in the image", KernelStateSymbol)
	}
	addr, size := syms[i].Value, syms[i].Size
	want := uint64(unsafe.Sizeof(mm.StateTable{}))
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr+want <= p.Vaddr+p.Filesz {
			off := int(p.Off + addr - p.Vaddr)
			if size != want || le.Uint64(data[off:]) != mm.StateMagic {
				return 0, fmt.Errorf("%s: wrong magic or size: kernel and tool disagree", KernelStateSymbol)
			}
			return off, nil
		}
	}
	return 0, fmt.Errorf("%s is not in the file's data", KernelStateSymbol)
}
