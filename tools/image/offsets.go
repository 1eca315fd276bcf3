package image

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/gometal/gometal/tools/symbolize"
	"io"
	"os"
	"reflect"
	"strconv"
	"strings"
)

// The Go runtime's data layout, handed to the kernel so that its timer
// interrupt can ask for a goroutine's preemption the way the runtime's own
// preemptone does (kernel/timeslice/slice.go). The offsets come from the image's
// DWARF, written into the kernel variable RuntimeOffsetsSymbol after the
// link; the kernel checks them at boot and against what it reads of the
// running runtime (kernel/timeslice/layout.go), and falls back to the runtime's
// sysmon when anything disagrees. An image without usable DWARF gets no
// offsets: Build warns, and the kernel leaves preemption to sysmon.

// RuntimeOffsetsSymbol is the kernel variable that receives the offsets.
const RuntimeOffsetsSymbol = "github.com/gometal/gometal/kernel/timeslice.rtOffsets"

// runtimeOffsetsMagic marks the variable (kernel/timeslice/layout.go,
// "gometal2"); it changes whenever the list of fields does.
const runtimeOffsetsMagic = 0x326c6174656d6f67

// ErrUnknownLayout means the image's DWARF does not describe the runtime
// layout the kernel needs: the image was linked without DWARF
// (-ldflags=-w or -s), or the runtime renamed, dropped or resized a field.
// Build then warns and leaves the kernel's copy invalid, so the kernel
// leaves preemption to the runtime's sysmon.
var ErrUnknownLayout = errors.New("runtime layout unknown")

// RuntimeOffsets are the sizes of runtime.g, m and p and the byte offsets
// of the fields the kernel reads or writes, in the order of the kernel's
// runtimeOffsets fields after magic and valid. Each field's tag names what
// it holds in the DWARF: a struct (its size) or a member (its offset) and
// the size the kernel assumes for the member's type.
type RuntimeOffsets struct {
	GSize uint64 `layout:"runtime.g"`
	MSize uint64 `layout:"runtime.m"`
	PSize uint64 `layout:"runtime.p"`

	GStackguard0 uint64 `layout:"runtime.g.stackguard0 8"`
	GM           uint64 `layout:"runtime.g.m 8"`
	GPreempt     uint64 `layout:"runtime.g.preempt 1"`
	GStatus      uint64 `layout:"runtime.g.atomicstatus 4"` // its value's

	MG0         uint64 `layout:"runtime.m.g0 8"`
	MCurg       uint64 `layout:"runtime.m.curg 8"`
	MP          uint64 `layout:"runtime.m.p 8"`
	MGsignal    uint64 `layout:"runtime.m.gsignal 8"`
	MLocks      uint64 `layout:"runtime.m.locks 4"`
	MMallocing  uint64 `layout:"runtime.m.mallocing 4"`
	MPreemptoff uint64 `layout:"runtime.m.preemptoff 16"` // a string
	MIncgo      uint64 `layout:"runtime.m.incgo 1"`

	PStatus    uint64 `layout:"runtime.p.status 4"`
	PSchedtick uint64 `layout:"runtime.p.schedtick 4"`
	PM         uint64 `layout:"runtime.p.m 8"`
	PPreempt   uint64 `layout:"runtime.p.preempt 1"`
}

// layoutField names one value of RuntimeOffsets in the DWARF: a struct
// ("runtime.g": its size) or a member ("runtime.g.preempt": its offset),
// with the size the kernel assumes for the member's type (0 for structs).
type layoutField struct {
	name string
	size int64
}

// runtimeLayout lists RuntimeOffsets' values in order, from its tags.
var runtimeLayout = func() []layoutField {
	t := reflect.TypeFor[RuntimeOffsets]()
	fs := make([]layoutField, t.NumField())
	for i := range fs {
		name, size, _ := strings.Cut(t.Field(i).Tag.Get("layout"), " ")
		fs[i].name = name
		if size != "" {
			n, err := strconv.ParseInt(size, 10, 64)
			if err != nil {
				panic("RuntimeOffsets." + t.Field(i).Name + ": bad layout tag")
			}
			fs[i].size = n
		}
	}
	return fs
}()

// words points at o's values in order.
func (o *RuntimeOffsets) words() []*uint64 {
	v := reflect.ValueOf(o).Elem()
	ps := make([]*uint64, v.NumField())
	for i := range ps {
		ps[i] = v.Field(i).Addr().Interface().(*uint64)
	}
	return ps
}

// Words returns o's values in the order the kernel stores them.
func (o RuntimeOffsets) Words() []uint64 {
	var w []uint64
	for _, p := range o.words() {
		w = append(w, *p)
	}
	return w
}

// ReadRuntimeOffsets reads the offsets from the DWARF of the ELF at path
// (of its debug file beside it, symbolize.DebugFile, when there is one).
// An error wrapping ErrUnknownLayout means the DWARF is missing or does
// not describe the layout; other errors are I/O or ELF errors.
func ReadRuntimeOffsets(path string) (RuntimeOffsets, error) {
	f, err := elf.Open(symbolize.DebugFile(path))
	if err != nil {
		return RuntimeOffsets{}, err
	}
	defer f.Close()
	if f.Section(".debug_info") == nil && f.Section(".zdebug_info") == nil {
		return RuntimeOffsets{}, fmt.Errorf("%w: the image has no DWARF (linked with -ldflags=-w or -s?)", ErrUnknownLayout)
	}
	d, err := f.DWARF()
	if err != nil {
		return RuntimeOffsets{}, fmt.Errorf("%w: unreadable DWARF: %v", ErrUnknownLayout, err)
	}
	vals, err := readLayout(d, runtimeLayout)
	if err != nil {
		return RuntimeOffsets{}, err
	}
	var o RuntimeOffsets
	for i, p := range o.words() {
		*p = vals[i]
	}
	return o, nil
}

