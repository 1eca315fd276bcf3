package trapcheck

import "fmt"

// recursion finds the strongly connected components of the reached call
// graph (Tarjan's algorithm) and reports each cycle: the checker cannot
// bound the stack depth of recursion.
func (c *checker) recursion() {
	index := map[*function]int{}
	low := map[*function]int{}
	onStack := map[*function]bool{}
	var stack []*function
	var strong func(fn *function)
	strong = func(fn *function) {
		index[fn] = len(index)
		low[fn] = index[fn]
		stack = append(stack, fn)
		onStack[fn] = true
		for _, e := range c.out[fn] {
			if _, seen := index[e.to]; !seen {
				strong(e.to)
				low[fn] = min(low[fn], low[e.to])
			} else if onStack[e.to] {
				low[fn] = min(low[fn], index[e.to])
			}
		}
		if low[fn] != index[fn] {
			return
		}
		comp := map[*function]bool{}
		for {
			top := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			onStack[top] = false
			comp[top] = true
			if top == fn {
				break
			}
		}
		if len(comp) > 1 || c.selfCall(fn) {
			c.reportCycle(fn, comp)
			for f := range comp {
				c.cyclic[f] = true
			}
		}
	}
	for _, fn := range c.order {
		if _, seen := index[fn]; !seen {
			strong(fn)
		}
	}
}

func (c *checker) selfCall(fn *function) bool {
	for _, e := range c.out[fn] {
		if e.to == fn {
			return true
		}
	}
	return false
}

// reportCycle reports one cycle through fn inside the component comp,
// after the path from a root to fn.
func (c *checker) reportCycle(fn *function, comp map[*function]bool) {
	// Breadth-first from fn back to fn, staying inside comp.
	prev := map[*function]edge{}
	queue := []*function{fn}
	var closing edge
	for len(queue) > 0 && closing.from == nil {
		f := queue[0]
		queue = queue[1:]
		for _, e := range c.out[f] {
			if e.to == fn {
				closing = e
				break
			}
			if _, seen := prev[e.to]; !seen && comp[e.to] {
				prev[e.to] = e
				queue = append(queue, e.to)
			}
		}
	}
	var cycle []edge
	for e := closing; ; e = prev[e.from] {
		cycle = append([]edge{e}, cycle...)
		if e.from == fn {
			break
		}
	}
	chain := c.chainTo(fn)
	for _, e := range cycle {
		chain[len(chain)-1].PC = e.site.pc
		chain = append(chain, Link{Func: e.to.name})
	}
	c.report.Violations = append(c.report.Violations, Violation{
		Kind:   "recursion",
		Detail: fmt.Sprintf("%s calls itself through %d function(s): the stack depth has no static bound", fn.name, len(cycle)-1),
		Chain:  chain,
	})
}

// depth computes the most stack each root needs: its entry bytes plus,
// along the deepest call chain, each function's frame (the bytes it
// pushes and subtracts below its entry SP, return addresses included).
// Edges inside a cycle are left out; the cycle itself was reported.
func (c *checker) depth(roots map[*function]int64) {
	memo := map[*function]int64{}
	next := map[*function]edge{}
	var need func(fn *function) int64
	need = func(fn *function) int64 {
		if d, ok := memo[fn]; ok {
			return d
		}
		memo[fn] = 0 // breaks cycles
		d := c.img.analyze(fn).frame
		for _, e := range c.out[fn] {
			if c.cyclic[fn] && c.cyclic[e.to] {
				continue
			}
			v := e.site.sp + need(e.to)
			if !e.site.tail {
				v += 8 // the return address
			}
			if v > d {
				d, next[fn] = v, e
			}
		}
		memo[fn] = d
		return d
	}
	var deepest *function
	for _, fn := range sortedFuncs(roots) {
		d := roots[fn] + need(fn)
		c.report.RootDepths = append(c.report.RootDepths, RootDepth{Func: fn.name, Depth: d})
		if deepest == nil || d > c.report.MaxDepth {
			deepest, c.report.MaxDepth = fn, d
		}
	}
	if deepest == nil {
		return
	}
	sp := roots[deepest]
	for fn := deepest; fn != nil; {
		l := Link{Func: fn.name, Depth: sp, Frame: c.img.analyze(fn).frame}
		e, ok := next[fn]
		if !ok {
			c.report.Deepest = append(c.report.Deepest, l)
			break
		}
		l.PC = e.site.pc
		c.report.Deepest = append(c.report.Deepest, l)
		sp += e.site.sp
		if !e.site.tail {
			sp += 8
		}
		fn = e.to
	}
	if lim := c.cfg.StackLimit; lim > 0 && c.report.MaxDepth > lim {
		c.report.Violations = append(c.report.Violations, Violation{
			Kind:   "stack depth",
			Detail: fmt.Sprintf("%s needs %d bytes of stack, more than the %d the kernel stack guarantees", deepest.name, c.report.MaxDepth, lim),
			Chain:  c.report.Deepest,
		})
	}
}
