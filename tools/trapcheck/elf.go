package trapcheck

import (
	"debug/elf"
	"debug/gosym"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gometal/gometal/tools/symbolize"
)

// elfImage is the part of an image the checker reads: its function symbols
// and the bytes of its loaded sections.
type elfImage struct {
	funcs   []*function // sized STT_FUNC symbols, by address
	byName  map[string]*function
	objects map[string]span // sized STT_OBJECT symbols (variables), by name
	lines   *gosym.Table    // from .gopclntab; nil if absent or unreadable
	sects   []section
}

// function is one function symbol and, once analyzed, its code facts.
type function struct {
	name       string
	start, end uint64
	info       *funcInfo // nil until analyzed
}

// span is the address range [start, end) of a variable.
type span struct{ start, end uint64 }

// section is one allocated section with file contents.
type section struct {
	addr     uint64
	data     []byte
	writable bool
}

// openImage reads the ELF image at path, or its debug file beside it
// (symbolize.DebugFile), which has the symbol table the image lacks.
func openImage(path string) (*elfImage, error) {
	f, err := os.Open(symbolize.DebugFile(path))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readBinary(f)
}

// readBinary reads an ELF image. It needs the symbol table: the linker's
// -s flag strips it, and with it the function sizes.
func readBinary(r io.ReaderAt) (*elfImage, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Machine != elf.EM_X86_64 || f.Class != elf.ELFCLASS64 {
		return nil, errors.New("not an x86-64 ELF64 image")
	}
	syms, err := f.Symbols()
	if err != nil {
		return nil, fmt.Errorf("no symbol table (was the image linked with -s?): %w", err)
	}
	b := &elfImage{byName: map[string]*function{}, objects: map[string]span{}}
	for _, s := range syms {
		if s.Size == 0 || s.Section == elf.SHN_UNDEF {
			continue
		}
		if elf.ST_TYPE(s.Info) == elf.STT_OBJECT {
			b.objects[s.Name] = span{s.Value, s.Value + s.Size}
		}
		if elf.ST_TYPE(s.Info) != elf.STT_FUNC {
			continue
		}
		fn := &function{name: s.Name, start: s.Value, end: s.Value + s.Size}
		b.funcs = append(b.funcs, fn)
		if _, dup := b.byName[s.Name]; !dup || elf.ST_BIND(s.Info) == elf.STB_GLOBAL {
			b.byName[s.Name] = fn
		}
	}
	sort.Slice(b.funcs, func(i, j int) bool { return b.funcs[i].start < b.funcs[j].start })
	for _, s := range f.Sections {
		if s.Flags&elf.SHF_ALLOC == 0 || s.Type == elf.SHT_NOBITS || s.Size == 0 {
			continue
		}
		data, err := s.Data()
		if err != nil {
			return nil, fmt.Errorf("section %s: %w", s.Name, err)
		}
		b.sects = append(b.sects, section{addr: s.Addr, data: data, writable: s.Flags&elf.SHF_WRITE != 0})
	}
	if s := f.Section(".gopclntab"); s != nil {
		if data, err := s.Data(); err == nil {
			if text := f.Section(".text"); text != nil {
				b.lines = symbolize.LineTable(data, text.Addr)
			}
		}
	}
	if len(b.funcs) == 0 {
		return nil, errors.New("no function symbols")
	}
	return b, nil
}

// funcAt returns the function that contains addr, or nil.
func (b *elfImage) funcAt(addr uint64) *function {
	i := sort.Search(len(b.funcs), func(i int) bool { return b.funcs[i].start > addr }) - 1
	if i >= 0 && addr < b.funcs[i].end {
		return b.funcs[i]
	}
	return nil
}

// read returns n bytes at addr, or nil if they are not all in one section.
func (b *elfImage) read(addr, n uint64) []byte {
	return b.readIn(addr, n, true)
}

// readConst is read for read-only sections: data no code can change.
func (b *elfImage) readConst(addr, n uint64) []byte {
	return b.readIn(addr, n, false)
}

func (b *elfImage) readIn(addr, n uint64, writable bool) []byte {
	for _, s := range b.sects {
		if s.writable && !writable {
			continue
		}
		if addr >= s.addr && addr-s.addr <= uint64(len(s.data)) && n <= uint64(len(s.data))-(addr-s.addr) {
			off := addr - s.addr
			return s.data[off : off+n]
		}
	}
	return nil
}

// code returns fn's machine code.
func (b *elfImage) code(fn *function) []byte {
	return b.read(fn.start, fn.end-fn.start)
}

// lookup resolves a root name: the symbol itself and, for a function
// declared in Go and written in assembly, its ABI0 body NAME.abi0 (the
// plain name is then the ABIInternal wrapper that calls it).
func (b *elfImage) lookup(name string) []*function {
	var out []*function
	for _, n := range []string{name, name + ".abi0"} {
		if fn, ok := b.byName[n]; ok {
			out = append(out, fn)
		}
	}
	if strings.HasSuffix(name, ".abi0") {
		return out[:min(len(out), 1)]
	}
	return out
}

// pos returns "file.go:line" for pc, or "".
func (b *elfImage) pos(pc uint64) string {
	if b.lines == nil || pc == 0 {
		return ""
	}
	file, line, _ := symbolize.PCToLine(b.lines, pc)
	if file == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", filepath.Base(file), line)
}

// tableFuncs returns the functions that the statically initialized
// variable name holds as Go function values: each aligned word of its
// initial contents that points to read-only data whose first word is a
// function's entry address (a funcval). It fails if the variable is not
// in the image or holds no function value.
func (b *elfImage) tableFuncs(name string) ([]*function, error) {
	sp, ok := b.objects[name]
	if !ok {
		return nil, fmt.Errorf("table %s: no such variable in the image", name)
	}
	data := b.read(sp.start, sp.end-sp.start)
	if data == nil {
		return nil, fmt.Errorf("table %s: no initial contents in the image", name)
	}
	seen := map[*function]bool{}
	var out []*function
	for off := 0; off+8 <= len(data); off += 8 {
		fv := b.readConst(binary.LittleEndian.Uint64(data[off:]), 8)
		if fv == nil {
			continue
		}
		code := binary.LittleEndian.Uint64(fv)
		if fn := b.funcAt(code); fn != nil && fn.start == code && !seen[fn] {
			seen[fn] = true
			out = append(out, fn)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("table %s: holds no function value", name)
	}
	return out, nil
}
