package symbolize

import (
	"bytes"
	"debug/elf"
	"debug/gosym"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
)

// Image is an image ELF opened for symbolization.
type Image struct {
	text     []byte // contents of .text
	textAddr uint64
	table    *gosym.Table // from .gopclntab; nil if the image has none
	syms     []elf.Symbol // sized function and object symbols, by address
}

// Frame is what an address resolves to.
type Frame struct {
	PC    uint64
	Func  string // function name, "" if unknown
	Entry uint64 // the function's first instruction
	End   uint64 // just past the function's last byte, 0 if unknown
	File  string // source file, "" if unknown
	Line  int
}

// String formats the frame as "function+0xoff file:line".
func (f Frame) String() string {
	if f.Func == "" {
		return "?"
	}
	s := fmt.Sprintf("%s+%#x", f.Func, f.PC-f.Entry)
	if f.File != "" {
		s += fmt.Sprintf(" %s:%d", f.File, f.Line)
	}
	return s
}

// shortPos is "file.go:line" with only the file's base name.
func (f Frame) shortPos() string {
	if f.File == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d", filepath.Base(f.File), f.Line)
}

// OpenImage reads and opens the image ELF at path, or its debug file
// beside it (DebugFile) when there is one.
func OpenImage(path string) (*Image, error) {
	b, err := ReadDebug(path)
	if err != nil {
		return nil, err
	}
	im, err := NewImage(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return im, nil
}

// NewImage opens an image ELF held in memory.
func NewImage(data []byte) (*Image, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	text := f.Section(".text")
	if text == nil || text.Type == elf.SHT_NOBITS {
		return nil, errors.New("image has no .text section")
	}
	im := &Image{textAddr: text.Addr}
	if im.text, err = text.Data(); err != nil {
		return nil, fmt.Errorf("reading .text: %w", err)
	}
	if pcln := f.Section(".gopclntab"); pcln != nil {
		if data, err := pcln.Data(); err == nil {
			im.table = LineTable(data, text.Addr)
		}
	}
	syms, _ := f.Symbols() // an image linked with -s has none
	for _, s := range syms {
		typ := elf.ST_TYPE(s.Info)
		if s.Size > 0 && (typ == elf.STT_FUNC || typ == elf.STT_OBJECT) {
			im.syms = append(im.syms, s)
		}
	}
	sort.Slice(im.syms, func(i, j int) bool { return im.syms[i].Value < im.syms[j].Value })
	if im.table == nil && len(im.syms) == 0 {
		return nil, errors.New("image has neither .gopclntab nor a symbol table")
	}
	return im, nil
}

// InText reports whether pc falls inside the image's .text.
func (im *Image) InText(pc uint64) bool {
	return pc >= im.textAddr && pc-im.textAddr < uint64(len(im.text))
}

// Lookup resolves a text address to its function and source position.
func (im *Image) Lookup(pc uint64) (Frame, bool) {
	fr := Frame{PC: pc}
	if !im.InText(pc) {
		return fr, false
	}
	if im.table != nil {
		if file, line, fn := PCToLine(im.table, pc); fn != nil {
			fr.Func, fr.Entry, fr.End, fr.File, fr.Line = fn.Name, fn.Entry, fn.End, file, line
			return fr, true
		}
	}
	if s, ok := im.symbolAt(pc); ok {
		fr.Func, fr.Entry, fr.End = s.Name, s.Value, s.Value+s.Size
		return fr, true
	}
	return fr, false
}

// symbolAt returns the sized ELF symbol that contains addr.
func (im *Image) symbolAt(addr uint64) (elf.Symbol, bool) {
	i := sort.Search(len(im.syms), func(i int) bool { return im.syms[i].Value > addr }) - 1
	if i >= 0 && addr-im.syms[i].Value < im.syms[i].Size {
		return im.syms[i], true
	}
	return elf.Symbol{}, false
}

// symName names the symbol containing addr, for x86asm.GoSyntax.
func (im *Image) symName(addr uint64) (string, uint64) {
	if fr, ok := im.Lookup(addr); ok {
		return fr.Func, fr.Entry
	}
	if s, ok := im.symbolAt(addr); ok {
		return s.Name, s.Value
	}
	return "", 0
}

// bytesAt returns up to n bytes of text starting at pc.
func (im *Image) bytesAt(pc uint64, n int) []byte {
	if !im.InText(pc) {
		return nil
	}
	off := pc - im.textAddr
	return im.text[off:min(uint64(len(im.text)), off+uint64(n))]
}

// LineTable parses a .gopclntab, or returns nil if it does not parse.
// debug/gosym trusts its input, so a corrupt table must not crash its
// caller (the symbolizer here, tools/trapcheck).
func LineTable(pclntab []byte, textAddr uint64) (t *gosym.Table) {
	defer func() {
		if recover() != nil {
			t = nil
		}
	}()
	t, err := gosym.NewTable(nil, gosym.NewLineTable(pclntab, textAddr))
	if err != nil {
		return nil
	}
	return t
}

// PCToLine is t.PCToLine that survives a corrupt table.
func PCToLine(t *gosym.Table, pc uint64) (file string, line int, fn *gosym.Func) {
	defer func() {
		if recover() != nil {
			file, line, fn = "", 0, nil
		}
	}()
	return t.PCToLine(pc)
}
