package symbolize

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Window sizes around rip, in instructions.
const (
	instsBefore = 12
	instsAfter  = 6
)

// Symbolize reads the panic report(s) in report (a whole console log is
// fine) and writes them to w with addresses resolved against the image
// ELF at imagePath and the code around rip disassembled.
func Symbolize(imagePath string, report io.Reader, w io.Writer) error {
	im, err := OpenImage(imagePath)
	if err != nil {
		return err
	}
	return im.Symbolize(report, w)
}

// SymbolizeELF is Symbolize for an image held in memory.
func SymbolizeELF(image []byte, report io.Reader, w io.Writer) error {
	im, err := NewImage(image)
	if err != nil {
		return err
	}
	return im.Symbolize(report, w)
}

// ErrNoReport is returned when the input holds no panic report.
var ErrNoReport = errors.New("no kernel panic report found (looking for \"" + beginMarker + "\")")

// Symbolize parses the reports in report and writes each, symbolized, to w.
func (im *Image) Symbolize(report io.Reader, w io.Writer) error {
	reports, err := ParseReports(report)
	if err != nil {
		return err
	}
	if len(reports) == 0 {
		return ErrNoReport
	}
	bw := bufio.NewWriter(w)
	for i, r := range reports {
		if i > 0 {
			fmt.Fprintln(bw)
		}
		im.WriteReport(bw, r)
	}
	return bw.Flush()
}

// WriteReport writes one symbolized report to w.
func (im *Image) WriteReport(w io.Writer, r *Report) {
	fmt.Fprintf(w, "kernel panic: %s\n", orUnknown(r.Reason))
	if !r.Complete && !r.Bare {
		fmt.Fprintln(w, "(the report is cut off: no end marker)")
	}
	im.writeTrap(w, r)
	rip, ok := r.RIP()
	if !ok {
		fmt.Fprintln(w, "the report has no rip")
	} else {
		fmt.Fprintf(w, "rip %#016x  %s\n", rip, im.describe(rip))
		im.writeWindow(w, rip)
	}
	im.writeCode(w, r, rip, ok)
	im.writeStack(w, r)
	im.writeState(w, r)
}

// writeTrap prints the trap's cpu, vector, error code and fault address.
func (im *Image) writeTrap(w io.Writer, r *Report) {
	var parts []string
	for _, k := range []string{"cpu", "vector", "error", "cr2"} {
		v, ok := r.Regs[k]
		if !ok {
			continue
		}
		p := fmt.Sprintf("%s %#x", k, v)
		if k == "cpu" || k == "vector" {
			p = fmt.Sprintf("%s %d", k, v)
		}
		if n := r.Notes[k]; n != "" {
			p += " (" + n + ")"
		}
		parts = append(parts, p)
	}
	if len(parts) > 0 {
		fmt.Fprintln(w, strings.Join(parts, ", "))
	}
}

// describe resolves a text address, or says why it cannot.
func (im *Image) describe(pc uint64) string {
	if !im.InText(pc) {
		return "(not in the image's text)"
	}
	fr, ok := im.Lookup(pc)
	if !ok {
		return "(no symbol)"
	}
	return fr.String()
}

// writeWindow prints the disassembly around rip.
func (im *Image) writeWindow(w io.Writer, rip uint64) {
	win, err := im.Around(rip, instsBefore, instsAfter)
	if err != nil {
		return
	}
	if win.Func.Func != "" {
		fmt.Fprintf(w, "\ndisassembly of %s around rip:\n", win.Func.Func)
	} else {
		fmt.Fprintln(w, "\ndisassembly from rip (no containing function):")
	}
	if win.Resynced {
		fmt.Fprintln(w, "  (rip is not on an instruction boundary decoding from the function entry; decoding from rip)")
	}
	im.writeInsts(w, win.Insts, win.Mark)
}

// writeCode decodes the report's code bytes and compares them with the
// image's bytes at rip.
func (im *Image) writeCode(w io.Writer, r *Report, rip uint64, haveRIP bool) {
	if len(r.Code) == 0 {
		return
	}
	known := 0
	for known < len(r.Known) && r.Known[known] {
		known++
	}
	fmt.Fprintf(w, "\ncode bytes from the report (%d bytes at rip):\n", len(r.Code))
	if known == 0 {
		fmt.Fprintln(w, "  (unmapped)")
		return
	}
	insts := decode(r.Code[:known], rip, im.symName)
	im.writeInsts(w, insts, 0)
	if !haveRIP || !im.InText(rip) {
		return
	}
	if img := im.bytesAt(rip, known); bytes.Equal(img, r.Code[:known]) {
		fmt.Fprintln(w, "  (these match the image)")
	} else {
		fmt.Fprintf(w, "  (these DIFFER from the image's bytes %s: wrong image, or code modified at run time)\n", hexBytes(img))
	}
}

// writeStack prints the stack words that point into the image's text.
func (im *Image) writeStack(w io.Writer, r *Report) {
	if len(r.Stack) == 0 {
		return
	}
	fmt.Fprintf(w, "\nstack (%d words from rsp up; those pointing into text):\n", len(r.Stack))
	n := 0
	for i, v := range r.Stack {
		if !im.InText(v) {
			continue
		}
		n++
		fmt.Fprintf(w, "  rsp+0x%02x  %#016x  %s\n", 8*i, v, im.describe(v))
	}
	if n == 0 {
		fmt.Fprintln(w, "  (none)")
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "(no reason given)"
	}
	return s
}

// writeState prints the report's machine-state lines, each rip with the
// function and line it lies in.
func (im *Image) writeState(w io.Writer, r *Report) {
	if len(r.State) == 0 {
		return
	}
	fmt.Fprintln(w, "\nother CPUs and the program's threads:")
	for _, l := range r.State {
		fmt.Fprintf(w, "  %s: %s", l.Key, l.Text)
		if l.RIP != 0 {
			fmt.Fprintf(w, "  %s", im.describe(l.RIP))
		}
		fmt.Fprintln(w)
		for i, v := range l.Stack {
			if im.InText(v) {
				fmt.Fprintf(w, "      stack+%#02x  %#016x  %s\n", 8*i, v, im.describe(v))
			}
		}
	}
}
