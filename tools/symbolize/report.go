package symbolize

import (
	"bufio"
	"io"
	"strconv"
	"strings"
)

// Markers and prefix of the kernel's panic report (docs/protocols.md).
const (
	logPrefix   = "[gometal] "
	beginMarker = "=== KERNEL PANIC ==="
	endMarker   = "=== END KERNEL PANIC ==="
)

// Report is one parsed kernel panic report.
type Report struct {
	Reason string
	// Regs holds every "name: value" number of the report: the general
	// registers, rip, rflags, cs, ss, cr2, cr3, cpu, vector and error.
	Regs map[string]uint64
	// Notes holds words that follow a value, such as "#PF" after the
	// vector number.
	Notes map[string]string
	// Code is the bytes at rip; Known[i] is false where the report said
	// "??" (unmapped).
	Code  []byte
	Known []bool
	// Stack is the words from rsp upwards.
	Stack []uint64
	// Complete is true when the report's end marker was seen.
	Complete bool
	// Bare is true for a report body given without its markers, as
	// qemu.Result.PanicReport holds it.
	Bare bool
	// State is the report's lines about the rest of the machine, in
	// order: where the other CPUs stopped ("stopped: cpu 1 rip 0x...
	// ring 3"), the kernel lock's holder ("lock: ..."), and each thread
	// ("thread: tid 1 blocked futex cpu 0 rip 0x...").
	State []StateLine
}

// StateLine is one line of a report's machine state: its key ("stopped",
// "lock" or "thread"), the rest of the line, and the rip it names, if any.
type StateLine struct {
	Key, Text string
	RIP       uint64
	// Stack is the words after "stack" (a stopped CPU's, from its
	// stack pointer up).
	Stack []uint64
}

// stateKeys are the keys of machine-state lines.
var stateKeys = map[string]bool{"stopped": true, "lock": true, "thread": true, "sched": true, "timers": true, "console": true}

// RIP returns the faulting instruction pointer and whether the report had it.
func (r *Report) RIP() (uint64, bool) {
	v, ok := r.Regs["rip"]
	return v, ok
}

// ParseReports returns every panic report in log, in order. The log may
// hold other lines around the reports; lines may carry the "[gometal] "
// prefix or not and may end in "\r\n". A report cut off before its end
// marker is returned with Complete false. A log without any begin marker
// is read as one bare report body if it has a rip or a reason line.
func ParseReports(log io.Reader) ([]*Report, error) {
	var reports []*Report
	var cur *Report
	bare := newReport()
	bare.Bare = true
	sc := bufio.NewScanner(log)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.Index(line, logPrefix); i >= 0 {
			line = strings.TrimSpace(line[i+len(logPrefix):])
		}
		switch {
		case strings.HasSuffix(line, endMarker):
			if cur != nil {
				cur.Complete = true
				cur = nil
			}
		case strings.HasSuffix(line, beginMarker):
			cur = newReport()
			reports = append(reports, cur)
		case cur != nil:
			cur.parseLine(line)
		case reports == nil:
			bare.parseLine(line)
		}
	}
	if _, ok := bare.RIP(); reports == nil && (ok || bare.Reason != "") {
		reports = append(reports, bare)
	}
	return reports, sc.Err()
}

func newReport() *Report {
	return &Report{Regs: map[string]uint64{}, Notes: map[string]string{}}
}

// parseLine adds one report line ("key: value key: value ...") to r.
func (r *Report) parseLine(line string) {
	key, rest, ok := strings.Cut(line, ":")
	if !ok {
		return
	}
	if k := strings.TrimSpace(key); stateKeys[k] {
		r.State = append(r.State, parseState(k, strings.TrimSpace(rest)))
		return
	}
	switch strings.TrimSpace(key) {
	case "reason":
		r.Reason = strings.TrimSpace(rest)
		return
	case "code":
		r.parseCode(rest)
		return
	case "stack":
		for _, w := range strings.Fields(rest) {
			if v, err := strconv.ParseUint(w, 0, 64); err == nil {
				r.Stack = append(r.Stack, v)
			}
		}
		return
	}
	key = ""
	for _, tok := range strings.Fields(line) {
		if k, ok := strings.CutSuffix(tok, ":"); ok {
			key = k
			continue
		}
		if key == "" {
			continue
		}
		if _, seen := r.Regs[key]; !seen {
			if v, err := strconv.ParseUint(tok, 0, 64); err == nil {
				r.Regs[key] = v
				continue
			}
		}
		note := strings.Trim(tok, "()")
		if r.Notes[key] != "" {
			note = r.Notes[key] + " " + note
		}
		r.Notes[key] = note
	}
}

// parseCode reads hex byte tokens ("0f", "??") up to the first other token.
func (r *Report) parseCode(s string) {
	for _, tok := range strings.Fields(s) {
		if tok == "??" {
			r.Code = append(r.Code, 0)
			r.Known = append(r.Known, false)
			continue
		}
		if len(tok) != 2 {
			break
		}
		v, err := strconv.ParseUint(tok, 16, 8)
		if err != nil {
			break
		}
		r.Code = append(r.Code, byte(v))
		r.Known = append(r.Known, true)
	}
}

// parseState reads a machine-state line: the number after the word "rip",
// if there is one, is its rip.
func parseState(key, text string) StateLine {
	l := StateLine{Key: key, Text: text}
	f := strings.Fields(text)
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "rip" {
			if v, err := strconv.ParseUint(f[i+1], 0, 64); err == nil {
				l.RIP = v
			}
		}
		if f[i] == "stack" {
			for _, w := range f[i+1:] {
				v, err := strconv.ParseUint(w, 0, 64)
				if err != nil {
					break
				}
				l.Stack = append(l.Stack, v)
			}
			l.Text = strings.TrimSpace(strings.Join(f[:i], " "))
			break
		}
	}
	return l
}
