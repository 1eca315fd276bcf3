package trapcheck

import (
	"encoding/binary"
	"fmt"

	"golang.org/x/arch/x86/x86asm"
)

// site is one control transfer out of a function.
type site struct {
	pc     uint64
	sp     int64     // stack bytes the function uses at the site, before a CALL pushes its return address
	target *function // the callee; nil for an indirect transfer
	tail   bool      // a jump: the callee runs on this frame and returns to our caller
	inst   string    // the instruction, in Go assembler syntax
}

// funcInfo is what the checker learns from one function's code.
type funcInfo struct {
	frame    int64    // the most stack bytes the function itself uses below its entry SP
	calls    []site   // direct calls and jumps to other functions
	indirect []site   // calls and jumps through a register or memory, jump tables excepted
	problems []string // code the checker could not follow
}

// decoded is an instruction and its address.
type decoded struct {
	pc uint64
	in x86asm.Inst
}

// fnCode is one function's decoded instructions.
type fnCode struct {
	fn      *function
	insts   []decoded
	targets map[uint64]bool // addresses inside fn that a branch jumps to
}

// analyze decodes fn and collects its calls, indirect transfers and
// stack use. The stack is tracked along the code in address order: PUSH,
// POP, SUB/ADD/LEA on SP move it, a load of SP starts a new stack (start64,
// syscallEntry), and after an unconditional transfer (RET, JMP, IRETQ, UD2)
// the next instruction is taken to run with the deepest stack seen so far,
// which is exact for compiled Go (one frame set up in the prologue) and
// conservative for assembly.
func (b *elfImage) analyze(fn *function) *funcInfo {
	if fn.info != nil {
		return fn.info
	}
	info := &funcInfo{}
	fn.info = info
	fc, problem := b.decode(fn)
	if problem != "" {
		info.problems = append(info.problems, problem)
	}
	var sp, deepest int64
	for i, d := range fc.insts {
		in, pc := d.in, d.pc
		next := pc + uint64(in.Len)
		text := func() string { return x86asm.GoSyntax(in, pc, b.symName) }
		resume := false
		switch in.Op {
		case x86asm.PUSH, x86asm.PUSHF, x86asm.PUSHFQ:
			sp += 8
		case x86asm.POP, x86asm.POPF, x86asm.POPFQ:
			sp -= 8
		case x86asm.CALL:
			if t, ok := relTarget(in, next); ok && fn.contains(t) {
				sp += 8 // CALL to the next instruction, to read the PC
				break
			}
			if t, ok := b.callTarget(fc, i); ok {
				info.calls = append(info.calls, site{pc: pc, sp: sp, target: b.funcAt(t), inst: text()})
				break
			}
			info.indirect = append(info.indirect, site{pc: pc, sp: sp, inst: text()})
		case x86asm.JMP:
			resume = true
			if t, ok := relTarget(in, next); ok {
				if !fn.contains(t) {
					info.calls = append(info.calls, site{pc: pc, sp: sp, target: b.funcAt(t), tail: true, inst: text()})
				}
				break
			}
			if _, err := b.jumpTable(fc, i); err != nil {
				info.indirect = append(info.indirect, site{pc: pc, sp: sp, tail: true, inst: text() + " (" + err.Error() + ")"})
			}
		case x86asm.RET, x86asm.LRET, x86asm.IRET, x86asm.IRETD, x86asm.IRETQ, x86asm.UD2, x86asm.LEAVE:
			resume = true
		default:
			if t, ok := relTarget(in, next); ok && isCondJump(in.Op) && !fn.contains(t) {
				info.calls = append(info.calls, site{pc: pc, sp: sp, target: b.funcAt(t), tail: true, inst: text()})
			}
			sp = adjustSP(in, sp)
		}
		deepest = max(deepest, sp)
		if resume {
			sp = deepest
		}
	}
	info.frame = deepest
	return info
}

// decode decodes fn and finds its branch targets; a problem stops the
// decoding at the instruction that caused it.
func (b *elfImage) decode(fn *function) (*fnCode, string) {
	fc := &fnCode{fn: fn, targets: map[uint64]bool{}}
	code := b.code(fn)
	if code == nil {
		return fc, "code not found in the image"
	}
	for off := 0; off < len(code); {
		pc := fn.start + uint64(off)
		in, err := x86asm.Decode(code[off:], 64)
		if err != nil || in.Len == 0 {
			return fc, fmt.Sprintf("undecodable instruction at %#x (% x)", pc, code[off:min(len(code), off+8)])
		}
		off += in.Len
		fc.insts = append(fc.insts, decoded{pc, in})
		if t, ok := relTarget(in, pc+uint64(in.Len)); ok && fn.contains(t) {
			fc.targets[t] = true
		}
	}
	for i, d := range fc.insts {
		if d.in.Op == x86asm.JMP {
			if entries, err := b.jumpTable(fc, i); err == nil {
				for _, t := range entries {
					fc.targets[t] = true
				}
			}
		}
	}
	return fc, ""
}

