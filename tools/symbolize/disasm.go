package symbolize

import (
	"fmt"
	"io"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// Inst is one decoded instruction.
type Inst struct {
	PC    uint64
	Bytes []byte
	Text  string // Go assembler syntax, "(bad)" for undecodable bytes
}

// decode decodes code, which starts at pc, into instructions. Bytes that
// do not decode become one-byte "(bad)" instructions and an instruction
// cut off by the end of code becomes "(truncated)". symName resolves
// branch targets and RIP-relative operands; it may be nil.
func decode(code []byte, pc uint64, symName x86asm.SymLookup) []Inst {
	var out []Inst
	for len(code) > 0 {
		in, err := x86asm.Decode(code, 64)
		if err == x86asm.ErrTruncated {
			out = append(out, Inst{PC: pc, Bytes: code, Text: "(truncated)"})
			break
		}
		n := in.Len
		text := ""
		if err != nil || n == 0 {
			n, text = 1, "(bad)"
		} else {
			text = x86asm.GoSyntax(in, pc, symName)
		}
		out = append(out, Inst{PC: pc, Bytes: code[:n], Text: text})
		code, pc = code[n:], pc+uint64(n)
	}
	return out
}

// Window is the instructions around an address.
type Window struct {
	Func  Frame  // the function decoded, Func.Func == "" if unknown
	Insts []Inst // the window
	Mark  int    // index of the instruction at the address, -1 if none
	// Resynced is true when decoding from the function's entry did not
	// land on the address, so decoding restarted there.
	Resynced bool
}

// maxFuncBytes bounds how much of a function is decoded to reach rip.
const maxFuncBytes = 1 << 20

// Around disassembles the instructions around pc: decoding starts at the
// entry of the function containing pc (so instruction boundaries are
// right), and the window keeps up to before instructions before pc and
// after instructions from pc on.
func (im *Image) Around(pc uint64, before, after int) (Window, error) {
	if !im.InText(pc) {
		return Window{Mark: -1}, fmt.Errorf("%#x is outside the image's text", pc)
	}
	w := Window{Mark: -1}
	start := pc
	if fr, ok := im.Lookup(pc); ok && pc-fr.Entry <= maxFuncBytes {
		w.Func, start = fr, fr.Entry
	}
	tail := 16 * (after + 1) // generous: an x86 instruction is at most 15 bytes
	insts := decode(im.bytesAt(start, int(pc-start)+tail), start, im.symName)
	at := instAt(insts, pc)
	if at < 0 { // entry-based decoding ran past pc: restart at pc
		w.Resynced = true
		insts, at = decode(im.bytesAt(pc, tail), pc, im.symName), 0
	}
	lo, hi := max(0, at-before), min(len(insts), at+after)
	if end := w.Func.End; end != 0 {
		for hi > at+1 && insts[hi-1].PC >= end {
			hi--
		}
	}
	w.Insts, w.Mark = insts[lo:hi], at-lo
	return w, nil
}

// instAt returns the index of the instruction starting at pc, or -1.
func instAt(insts []Inst, pc uint64) int {
	for i, in := range insts {
		if in.PC == pc {
			return i
		}
		if in.PC > pc {
			break
		}
	}
	return -1
}

// writeInsts prints instructions, one a line, marking index mark with
// "=>" and giving each its source line where the image knows it.
// A run of int3 padding after the mark is printed as one line.
func (im *Image) writeInsts(w io.Writer, insts []Inst, mark int) {
	for i := 0; i < len(insts); i++ {
		in := insts[i]
		if run := paddingRun(insts[i:]); i > mark && run > 1 {
			fmt.Fprintf(w, "     %#x  %-24s %-22s %s\n", in.PC, "cc ..", "", fmt.Sprintf("INT $0x3 (x%d, padding)", run))
			i += run - 1
			continue
		}
		arrow := "  "
		if i == mark {
			arrow = "=>"
		}
		pos := ""
		if fr, ok := im.Lookup(in.PC); ok {
			pos = fr.shortPos()
		}
		fmt.Fprintf(w, "  %s %#x  %-24s %-22s %s\n", arrow, in.PC, hexBytes(in.Bytes), pos, in.Text)
	}
}

// paddingRun counts the int3 (0xcc) instructions at the start of insts.
func paddingRun(insts []Inst) int {
	n := 0
	for n < len(insts) && len(insts[n].Bytes) == 1 && insts[n].Bytes[0] == 0xcc {
		n++
	}
	return n
}

// hexBytes formats b as "0f 0b 48", cut short with ".." past 8 bytes.
func hexBytes(b []byte) string {
	var parts []string
	for i, c := range b {
		if i == 8 {
			parts = append(parts, "..")
			break
		}
		parts = append(parts, fmt.Sprintf("%02x", c))
	}
	return strings.Join(parts, " ")
}
