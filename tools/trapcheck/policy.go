package trapcheck

import "strings"

// Kind is what reaching a function means in trap context.
type Kind int

const (
	// Follow is ordinary code: its own calls are checked in turn.
	Follow Kind = iota
	// Alloc is the heap allocator, or code that always calls it.
	Alloc
	// WriteBarrier is the GC write barrier or a typed copy that runs it.
	WriteBarrier
	// Panic is gopanic or the runtime's throw and fatal paths.
	Panic
	// CheckFailure is a compiler-inserted check's failure path (index,
	// slice, division, shift, nil, type assertion). It panics, which in
	// trap context faults into a kernel panic report: counted, not failed.
	CheckFailure
	// StackGrowth is morestack, called by function prologues when the
	// stack guard is crossed. In trap context only an overflow gets there,
	// so the checker bounds the stack depth instead of failing the call.
	StackGrowth
)

var kindNames = map[Kind]string{
	Follow: "code", Alloc: "allocation", WriteBarrier: "write barrier",
	Panic: "panic", CheckFailure: "check failure", StackGrowth: "stack growth",
}

func (k Kind) String() string { return kindNames[k] }

// runtimeKinds lists the runtime functions that are not Follow. A name
// ending in "*" is a prefix.
var runtimeKinds = map[Kind][]string{
	Alloc: {
		"runtime.mallocgc*", "runtime.newobject", "runtime.newarray", "runtime.makeslice*",
		"runtime.growslice", "runtime.makemap*", "runtime.mapassign*", "runtime.makechan*",
		"runtime.convT*", "runtime.concatstring*", "runtime.concatbyte*",
		"runtime.slicebytetostring", "runtime.slicerunetostring", "runtime.stringtoslicebyte",
		"runtime.stringtoslicerune", "runtime.intstring", "runtime.rawstring*",
		"runtime.rawbyteslice", "runtime.rawruneslice", "runtime.deferproc", "runtime.newproc*",
		"runtime.malg",
	},
	WriteBarrier: {
		"runtime.gcWriteBarrier*", "runtime.wbBufFlush*", "runtime.wbZero", "runtime.wbMove",
		"runtime.typedmemmove", "runtime.typedmemclr", "runtime.typedslicecopy",
		"runtime.memclrHasPointers", "runtime.bulkBarrierPreWrite*", "runtime.bulkBarrierBitmap",
		"runtime.reflect_typedmemmove", "runtime.atomicwb", "runtime.atomicstorep",
	},
	Panic: {
		"runtime.gopanic", "runtime.throw", "runtime.fatal", "runtime.fatalthrow",
		"runtime.fatalpanic", "runtime.panicwrap", "runtime.abort",
	},
	CheckFailure: {
		"runtime.panicBounds*", "runtime.panicExtend*", "runtime.goPanicIndex*",
		"runtime.goPanicSlice*", "runtime.panicIndex*", "runtime.panicSlice*",
		"runtime.panicdivide", "runtime.panicshift", "runtime.panicmem*", "runtime.panicunsafe*",
		"runtime.panicdottype*", "runtime.panicnildottype", "runtime.panicrangestate",
		"runtime.panicoverflow", "runtime.panicfloat",
	},
	StackGrowth: {"runtime.morestack", "runtime.morestack_noctxt", "runtime.morestackc"},
}

// Classify returns the Kind of the function with the given symbol name
// (an ".abi0" suffix is ignored).
func Classify(name string) Kind {
	name = strings.TrimSuffix(name, ".abi0")
	for k, patterns := range runtimeKinds {
		for _, p := range patterns {
			if match(p, name) {
				return k
			}
		}
	}
	return Follow
}

// match reports whether name matches pattern: equal, or starting with
// pattern's text before a final "*".
func match(pattern, name string) bool {
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, p)
	}
	return pattern == name
}
