package percpu

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTLSSlot checks the slot compiled code loads g from: FS base is
// &TLSEnd while in the kernel (KernelFS) and the code reads [FS-8], which
// must be TLSG, the pointer to the kernel g that start64 stores.
func TestTLSSlot(t *testing.T) {
	var c CPU
	assert.Equal(t, unsafe.Offsetof(c.TLSEnd)-8, unsafe.Offsetof(c.TLSG))
	assert.Equal(t, 0, int(unsafe.Offsetof(c.Self)), "Self first: a pointer to the CPU is its GS base")
}

// TestKernelGMatchesRuntime checks that KernelG's first four words are
// where this toolchain's runtime.g keeps the stack bounds and guards that
// function prologues compare against (runtime2.go: stack{lo, hi},
// stackguard0, stackguard1).
func TestKernelGMatchesRuntime(t *testing.T) {
	src := filepath.Join(runtime.GOROOT(), "src", "runtime", "runtime2.go")
	f, err := parser.ParseFile(token.NewFileSet(), src, nil, 0)
	require.NoError(t, err)
	assert.Equal(t, []string{"lo", "hi"}, firstFields(t, f, "stack", 2))
	assert.Equal(t, []string{"stack", "stackguard0", "stackguard1"}, firstFields(t, f, "g", 3))

	var g KernelG
	assert.Equal(t, []uintptr{0, 8, 16, 24}, []uintptr{
		unsafe.Offsetof(g.StackLo), unsafe.Offsetof(g.StackHi),
		unsafe.Offsetof(g.Stackguard0), unsafe.Offsetof(g.Stackguard1),
	})
}

// firstFields returns the names of the first n fields of struct type name
// in f, each field of one word.
func firstFields(t *testing.T, f *ast.File, name string, n int) []string {
	obj := f.Scope.Lookup(name)
	require.NotNil(t, obj, "runtime.%s", name)
	st, ok := obj.Decl.(*ast.TypeSpec).Type.(*ast.StructType)
	require.True(t, ok, "runtime.%s is a struct", name)
	var out []string
	for _, fld := range st.Fields.List {
		for _, id := range fld.Names {
			if len(out) < n {
				out = append(out, id.Name)
			}
		}
	}
	return out
}
