package trapcheck

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	"golang.org/x/arch/x86/x86asm"
)

// A Domain is the state one kernel lock guards, checked in the linked
// image as the trap-context rules are: the code that runs without that
// lock (reachable from Roots) must not call the domain's functions nor
// name its variables (Forbidden), except past a Gate, a function that
// takes the lock before it goes on and whose callees are therefore not
// followed. The walk follows the direct calls and jumps between the
// project's own functions (not into the runtime or the standard library,
// which cannot name the kernel's packages) and the indirect ones the
// configuration's rules allow (Config.Indirect); every RIP-relative
// operand of a reached function is a variable it names. Data reached
// through a pointer is not seen: the doc comments say why each such
// access is safe (a thread's wait slot, say).
type Domain struct {
	// Name says which lock the domain is, for the report.
	Name string
	// Roots are the functions that run without the lock (symbol names).
	Roots []string
	// Forbidden are the domain's symbols, a final "*" matching any
	// suffix (a package's prefix, say).
	Forbidden []string
	// Allowed are exceptions among Forbidden: functions the walk may
	// reach and follow (a root's own helpers in its package, say).
	Allowed []string
	// Gates are the functions that take the lock: reached, not followed.
	Gates []string
	// Follow is the symbol prefix of the code the walk follows: the
	// project's own (projectPrefix) when empty.
	Follow string
}

// DomainReport is what CheckDomain found.
type DomainReport struct {
	Reached    int         // functions walked
	Functions  []string    // their names, sorted
	GatesSeen  []string    // gates the walk reached, sorted
	Violations []Violation // forbidden calls and variables, each with a shortest chain from a root
}

// projectPrefix is what the walk follows: the project's own code.
const projectPrefix = "github.com/gometal/gometal/"

// CheckDomain walks the image at path from d's roots.
func CheckDomain(path string, cfg Config, d Domain) (*DomainReport, error) {
	img, err := openImage(path)
	if err != nil {
		return nil, fmt.Errorf("trapcheck %s: %w", path, err)
	}
	var roots []*function
	for _, r := range d.Roots {
		fns := img.lookup(r)
		if len(fns) == 0 {
			return nil, fmt.Errorf("domain %s: root %s is not in the image (inlined? mark it go:noinline)", d.Name, r)
		}
		roots = append(roots, fns...)
	}
	for _, g := range d.Gates {
		if len(img.lookup(g)) == 0 {
			return nil, fmt.Errorf("domain %s: gate %s is not in the image (inlined? mark it go:noinline)", d.Name, g)
		}
	}
	return walkDomain(img, cfg, d, roots), nil
}

// domainWalk is one CheckDomain run.
type domainWalk struct {
	img     *elfImage
	d       Domain
	rules   map[string]IndirectRule
	parent  map[*function]edge
	gates   map[string]bool
	report  *DomainReport
	objects []namedSpan
	seen    map[string]bool // violations reported, by kind, function and callee
}

// namedSpan is a variable and its address range.
type namedSpan struct {
	name string
	span
}

func walkDomain(img *elfImage, cfg Config, d Domain, roots []*function) *DomainReport {
	w := &domainWalk{img: img, d: d, rules: map[string]IndirectRule{}, parent: map[*function]edge{},
		gates: map[string]bool{}, report: &DomainReport{}, seen: map[string]bool{}}
	for _, r := range cfg.Indirect {
		w.rules[r.Caller] = r
	}
	for name, sp := range img.objects {
		w.objects = append(w.objects, namedSpan{name, sp})
	}
	sort.Slice(w.objects, func(i, j int) bool { return w.objects[i].start < w.objects[j].start })
	queue := roots
	for _, r := range roots {
		w.parent[r] = edge{}
	}
	for len(queue) > 0 {
		fn := queue[0]
		queue = queue[1:]
		w.report.Reached++
		w.report.Functions = append(w.report.Functions, fn.name)
		w.variables(fn)
		for _, t := range w.callees(fn) {
			if _, seen := w.parent[t.to]; seen || !w.enter(fn, t) {
				continue
			}
			w.parent[t.to] = t
			queue = append(queue, t.to)
		}
	}
	for g := range w.gates {
		w.report.GatesSeen = append(w.report.GatesSeen, g)
	}
	sort.Strings(w.report.GatesSeen)
	sort.Strings(w.report.Functions)
	return w.report
}

// callees returns fn's direct transfers to other functions and the
// targets of its allowed indirect ones.
func (w *domainWalk) callees(fn *function) []edge {
	info := w.img.analyze(fn)
	var out []edge
	for _, s := range info.calls {
		if s.target != nil {
			out = append(out, edge{fn, s, s.target})
		}
	}
	if len(info.indirect) == 0 {
		return out
	}
	r, ok := w.rules[fn.name]
	if !ok {
		w.violate(fn, nil, "indirect call", info.indirect[0])
		return out
	}
	for _, t := range w.ruleTargets(r) {
		out = append(out, edge{fn, info.indirect[0], t})
	}
	return out
}

// ruleTargets returns what an indirect rule allows.
func (w *domainWalk) ruleTargets(r IndirectRule) []*function {
	if r.Table != "" {
		fns, _ := w.img.tableFuncs(r.Table)
		return fns
	}
	var out []*function
	for _, f := range w.img.funcs {
		if matchAny(r.Targets, f.name) {
			out = append(out, f)
		}
	}
	return out
}

