package trapcheck

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// jumpTable checks that the indirect JMP at fc.insts[i] is a compiled
// switch and returns its targets. The Go compiler emits
//
//	CMPQ idx, $n-1; JHI default; LEAQ table(SB), R; JMP (R)(idx*8)
//
// and every one of the table's n entries must point into the function.
// (The table has no symbol of its own in the image.)
func (b *elfImage) jumpTable(fc *fnCode, i int) ([]uint64, error) {
	m, ok := fc.insts[i].in.Args[0].(x86asm.Mem)
	if !ok || m.Base == 0 || m.Index == 0 || m.Scale != 8 || m.Disp != 0 {
		return nil, errors.New("not a jump table")
	}
	var table, n uint64
	for j := i - 1; j >= 0 && j >= i-16 && n == 0; j-- {
		d := fc.insts[j]
		r, ok := d.in.Args[0].(x86asm.Reg)
		switch {
		case !ok:
		case table == 0 && r == m.Base:
			lm, isMem := d.in.Args[1].(x86asm.Mem)
			if d.in.Op != x86asm.LEA || !isMem || lm.Base != x86asm.RIP {
				return nil, errors.New("table register not loaded by LEAQ")
			}
			table = uint64(int64(d.pc) + int64(d.in.Len) + lm.Disp)
		case d.in.Op == x86asm.CMP && family(r) == family(m.Index):
			imm, isImm := d.in.Args[1].(x86asm.Imm)
			if !isImm || imm < 0 || j+1 >= i {
				return nil, errors.New("index not bounded by a CMP with a constant")
			}
			switch fc.insts[j+1].in.Op {
			case x86asm.JA:
				n = uint64(imm) + 1
			case x86asm.JAE:
				n = uint64(imm)
			default:
				return nil, errors.New("index bound not followed by an unsigned branch")
			}
		}
	}
	if table == 0 || n == 0 || n > 1<<16 {
		return nil, errors.New("no LEAQ of a table and CMP of its index before it")
	}
	data := b.readConst(table, 8*n)
	if data == nil {
		return nil, fmt.Errorf("jump table at %#x not in read-only data", table)
	}
	out := make([]uint64, 0, n)
	for k := 0; k < len(data); k += 8 {
		t := binary.LittleEndian.Uint64(data[k:])
		if !fc.fn.contains(t) {
			return nil, fmt.Errorf("jump table at %#x has an entry outside the function", table)
		}
		out = append(out, t)
	}
	return out, nil
}

// family maps a register to its 64-bit name (EBX, BX, BL -> RBX).
func family(r x86asm.Reg) x86asm.Reg {
	switch {
	case r >= x86asm.AL && r <= x86asm.R15B:
		return families8[r-x86asm.AL]
	case r >= x86asm.AX && r <= x86asm.R15W:
		return x86asm.RAX + (r - x86asm.AX)
	case r >= x86asm.EAX && r <= x86asm.R15L:
		return x86asm.RAX + (r - x86asm.EAX)
	}
	return r
}

// families8 is the 64-bit register of each 8-bit one, in x86asm's order
// (AL CL DL BL AH CH DH BH SPB BPB SIB DIB R8B..R15B).
var families8 = []x86asm.Reg{
	x86asm.RAX, x86asm.RCX, x86asm.RDX, x86asm.RBX, x86asm.RAX, x86asm.RCX, x86asm.RDX, x86asm.RBX,
	x86asm.RSP, x86asm.RBP, x86asm.RSI, x86asm.RDI,
	x86asm.R8, x86asm.R9, x86asm.R10, x86asm.R11, x86asm.R12, x86asm.R13, x86asm.R14, x86asm.R15,
}
