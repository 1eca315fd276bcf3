package trapcheck

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// Report is the outcome of a check.
type Report struct {
	// Roots are the entry points checked, as resolved in the image.
	Roots []string
	// RootDepths is the stack each root needs, entry bytes included.
	RootDepths []RootDepth
	// Reachable counts the functions reachable from them; Functions
	// names them, sorted.
	Reachable int
	Functions []string
	// Violations are the reasons the check fails; empty means it passed.
	Violations []Violation
	// Checks counts, per function, the calls to compiler-inserted check
	// failures (index out of range, division by zero, ...): informational.
	Checks map[string]int
	// MaxDepth is the most stack any root needs, in bytes; Deepest is that
	// chain and Limit the configured bound (0: none).
	MaxDepth int64
	Deepest  []Link
	Limit    int64
}

// RootDepth is the stack one root needs.
type RootDepth struct {
	Func  string
	Depth int64
}

// Violation is one rule broken, with the call chain from a root.
type Violation struct {
	Kind   string // "allocation", "write barrier", "panic", "indirect call", "recursion", ...
	Detail string
	Chain  []Link
}

// Link is one function on a chain.
type Link struct {
	Func  string
	PC    uint64 // the call site in Func that leads on (or the offending instruction); 0 if none
	Pos   string // PC's source position, "file.go:line", if the image knows it
	Frame int64  // stack bytes Func uses itself (deepest chain only)
	Depth int64  // stack bytes in use when Func is entered (deepest chain only)
}

// OK reports whether the check passed.
func (r *Report) OK() bool { return len(r.Violations) == 0 }

// String formats a violation as its kind, detail and chain.
func (v Violation) String() string {
	var b strings.Builder
	b.WriteString(v.Kind)
	if v.Detail != "" {
		b.WriteString(": " + v.Detail)
	}
	for i, l := range v.Chain {
		fmt.Fprintf(&b, "\n    %s%s", strings.Repeat("  ", min(i, 1)), l.Func)
		if l.PC != 0 {
			fmt.Fprintf(&b, " @ %#x", l.PC)
		}
		if l.Pos != "" {
			fmt.Fprintf(&b, " (%s)", l.Pos)
		}
	}
	return b.String()
}

// WriteTo prints the report: the roots and their stack depth, the
// deepest chain, the check-failure total and the violations with their
// chains. WriteChecks adds the per-function check-failure counts.
func (r *Report) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	b.WriteString("roots (stack bytes needed):\n")
	for _, d := range r.RootDepths {
		fmt.Fprintf(&b, "  %6d  %s\n", d.Depth, d.Func)
	}
	fmt.Fprintf(&b, "reachable functions: %d\n", r.Reachable)
	fmt.Fprintf(&b, "max stack depth: %d bytes", r.MaxDepth)
	if r.Limit > 0 {
		fmt.Fprintf(&b, " (limit %d)", r.Limit)
	}
	b.WriteString("\ndeepest chain (entry depth + own frame):\n")
	for _, l := range r.Deepest {
		fmt.Fprintf(&b, "  %6d + %5d  %s\n", l.Depth, l.Frame, l.Func)
	}
	total := 0
	for _, k := range r.Checks {
		total += k
	}
	fmt.Fprintf(&b, "check failures (informational: bounds, divide, shift, nil, type assertion): %d call sites in %d functions\n", total, len(r.Checks))
	for _, v := range r.Violations {
		fmt.Fprintf(&b, "FAIL %s\n", v)
	}
	if r.OK() {
		b.WriteString("PASS\n")
	} else {
		fmt.Fprintf(&b, "FAIL: %d violation(s)\n", len(r.Violations))
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

// WriteChecks prints the check-failure call sites per function.
func (r *Report) WriteChecks(w io.Writer) error {
	names := make([]string, 0, len(r.Checks))
	for n := range r.Checks {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "  %4d  %s\n", r.Checks[n], n)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
