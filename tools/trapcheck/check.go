package trapcheck

import (
	"fmt"
	"sort"
	"strings"
)

// edge is a followed transfer from one function to another.
type edge struct {
	from *function
	site site
	to   *function
}

// checker holds one run over one image.
type checker struct {
	img     *elfImage
	cfg     Config
	rules   map[string]IndirectRule
	parent  map[*function]edge // how BFS first reached each function; roots have none
	order   []*function        // reached functions, in BFS order
	out     map[*function][]edge
	report  *Report
	seenBad map[string]bool    // dedupes violations by caller and target
	cyclic  map[*function]bool // functions on a reported cycle
}

// CheckFile checks the image at path against cfg.
func CheckFile(path string, cfg Config) (*Report, error) {
	img, err := openImage(path)
	if err != nil {
		return nil, fmt.Errorf("trapcheck %s: %w", path, err)
	}
	return check(img, cfg)
}

func check(img *elfImage, cfg Config) (*Report, error) {
	c := &checker{
		img: img, cfg: cfg, rules: map[string]IndirectRule{},
		parent: map[*function]edge{}, out: map[*function][]edge{},
		report:  &Report{Limit: cfg.StackLimit, Checks: map[string]int{}},
		seenBad: map[string]bool{}, cyclic: map[*function]bool{},
	}
	for _, r := range cfg.Indirect {
		c.rules[r.Caller] = r
	}
	roots, err := c.roots()
	if err != nil {
		return nil, err
	}
	c.walk(roots)
	c.report.Reachable = len(c.order)
	for _, fn := range c.order {
		c.report.Functions = append(c.report.Functions, fn.name)
	}
	sort.Strings(c.report.Functions)
	c.recursion()
	c.depth(roots)
	c.positions()
	return c.report, nil
}

// positions fills in the source positions of every chain's links.
func (c *checker) positions() {
	fill := func(chain []Link) {
		for i := range chain {
			chain[i].Pos = c.img.pos(chain[i].PC)
		}
	}
	for _, v := range c.report.Violations {
		fill(v.Chain)
	}
	fill(c.report.Deepest)
}

// roots resolves the configured roots to functions.
func (c *checker) roots() (map[*function]int64, error) {
	roots := map[*function]int64{}
	for _, r := range c.cfg.Roots {
		fns := c.img.lookup(r.Name)
		if len(fns) == 0 {
			if r.Optional {
				continue
			}
			return nil, fmt.Errorf("root %s: no such function in the image", r.Name)
		}
		for _, fn := range fns {
			if _, dup := roots[fn]; !dup {
				c.report.Roots = append(c.report.Roots, fn.name)
			}
			roots[fn] = max(roots[fn], r.Entry)
		}
	}
	return roots, nil
}

// walk visits everything reachable from the roots, breadth first, so
// that the chain reported for a violation is a shortest one.
func (c *checker) walk(roots map[*function]int64) {
	queue := make([]*function, 0, len(roots))
	for _, fn := range sortedFuncs(roots) {
		c.parent[fn] = edge{}
		queue = append(queue, fn)
	}
	for len(queue) > 0 {
		fn := queue[0]
		queue = queue[1:]
		c.order = append(c.order, fn)
		info := c.img.analyze(fn)
		for _, p := range info.problems {
			c.violate(fn, nil, "unchecked code", p, site{})
		}
		for _, s := range info.calls {
			if t := c.follow(fn, s, s.target); t != nil && !c.reached(t) {
				c.parent[t] = edge{fn, s, t}
				queue = append(queue, t)
			}
		}
		for _, s := range info.indirect {
			for _, t := range c.indirectTargets(fn, s) {
				if c.follow(fn, s, t) == t && !c.reached(t) {
					c.parent[t] = edge{fn, s, t}
					queue = append(queue, t)
				}
			}
		}
	}
}

func (c *checker) reached(fn *function) bool {
	_, ok := c.parent[fn]
	return ok
}

// follow classifies the transfer s from fn to t and returns t if its code
// is to be checked in turn.
func (c *checker) follow(fn *function, s site, t *function) *function {
	if t == nil {
		c.violate(fn, nil, "unknown target", "transfer to an address outside every function: "+s.inst, s)
		return nil
	}
	if c.ring3(t.name) {
		c.violate(fn, t, "ring-3 code", "", s)
		return nil
	}
	switch k := Classify(t.name); k {
	case Follow:
		c.out[fn] = append(c.out[fn], edge{fn, s, t})
		return t
	case CheckFailure:
		c.report.Checks[fn.name]++
	case StackGrowth:
		// Bounded by the depth check.
	default:
		c.violate(fn, t, k.String(), "", s)
	}
	return nil
}

// ring3 reports whether name is in the configuration's ring-3 code.
func (c *checker) ring3(name string) bool {
	for _, p := range c.cfg.Ring3 {
		if match(p, strings.TrimSuffix(name, ".abi0")) {
			return true
		}
	}
	return false
}

// indirectTargets returns the functions an allowed indirect transfer can
// reach; an indirect transfer with no rule is a violation.
func (c *checker) indirectTargets(fn *function, s site) []*function {
	r, ok := c.rules[fn.name]
	if !ok {
		c.violate(fn, nil, "indirect call", s.inst+" (no allowlist entry for "+fn.name+")", s)
		return nil
	}
	if r.Table != "" {
		fns, err := c.img.tableFuncs(r.Table)
		if err != nil {
			c.violate(fn, nil, "indirect call", s.inst+" ("+err.Error()+")", s)
		}
		return fns
	}
	var out []*function
	for _, f := range c.img.funcs {
		for _, p := range r.Targets {
			if match(p, f.name) {
				out = append(out, f)
				break
			}
		}
	}
	return out
}

// violate records a violation at site s of fn (calling to, if not nil).
func (c *checker) violate(fn, to *function, kind, detail string, s site) {
	key := fmt.Sprintf("%s|%s|%s|%s", kind, fn.name, detail, nameOf(to))
	if c.seenBad[key] {
		return
	}
	c.seenBad[key] = true
	chain := c.chainTo(fn)
	chain[len(chain)-1].PC = s.pc
	if to != nil {
		chain = append(chain, Link{Func: to.name})
	}
	c.report.Violations = append(c.report.Violations, Violation{Kind: kind, Detail: detail, Chain: chain})
}

// chainTo returns the BFS path from a root to fn, each link naming the
// call site in its function that leads to the next.
func (c *checker) chainTo(fn *function) []Link {
	var rev []Link
	pc := uint64(0)
	for f := fn; f != nil; {
		rev = append(rev, Link{Func: f.name, PC: pc})
		e := c.parent[f]
		f, pc = e.from, e.site.pc
	}
	chain := make([]Link, len(rev))
	for i, l := range rev {
		chain[len(rev)-1-i] = l
	}
	return chain
}

func nameOf(fn *function) string {
	if fn == nil {
		return ""
	}
	return fn.name
}

// sortedFuncs returns m's keys by address, for a stable order.
func sortedFuncs[V any](m map[*function]V) []*function {
	out := make([]*function, 0, len(m))
	for fn := range m {
		out = append(out, fn)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].start < out[j].start })
	return out
}