// enter decides about the transfer e: a gate is recorded and not
// followed, a forbidden function is a violation, code outside the
// project is not followed.
func (w *domainWalk) enter(from *function, e edge) bool {
	name := strings.TrimSuffix(e.to.name, ".abi0")
	switch {
	case matchAny(w.d.Gates, name):
		w.gates[name] = true
		return false
	case matchAny(w.d.Forbidden, name) && !matchAny(w.d.Allowed, name):
		w.violate(from, e.to, "call into the "+w.d.Name+" lock's domain", e.site)
		return false
	}
	follow := w.d.Follow
	if follow == "" {
		follow = projectPrefix
	}
	return strings.HasPrefix(name, follow)
}

// variables reports every forbidden variable fn names.
func (w *domainWalk) variables(fn *function) {
	fc, _ := w.img.decode(fn)
	for _, d := range fc.insts {
		for _, a := range d.in.Args {
			m, ok := a.(x86asm.Mem)
			if !ok || m.Base != x86asm.RIP {
				continue
			}
			addr := d.pc + uint64(d.in.Len) + uint64(m.Disp)
			if v := w.objectAt(addr); v != "" && matchAny(w.d.Forbidden, v) && !matchAny(w.d.Allowed, v) {
				w.violate(fn, nil, "variable "+v+" of the "+w.d.Name+" lock's domain", site{pc: d.pc, inst: x86asm.GoSyntax(d.in, d.pc, w.img.symName)})
			}
		}
	}
}

// objectAt names the variable at addr, or "".
func (w *domainWalk) objectAt(addr uint64) string {
	i := sort.Search(len(w.objects), func(i int) bool { return w.objects[i].start > addr }) - 1
	if i >= 0 && addr < w.objects[i].end {
		return w.objects[i].name
	}
	return ""
}

// violate records a violation at s in fn, with a shortest chain from a root.
func (w *domainWalk) violate(fn, to *function, kind string, s site) {
	key := kind + "|" + fn.name + "|" + nameOf(to)
	if w.seen[key] {
		return
	}
	w.seen[key] = true
	var rev []Link
	pc := s.pc
	for f := fn; f != nil; {
		rev = append(rev, Link{Func: f.name, PC: pc, Pos: w.img.pos(pc)})
		e := w.parent[f]
		f, pc = e.from, e.site.pc
	}
	chain := make([]Link, 0, len(rev)+1)
	for i := len(rev) - 1; i >= 0; i-- {
		chain = append(chain, rev[i])
	}
	if to != nil {
		chain = append(chain, Link{Func: to.name})
	}
	w.report.Violations = append(w.report.Violations, Violation{Kind: kind, Detail: s.inst, Chain: chain})
}

// matchAny reports whether name matches one of patterns (match).
func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if match(p, name) {
			return true
		}
	}
	return false
}

// TableEntries returns, for each entry of the statically initialized
// array variable name whose entries are stride bytes long, the function
// its first word holds as a Go function value (nil for an empty entry).
func TableEntries(path, name string, stride int) ([]string, error) {
	img, err := openImage(path)
	if err != nil {
		return nil, err
	}
	data, err := img.variable(name)
	if err != nil {
		return nil, err
	}
	if stride <= 0 || len(data)%stride != 0 {
		return nil, fmt.Errorf("table %s: %d bytes is not a whole number of %d-byte entries", name, len(data), stride)
	}
	out := make([]string, len(data)/stride)
	for i := range out {
		fv := img.readConst(binary.LittleEndian.Uint64(data[i*stride:]), 8)
		if fv == nil {
			continue
		}
		if fn := img.funcAt(binary.LittleEndian.Uint64(fv)); fn != nil {
			out[i] = fn.name
		}
	}
	return out, nil
}

// Variable returns the initial contents of the variable name in the
// image at path.
func Variable(path, name string) ([]byte, error) {
	img, err := openImage(path)
	if err != nil {
		return nil, err
	}
	return img.variable(name)
}

// variable returns name's initial contents.
func (b *elfImage) variable(name string) ([]byte, error) {
	sp, ok := b.objects[name]
	if !ok {
		return nil, fmt.Errorf("variable %s is not in the image", name)
	}
	data := b.read(sp.start, sp.end-sp.start)
	if data == nil {
		return nil, fmt.Errorf("variable %s has no initial contents in the image", name)
	}
	return data, nil
}

// Callees returns the names of the functions that fn (a symbol name)
// calls or jumps to directly in the image at path, sorted and without
// repeats.
func Callees(path, fn string) ([]string, error) {
	img, err := openImage(path)
	if err != nil {
		return nil, err
	}
	fns := img.lookup(fn)
	if len(fns) == 0 {
		return nil, fmt.Errorf("%s is not in the image", fn)
	}
	seen := map[string]bool{}
	var out []string
	for _, s := range img.analyze(fns[0]).calls {
		if s.target != nil && !seen[s.target.name] {
			seen[s.target.name] = true
			out = append(out, s.target.name)
		}
	}
	sort.Strings(out)
	return out, nil
}
