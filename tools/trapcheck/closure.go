package trapcheck

import (
	"encoding/binary"

	"golang.org/x/arch/x86/x86asm"
)

// A Go function value is a pointer to a funcval whose first word is the
// code address. The compiler calls one by loading that word into a
// register and calling the register, so an indirect call is resolvable
// when the word is a constant:
//
//   - a func literal that captures nothing is a funcval in read-only
//     data: MOVQ f·f(SB), CX; CALL CX;
//   - a closure that does not escape is built in the caller's frame:
//     LEAQ f(SB), DX; MOVQ DX, off(SP) ... MOVQ off(SP), AX; CALL AX.
//
// Register values are traced back inside the call's basic block only.

// source is what a register holds at an instruction, as far as known.
type source struct {
	funcs []uint64 // code addresses it may hold; empty if unknown
	slot  int64    // the frame slot it was loaded from, if fromSlot
	// fromSlot is set for a load from a frame slot (resolved later).
	fromSlot bool
}

// callTargets returns the functions the CALL at fc.insts[i] can reach,
// or nil if it is an indirect call the checker cannot resolve.
func (b *elfImage) callTargets(fc *fnCode, i int) []uint64 {
	d := fc.insts[i]
	if t, ok := relTarget(d.in, d.pc+uint64(d.in.Len)); ok {
		return []uint64{t}
	}
	var src source
	switch a := d.in.Args[0].(type) {
	case x86asm.Reg:
		src = b.regSource(fc, i, a)
	case x86asm.Mem:
		src = b.memSource(fc, d, a)
	}
	if src.fromSlot {
		return fc.slots[src.slot]
	}
	return src.funcs
}

// regSource traces register r back from fc.insts[i] (exclusive).
func (b *elfImage) regSource(fc *fnCode, i int, r x86asm.Reg) source {
	for j := i - 1; j >= 0; j-- {
		p := fc.insts[j]
		if w, ok := p.in.Args[0].(x86asm.Reg); ok && family(w) == family(r) {
			if w < x86asm.RAX {
				return source{}
			}
			switch p.in.Op {
			case x86asm.MOV:
				switch a := p.in.Args[1].(type) {
				case x86asm.Reg:
					r = a
				case x86asm.Mem:
					return b.memSource(fc, p, a)
				default:
					return source{}
				}
			case x86asm.LEA:
				if m, ok := p.in.Args[1].(x86asm.Mem); ok && m.Base == x86asm.RIP && m.Index == 0 {
					return b.funcSource(uint64(int64(p.pc) + int64(p.in.Len) + m.Disp))
				}
				return source{}
			default:
				return source{}
			}
		} else if clobbers(p.in) {
			return source{}
		}
		if fc.targets[p.pc] {
			return source{} // a join: the value may come from elsewhere
		}
	}
	return source{}
}

// memSource is the value loaded from memory operand m of instruction d:
// a word of read-only data, or a frame slot.
func (b *elfImage) memSource(fc *fnCode, d decoded, m x86asm.Mem) source {
	switch {
	case m.Base == x86asm.RIP && m.Index == 0:
		word := b.readConst(uint64(int64(d.pc)+int64(d.in.Len)+m.Disp), 8)
		if word == nil {
			return source{}
		}
		return b.funcSource(binary.LittleEndian.Uint64(word))
	case m.Base == x86asm.RSP && m.Index == 0 && m.Segment == 0:
		return source{slot: m.Disp, fromSlot: true}
	}
	return source{}
}

// funcSource is a code address, if addr is a function's entry.
func (b *elfImage) funcSource(addr uint64) source {
	if fn := b.funcAt(addr); fn != nil && fn.start == addr {
		return source{funcs: []uint64{addr}}
	}
	return source{}
}

// findClosureSlots records, for every frame slot the function writes,
// the function addresses stored there; any other write to a slot, or a
// store whose value cannot be traced, makes the slot unknown.
func (b *elfImage) findClosureSlots(fc *fnCode) {
	bad := map[int64]bool{}
	for i, d := range fc.insts {
		m, ok := d.in.Args[0].(x86asm.Mem)
		if !ok || m.Base != x86asm.RSP || m.Index != 0 || isReadOnlyFirst(d.in.Op) {
			continue
		}
		if r, isReg := d.in.Args[1].(x86asm.Reg); isReg && d.in.Op == x86asm.MOV && r >= x86asm.RAX && r <= x86asm.R15 {
			if src := b.regSource(fc, i, r); len(src.funcs) > 0 {
				fc.slots[m.Disp] = append(fc.slots[m.Disp], src.funcs...)
				continue
			}
		}
		n := int64(d.in.MemBytes)
		if n == 0 {
			n = 16 // width unknown: assume the widest common store
		}
		for off := m.Disp - 7; off < m.Disp+n; off++ {
			bad[off] = true // every slot this write overlaps
		}
	}
	for off := range bad {
		delete(fc.slots, off)
	}
}

// isReadOnlyFirst reports whether op reads, not writes, its first operand.
func isReadOnlyFirst(op x86asm.Op) bool {
	switch op {
	case x86asm.CMP, x86asm.TEST, x86asm.BT, x86asm.PUSH, x86asm.CALL, x86asm.JMP,
		x86asm.UCOMISD, x86asm.UCOMISS, x86asm.COMISD, x86asm.COMISS, x86asm.PTEST:
		return true
	}
	return false
}

// clobbers reports whether in may change registers other than its first
// operand (a CALL clobbers them all).
func clobbers(in x86asm.Inst) bool {
	switch in.Op {
	case x86asm.CALL, x86asm.XCHG, x86asm.XADD, x86asm.CMPXCHG, x86asm.MUL, x86asm.DIV,
		x86asm.IMUL, x86asm.IDIV, x86asm.CPUID, x86asm.RDTSC, x86asm.RDMSR, x86asm.RDTSCP,
		x86asm.CQO, x86asm.CDQ, x86asm.MOVSB, x86asm.MOVSQ, x86asm.STOSB, x86asm.STOSD,
		x86asm.STOSQ, x86asm.SYSCALL, x86asm.RDRAND:
		return true
	}
	return false
}