func (fn *function) contains(addr uint64) bool { return addr >= fn.start && addr < fn.end }

// relTarget returns the target of a PC-relative branch.
func relTarget(in x86asm.Inst, next uint64) (uint64, bool) {
	rel, ok := in.Args[0].(x86asm.Rel)
	if !ok {
		return 0, false
	}
	return uint64(int64(next) + int64(rel)), true
}

// callTarget returns the target of the CALL at fc.insts[i]: a direct one,
// or a call through a register that holds the code pointer of a func
// value in read-only data (how Go calls a func literal that captures
// nothing: MOVQ f·f(SB), CX ... CALL CX). The register's value is traced
// back inside the instruction's basic block only.
func (b *elfImage) callTarget(fc *fnCode, i int) (uint64, bool) {
	d := fc.insts[i]
	if t, ok := relTarget(d.in, d.pc+uint64(d.in.Len)); ok {
		return t, true
	}
	r, ok := d.in.Args[0].(x86asm.Reg)
	if !ok {
		return 0, false
	}
	for j := i - 1; j >= 0; j-- {
		p := fc.insts[j]
		if w, ok := p.in.Args[0].(x86asm.Reg); ok && family(w) == family(r) {
			if p.in.Op != x86asm.MOV || w < x86asm.RAX {
				return 0, false
			}
			switch src := p.in.Args[1].(type) {
			case x86asm.Reg:
				r = src
			case x86asm.Mem:
				if src.Base != x86asm.RIP || src.Index != 0 {
					return 0, false
				}
				word := b.readConst(uint64(int64(p.pc)+int64(p.in.Len)+src.Disp), 8)
				if word == nil {
					return 0, false
				}
				t := binary.LittleEndian.Uint64(word)
				return t, b.funcAt(t) != nil && b.funcAt(t).start == t
			default:
				return 0, false
			}
		} else if writes(p.in, r) {
			return 0, false
		}
		if fc.targets[p.pc] {
			return 0, false // a join: the value may come from elsewhere
		}
	}
	return 0, false
}

// writes reports whether in may change r other than as its first operand:
// a CALL clobbers every register.
func writes(in x86asm.Inst, r x86asm.Reg) bool {
	switch in.Op {
	case x86asm.CALL, x86asm.XCHG, x86asm.XADD, x86asm.CMPXCHG, x86asm.MUL, x86asm.DIV,
		x86asm.IMUL, x86asm.IDIV, x86asm.CPUID, x86asm.RDTSC, x86asm.RDMSR, x86asm.RDTSCP:
		return true
	}
	return false
}

// adjustSP returns the stack use after an instruction that writes SP
// (other than PUSH and POP).
func adjustSP(in x86asm.Inst, sp int64) int64 {
	if r, ok := in.Args[0].(x86asm.Reg); !ok || r != x86asm.RSP {
		return sp
	}
	switch in.Op {
	case x86asm.SUB:
		if imm, ok := in.Args[1].(x86asm.Imm); ok {
			return sp + int64(imm)
		}
	case x86asm.ADD:
		if imm, ok := in.Args[1].(x86asm.Imm); ok {
			return sp - int64(imm)
		}
	case x86asm.AND:
		if imm, ok := in.Args[1].(x86asm.Imm); ok {
			return sp + int64(^imm) // aligning down: at most ^imm more bytes
		}
	case x86asm.LEA:
		if m, ok := in.Args[1].(x86asm.Mem); ok && m.Base == x86asm.RSP && m.Index == 0 {
			return sp - m.Disp
		}
		return 0
	case x86asm.MOV, x86asm.XCHG:
		return 0 // a new stack: usage counts from its top
	}
	return sp
}

// isCondJump reports whether op is a conditional branch.
func isCondJump(op x86asm.Op) bool {
	switch op {
	case x86asm.JA, x86asm.JAE, x86asm.JB, x86asm.JBE, x86asm.JE, x86asm.JG, x86asm.JGE,
		x86asm.JL, x86asm.JLE, x86asm.JNE, x86asm.JNO, x86asm.JNP, x86asm.JNS, x86asm.JO,
		x86asm.JP, x86asm.JS, x86asm.JCXZ, x86asm.JECXZ, x86asm.JRCXZ, x86asm.LOOP,
		x86asm.LOOPE, x86asm.LOOPNE:
		return true
	}
	return false
}

// symName names addresses for x86asm.GoSyntax.
func (b *elfImage) symName(addr uint64) (string, uint64) {
	if fn := b.funcAt(addr); fn != nil {
		return fn.name, fn.start
	}
	return "", 0
}
