package trapcheck

import (
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
	// slots maps a frame offset (from SP after the prologue) to the
	// functions whose addresses are stored there: the fn word of a
	// closure built in the frame. A nil entry means something else is
	// written there too.
	slots map[int64][]uint64
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
			if ts := b.callTargets(fc, i); len(ts) > 0 {
				for _, t := range ts {
					info.calls = append(info.calls, site{pc: pc, sp: sp, target: b.funcAt(t), inst: text()})
				}
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
	fc := &fnCode{fn: fn, targets: map[uint64]bool{}, slots: map[int64][]uint64{}}
	code := b.code(fn)
	if code == nil {
		return fc, "code not found in the image"
	}
	for off := 0; off < len(code); {
		pc := fn.start + uint64(off)
		in, err := decodeInst(code[off:])
		if err != nil || in.Len == 0 {
			return fc, fmt.Sprintf("undecodable instruction at %#x (% x)", pc, code[off:min(len(code), off+8)])
		}
		off += in.Len
		fc.insts = append(fc.insts, decoded{pc, in})
		if t, ok := relTarget(in, pc+uint64(in.Len)); ok && fn.contains(t) {
			fc.targets[t] = true
		}
	}
	b.findClosureSlots(fc)
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

// decodeInst decodes one 64-bit instruction. x86asm (v0.32.0) counts a
// ModRM byte that VZEROUPPER does not have; the length is fixed here, or
// the rest of the function (bytealg's AVX2 loops) would decode out of step.
func decodeInst(code []byte) (x86asm.Inst, error) {
	in, err := x86asm.Decode(code, 64)
	if err == nil && in.Op == x86asm.VZEROUPPER {
		in.Len = 3 // C5 xx 77
		if code[0] == 0xC4 {
			in.Len = 4 // C4 xx xx 77
		}
	}
	return in, err
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
