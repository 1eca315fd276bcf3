package bench

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Report is what one guest run of bench/workload printed (the protocol is
// described in bench/workload/report.go). Lines that are not part of the
// protocol (a kernel's messages, the program's other output) are ignored.
type Report struct {
	// Main is set when the BENCH-MAIN marker was seen.
	Main bool
	// BootTimeNS is the guest's CLOCK_BOOTTIME at main, -1 if unknown.
	BootTimeNS int64
	// Info holds the BENCH-INFO fields (numcpu, gomaxprocs, go).
	Info map[string]string
	// Results holds the results by name, in the order printed.
	Results []Result
	// Done is set when the BENCH-DONE line was seen.
	Done bool
}

// Result is one BENCH line: a value with its unit, or the reason why the
// guest could not measure it.
type Result struct {
	Name  string
	Value float64
	Unit  string
	NA    string // not empty: the result is not available, for this reason
}

// NumCPU returns the guest's runtime.NumCPU from BENCH-INFO, or 0.
func (r *Report) NumCPU() int {
	n, _ := strconv.Atoi(r.Info["numcpu"])
	return n
}

// Result returns the result with that name.
func (r *Report) Result(name string) (Result, bool) {
	for _, res := range r.Results {
		if res.Name == name {
			return res, true
		}
	}
	return Result{}, false
}

// ParseReport reads the protocol lines out of a program's output. A
// malformed protocol line is an error; so is a result without a name.
func ParseReport(out []byte) (*Report, error) {
	r := &Report{BootTimeNS: -1, Info: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimRight(sc.Text(), "\r")
		kind, rest, _ := strings.Cut(line, " ")
		if kind != "BENCH" && !strings.HasPrefix(kind, "BENCH-") {
			continue
		}
		fields, err := parseFields(rest)
		if err != nil {
			return r, fmt.Errorf("output line %d %q: %w", n, line, err)
		}
		if err := r.add(kind, fields); err != nil {
			return r, fmt.Errorf("output line %d %q: %w", n, line, err)
		}
	}
	return r, sc.Err()
}

// add records one protocol line.
func (r *Report) add(kind string, f map[string]string) error {
	switch kind {
	case "BENCH-MAIN":
		r.Main = true
		if v, ok := f["boottime_ns"]; ok {
			ns, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				return fmt.Errorf("boottime_ns: %w", err)
			}
			r.BootTimeNS = ns
		}
	case "BENCH-INFO":
		for k, v := range f {
			r.Info[k] = v
		}
	case "BENCH-DONE":
		r.Done = true
	case "BENCH":
		res, err := parseResult(f)
		if err != nil {
			return err
		}
		r.Results = append(r.Results, res)
	default:
		return fmt.Errorf("unknown line kind %s", kind)
	}
	return nil
}

// parseResult turns the fields of a BENCH line into a Result.
func parseResult(f map[string]string) (Result, error) {
	res := Result{Name: f["name"], Unit: f["unit"], NA: f["na"]}
	if res.Name == "" {
		return res, fmt.Errorf("result without a name")
	}
	if _, ok := f["na"]; ok {
		if res.NA == "" {
			res.NA = "not available"
		}
		return res, nil
	}
	v, ok := f["value"]
	if !ok {
		return res, fmt.Errorf("result %s has neither value nor na", res.Name)
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return res, fmt.Errorf("result %s: %w", res.Name, err)
	}
	res.Value = x
	return res, nil
}

// parseFields splits `k=v k="quoted v"` into a map. Values are bare words
// or Go-quoted strings.
func parseFields(s string) (map[string]string, error) {
	f := map[string]string{}
	for s = strings.TrimLeft(s, " "); s != ""; s = strings.TrimLeft(s, " ") {
		key, rest, ok := strings.Cut(s, "=")
		if !ok || key == "" || strings.ContainsAny(key, " \"") {
			return nil, fmt.Errorf("field %q is not key=value", firstWord(s))
		}
		var val string
		if strings.HasPrefix(rest, `"`) {
			q, err := strconv.QuotedPrefix(rest)
			if err != nil {
				return nil, fmt.Errorf("field %s: bad quoted value", key)
			}
			val, _ = strconv.Unquote(q)
			rest = rest[len(q):]
			if rest != "" && rest[0] != ' ' {
				return nil, fmt.Errorf("field %s: text after the quoted value", key)
			}
		} else {
			val, rest, _ = strings.Cut(rest, " ")
		}
		if _, dup := f[key]; dup {
			return nil, fmt.Errorf("field %s given twice", key)
		}
		f[key] = val
		s = rest
	}
	return f, nil
}

// firstWord returns s up to its first space.
func firstWord(s string) string {
	w, _, _ := strings.Cut(s, " ")
	return w
}