// readLayout looks up each field of want in d: a struct's size or a
// member's offset, checking the member's size.
func readLayout(d *dwarf.Data, want []layoutField) ([]uint64, error) {
	structs := map[string]*dwarf.StructType{}
	for _, f := range want {
		s, _, _ := cutLast(f.name)
		if f.size == 0 {
			s = f.name
		}
		structs[s] = nil
	}
	r := d.Reader()
	for left := len(structs); left > 0; {
		e, err := r.Next()
		if err != nil {
			return nil, fmt.Errorf("%w: reading DWARF: %v", ErrUnknownLayout, err)
		}
		if e == nil {
			break
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		if st, ok := structs[name]; !ok || st != nil || e.Tag != dwarf.TagStructType {
			if e.Children && e.Tag != dwarf.TagCompileUnit {
				r.SkipChildren()
			}
			continue
		}
		t, err := d.Type(e.Offset)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrUnknownLayout, name, err)
		}
		st, ok := t.(*dwarf.StructType)
		if !ok || st.Incomplete {
			continue
		}
		structs[name] = st
		left--
		if e.Children {
			r.SkipChildren()
		}
	}
	vals := make([]uint64, len(want))
	for i, f := range want {
		if f.size == 0 {
			st := structs[f.name]
			if st == nil {
				return nil, fmt.Errorf("%w: %s not found in DWARF", ErrUnknownLayout, f.name)
			}
			vals[i] = uint64(st.ByteSize)
			continue
		}
		s, member, _ := cutLast(f.name)
		st := structs[s]
		if st == nil {
			return nil, fmt.Errorf("%w: %s not found in DWARF", ErrUnknownLayout, s)
		}
		found := false
		for _, m := range st.Field {
			if m.Name != member {
				continue
			}
			if size := m.Type.Size(); size != f.size {
				return nil, fmt.Errorf("%w: %s is %d bytes, the kernel expects %d", ErrUnknownLayout, f.name, size, f.size)
			}
			vals[i], found = uint64(m.ByteOffset), true
		}
		if !found {
			return nil, fmt.Errorf("%w: %s not found in DWARF", ErrUnknownLayout, f.name)
		}
	}
	return vals, nil
}

// cutLast splits "runtime.g.preempt" into "runtime.g" and "preempt".
func cutLast(name string) (before, after string, ok bool) {
	i := strings.LastIndexByte(name, '.')
	if i < 0 {
		return name, "", false
	}
	return name[:i], name[i+1:], true
}

// fillRuntimeOffsets writes the runtime layout from the DWARF of the image
// at path into its kernel. When the DWARF does not describe the layout, it
// warns on w and leaves the kernel's copy invalid: the kernel then logs one
// line and leaves preemption to the runtime's sysmon.
func fillRuntimeOffsets(path string, w io.Writer) error {
	o, err := ReadRuntimeOffsets(path)
	if errors.Is(err, ErrUnknownLayout) {
		fmt.Fprintf(w, "gometal: warning: %v; the kernel will leave goroutine preemption to the runtime's sysmon\n", err)
		return nil
	}
	if err != nil {
		return err
	}
	return WriteRuntimeOffsets(path, o)
}

// CheckWord is the check word the kernel verifies over the stored values.
func CheckWord(words []uint64) uint64 {
	check := uint64(runtimeOffsetsMagic)
	for i, w := range words {
		check ^= w * uint64(i+3)
	}
	return check
}

// errNoOffsetsSymbol means the image has no kernel (a test stand-in).
var errNoOffsetsSymbol = errors.New("no " + RuntimeOffsetsSymbol + " in the image")

// WriteRuntimeOffsets stores o in the image's kernel variable, with the
// valid flag and check word the kernel verifies. The variable is found in
// the symbol table of the image's debug file when there is one.
func WriteRuntimeOffsets(path string, o RuntimeOffsets) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return err
	}
	symFile := f
	if dbg := symbolize.DebugFile(path); dbg != path {
		if symFile, err = elf.Open(dbg); err != nil {
			return err
		}
		defer symFile.Close()
	}
	syms, err := symFile.Symbols()
	if err != nil {
		return err
	}
	var addr, size uint64
	for _, s := range syms {
		if s.Name == RuntimeOffsetsSymbol {
			addr, size = s.Value, s.Size
		}
	}
	if addr == 0 {
		return errNoOffsetsSymbol
	}
	words := o.Words()
	want := uint64(8 * (len(words) + 3)) // magic, valid, words, check
	off := -1
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr+want <= p.Vaddr+p.Filesz {
			off = int(p.Off + addr - p.Vaddr)
		}
	}
	if off < 0 {
		return fmt.Errorf("%s is not in the file's data", RuntimeOffsetsSymbol)
	}
	le := binary.LittleEndian
	if le.Uint64(data[off:]) != runtimeOffsetsMagic || size != want {
		return fmt.Errorf("%s: wrong magic or size: kernel and tool disagree", RuntimeOffsetsSymbol)
	}
	le.PutUint64(data[off+8:], 1)
	le.PutUint64(data[off+16+8*len(words):], CheckWord(words))
	for i, w := range words {
		le.PutUint64(data[off+16+8*i:], w)
	}
	return os.WriteFile(path, data, 0o755)
}
