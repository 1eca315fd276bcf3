package kernel

import (
	"go/ast"
	"go/parser"
	"go/token"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestFastTrapBeforeLeavingUser checks an ordering no boot test can catch
// reliably: userTrap must call fastTrap (whose clock_gettime writes user
// memory without the kernel lock) before it clears c.InUser. A CPU with
// InUser clear is one tlb.Shootdown no longer waits for, so clearing it
// first let a concurrent munmap free a page this CPU was still about to
// write through a stale translation.
func TestFastTrapBeforeLeavingUser(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "trap.go", nil, 0)
	require.NoError(t, err)
	var body *ast.BlockStmt
	for _, d := range f.Decls {
		if fd, ok := d.(*ast.FuncDecl); ok && fd.Name.Name == "userTrap" {
			body = fd.Body
		}
	}
	require.NotNil(t, body, "userTrap not found in trap.go")
	fast, clear := token.NoPos, token.NoPos
	ast.Inspect(body, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		switch fn := call.Fun.(type) {
		case *ast.Ident:
			if fn.Name == "fastTrap" && fast == token.NoPos {
				fast = call.Pos()
			}
		case *ast.SelectorExpr:
			recv, ok := fn.X.(*ast.SelectorExpr)
			if ok && recv.Sel.Name == "InUser" && fn.Sel.Name == "Store" && len(call.Args) == 1 {
				if arg, ok := call.Args[0].(*ast.Ident); ok && arg.Name == "false" && clear == token.NoPos {
					clear = call.Pos()
				}
			}
		}
		return true
	})
	require.True(t, fast.IsValid(), "userTrap does not call fastTrap")
	require.True(t, clear.IsValid(), "userTrap does not clear inUser")
	require.Less(t, fast, clear, "userTrap clears inUser (%s) before fastTrap (%s) has written user memory", fset.Position(clear), fset.Position(fast))
}
