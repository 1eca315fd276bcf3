package image

import (
	"bytes"
	"debug/dwarf"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
)

// The Go runtime's data layout, handed to the kernel so that its timer
// interrupt can ask for a goroutine's preemption the way the runtime's own
// preemptone does (kernel/slice.go). The offsets come from the image's
// DWARF, written into the kernel variable RuntimeOffsetsSymbol after the
// link; the kernel checks them at boot and falls back to the runtime's
// sysmon when anything disagrees.

// RuntimeOffsetsSymbol is the kernel variable that receives the offsets.
const RuntimeOffsetsSymbol = "github.com/gometal/gometal/kernel.rtOffsets"

// runtimeOffsetsMagic marks the variable (kernel/slice.go, "gometal1").
const runtimeOffsetsMagic = 0x316c6174656d6f67

// RuntimeOffsets are the byte offsets the kernel needs, in the order of
// the kernel's runtimeOffsets fields after magic and valid.
type RuntimeOffsets struct {
	GStackguard0 uint64 // runtime.g.stackguard0
	GM           uint64 // runtime.g.m
	GPreempt     uint64 // runtime.g.preempt
	GStatus      uint64 // runtime.g.atomicstatus (its value)
	MG0          uint64 // runtime.m.g0
	MCurg        uint64 // runtime.m.curg
	MP           uint64 // runtime.m.p
	MGsignal     uint64 // runtime.m.gsignal
	PSchedtick   uint64 // runtime.p.schedtick
}

func (o RuntimeOffsets) words() []uint64 {
	return []uint64{o.GStackguard0, o.GM, o.GPreempt, o.GStatus, o.MG0, o.MCurg, o.MP, o.MGsignal, o.PSchedtick}
}

// ReadRuntimeOffsets reads the offsets from the DWARF of the ELF at path.
func ReadRuntimeOffsets(path string) (RuntimeOffsets, error) {
	f, err := elf.Open(path)
	if err != nil {
		return RuntimeOffsets{}, err
	}
	defer f.Close()
	d, err := f.DWARF()
	if err != nil {
		return RuntimeOffsets{}, fmt.Errorf("runtime offsets: %w", err)
	}
	want := map[string][]string{
		"runtime.g": {"stackguard0", "m", "preempt", "atomicstatus"},
		"runtime.m": {"g0", "curg", "p", "gsignal"},
		"runtime.p": {"schedtick"},
	}
	got := map[string]uint64{}
	r := d.Reader()
	for {
		e, err := r.Next()
		if err != nil {
			return RuntimeOffsets{}, fmt.Errorf("runtime offsets: %w", err)
		}
		if e == nil {
			break
		}
		name, _ := e.Val(dwarf.AttrName).(string)
		fields, ok := want[name]
		if e.Tag != dwarf.TagStructType || !ok || !e.Children {
			continue
		}
		for {
			m, err := r.Next()
			if err != nil {
				return RuntimeOffsets{}, err
			}
			if m == nil || m.Tag == 0 {
				break
			}
			if m.Tag != dwarf.TagMember {
				if m.Children {
					r.SkipChildren()
				}
				continue
			}
			mname, _ := m.Val(dwarf.AttrName).(string)
			off, ok := m.Val(dwarf.AttrDataMemberLoc).(int64)
			for _, f := range fields {
				if f == mname && ok {
					got[name+"."+f] = uint64(off)
				}
			}
		}
		delete(want, name)
	}
	need := []string{"runtime.g.stackguard0", "runtime.g.m", "runtime.g.preempt", "runtime.g.atomicstatus",
		"runtime.m.g0", "runtime.m.curg", "runtime.m.p", "runtime.m.gsignal", "runtime.p.schedtick"}
	for _, n := range need {
		if _, ok := got[n]; !ok {
			return RuntimeOffsets{}, fmt.Errorf("runtime offsets: %s not found in DWARF", n)
		}
	}
	return RuntimeOffsets{
		GStackguard0: got["runtime.g.stackguard0"], GM: got["runtime.g.m"],
		GPreempt: got["runtime.g.preempt"], GStatus: got["runtime.g.atomicstatus"],
		MG0: got["runtime.m.g0"], MCurg: got["runtime.m.curg"], MP: got["runtime.m.p"],
		MGsignal: got["runtime.m.gsignal"], PSchedtick: got["runtime.p.schedtick"],
	}, nil
}

// errNoOffsetsSymbol means the image has no kernel (a test stand-in).
var errNoOffsetsSymbol = errors.New("no " + RuntimeOffsetsSymbol + " in the image")

// WriteRuntimeOffsets stores o in the image's kernel variable, with the
// valid flag and check word the kernel verifies.
func WriteRuntimeOffsets(path string, o RuntimeOffsets) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return err
	}
	syms, err := f.Symbols()
	if err != nil {
		return err
	}
	var addr uint64
	for _, s := range syms {
		if s.Name == RuntimeOffsetsSymbol {
			addr = s.Value
		}
	}
	if addr == 0 {
		return errNoOffsetsSymbol
	}
	off := -1
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD && addr >= p.Vaddr && addr+8*12 <= p.Vaddr+p.Filesz {
			off = int(p.Off + addr - p.Vaddr)
		}
	}
	if off < 0 {
		return fmt.Errorf("%s is not in the file's data", RuntimeOffsetsSymbol)
	}
	le := binary.LittleEndian
	if le.Uint64(data[off:]) != runtimeOffsetsMagic {
		return fmt.Errorf("%s: wrong magic: kernel and tool disagree", RuntimeOffsetsSymbol)
	}
	le.PutUint64(data[off+8:], 1)
	check := uint64(runtimeOffsetsMagic)
	for i, w := range o.words() {
		le.PutUint64(data[off+16+8*i:], w)
		check ^= w * uint64(i+3)
	}
	le.PutUint64(data[off+16+8*len(o.words()):], check)
	return os.WriteFile(path, data, 0o755)
}
