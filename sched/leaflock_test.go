package sched

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The futex hash buckets' spinlocks are leaves of the lock order: nothing
// is taken, and nothing waited for, while one is held (futex.go). The
// ranked locks' order is checked at run time (kernel/klock/rank.go); the
// bucket locks are outside it, so this test checks the rule in the source:
// between a bucket lock's acquisition and its release (f.lockBucket and
// f.unlockBucket in this package, Futexes.Lock and Futexes.Unlock
// elsewhere) in the same block, every call must be to a function on
// leafCalls, and this package's functions there are checked the same way,
// transitively. A new call under a bucket lock fails here until it is
// shown to take no lock and wait for nothing, and added to the list.

// leafCalls are the functions that may be called with a bucket lock held,
// by the name the call uses ("pkg.Func" for another package's, "Func"
// or the method name for this package's).
var leafCalls = map[string]string{
	"dequeue":                     "this package: walks one chain (checked below)",
	"unlink":                      "this package: edits one chain (checked below)",
	"WaitLocked":                  "this package: queues on one chain (checked below)",
	"NapWaitLocked":               "this package: queues a napping waiter on one chain (checked below)",
	"enqueue":                     "this package: appends to one chain (checked below)",
	"oldest":                      "this package: walks one chain (checked below)",
	"claimLocked":                 "this package: Claim's decision on one chain (checked below)",
	"removeLocked":                "this package: walks and edits one chain (checked below)",
	"wakeNapper":                  "this package: two atomics (checked below)",
	"atomic.LoadUint32":           "one load",
	"atomic.CompareAndSwapUint32": "one locked compare-and-swap",
	"napping":                     "this package: one load (checked below)",
	"bucket":                      "this package: a hash (checked below)",
	"atomic.StoreUint32":          "one locked store",
	"atomic.AddInt32":             "one locked add",
	"vm.Load32":                   "a fault-tolerant load of the futex word: never waits, takes no lock (kernel/vm/usercopy.go)",
	"wakesHere":                   "this package: ClaimHere's loads (checked below)",
	"ontoNapper":                  "this package: ClaimOnto's loads (checked below)",
	"Timers.Pending":              "one load",
	"RunQ.Len":                    "one load (a CPU's queue length: sched/runqueue.go)",
	"leftCPU":                     "this package: one load (checked below)",
	"WaitHereLocked":              "this package: queues and blocks a FUTEX_WAIT's thread, its timeout in its CPU's heap (checked below)",
	"Timers.Set":                  "heap edits and one locked add: no lock, no wait (sched/timers.go)",
	"atomic.StoreInt32":           "one store",
	"timeoutOn":                   "this package: two loads (checked below)",
	"idleCPU":                     "this package: loads (checked below)",
	"nappingCPU":                  "this package: loads (checked below)",
	"noneIdle":                    "this package: idleCPU and nappingCPU (checked below)",
	"atomic.LoadInt32":            "one load",
	"Block":                       "this package: two stores (checked below); kernel/thread's: those and one more",
	"thread.Block":                "two stores and sched's Block (kernel/thread/thread.go)",
}

// lockCalls and unlockCalls name the acquisitions and releases of a bucket
// lock, by the name the call uses (callName: "Lock" is Futexes.Lock).
var (
	lockCalls   = map[string]bool{"lockBucket": true, "Lock": true}
	unlockCalls = map[string]bool{"unlockBucket": true, "Unlock": true}
)

// callName is the name a call uses: "f" for f(); the method name alone
// for a method of this package's Futexes or Scheduler (f.dequeue,
// s.Futexes.Claim, fx.Lock with fx the kernel's name for the futex
// table, threadtab.Sched.Futexes.Lock and threadtab.Sched.WaitHereLocked
// are "dequeue", "Claim", "Lock", "Lock" and "WaitHereLocked"); else
// "x.f" for x.f() or a.b.x.f(), x an identifier.
func callName(call *ast.CallExpr) string {
	switch fn := call.Fun.(type) {
	case *ast.Ident:
		return fn.Name
	case *ast.SelectorExpr:
		switch x := fn.X.(type) {
		case *ast.Ident:
			if x.Name == "f" || x.Name == "s" || x.Name == "fx" {
				return fn.Sel.Name
			}
			return x.Name + "." + fn.Sel.Name
		case *ast.SelectorExpr:
			if x.Sel.Name == "Futexes" || x.Sel.Name == "Sched" {
				return fn.Sel.Name
			}
			return x.Sel.Name + "." + fn.Sel.Name
		}
	}
	return "?"
}

// leafViolations returns what the bucket-lock rule finds wrong in the
// parsed files: calls under a bucket lock that are not on leafCalls, a
// lock with no release in its block, a nested lock.
func leafViolations(fset *token.FileSet, files []*ast.File) []string {
	funcs := map[string]*ast.FuncDecl{}
	for _, f := range files {
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok && fd.Body != nil && funcs[fd.Name.Name] == nil {
				funcs[fd.Name.Name] = fd // this package's first (parsed first): a bare name is its
			}
		}
	}
	var bad []string
	report := func(pos token.Pos, format string, args ...any) {
		bad = append(bad, fset.Position(pos).String()+": "+fmt.Sprintf(format, args...))
	}
	checked := map[string]bool{}
	var checkCalls func(n ast.Node, where string)
	checkCalls = func(n ast.Node, where string) {
		ast.Inspect(n, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			name := callName(call)
			switch _, leaf := leafCalls[name]; {
			case lockCalls[name]:
				report(call.Pos(), "%s: a bucket lock taken while one is held", where)
			case isBuiltin(name):
			case !leaf:
				report(call.Pos(), "%s: %s called with a bucket lock held", where, name)
			case funcs[name] != nil && !checked[name]:
				checked[name] = true
				checkCalls(funcs[name].Body, name+" (under a bucket lock)")
			}
			return true
		})
	}
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			if fd, ok := n.(*ast.FuncDecl); ok && lockWrapper(fd) {
				return false // Futexes.Lock and Unlock are the lock
			}
			block, ok := n.(*ast.BlockStmt)
			if !ok {
				return true
			}
			for i := 0; i < len(block.List); i++ {
				if !stmtCalls(block.List[i], lockCalls) {
					continue
				}
				j := i + 1
				for j < len(block.List) && !stmtCalls(block.List[j], unlockCalls) {
					checkCalls(block.List[j], "under the lock of "+fset.Position(block.List[i].Pos()).String())
					j++
				}
				if j == len(block.List) {
					report(block.List[i].Pos(), "a bucket lock with no release in its block")
				}
				i = j
			}
			return true
		})
	}
	return bad
}

// lockWrapper reports whether fd is Futexes.Lock or Futexes.Unlock.
func lockWrapper(fd *ast.FuncDecl) bool {
	if fd.Recv == nil || len(fd.Recv.List) != 1 || !lockCalls[fd.Name.Name] && !unlockCalls[fd.Name.Name] {
		return false
	}
	star, ok := fd.Recv.List[0].Type.(*ast.StarExpr)
	if !ok {
		return false
	}
	id, ok := star.X.(*ast.Ident)
	return ok && id.Name == "Futexes"
}

// stmtCalls reports whether s is a call statement to one of names.
func stmtCalls(s ast.Stmt, names map[string]bool) bool {
	e, ok := s.(*ast.ExprStmt)
	if !ok {
		return false
	}
	call, ok := e.X.(*ast.CallExpr)
	return ok && names[callName(call)]
}

// isBuiltin reports whether name is a builtin that calls nothing.
func isBuiltin(name string) bool {
	switch name {
	case "len", "cap", "min", "max", "uint32", "int32", "uintptr", "int", "TID":
		return true
	}
	return false
}

// parseRepoFiles parses the non-test Go files under the repository's
// sched and kernel trees that mention a bucket lock.
func parseRepoFiles(t *testing.T) (*token.FileSet, []*ast.File) {
	fset := token.NewFileSet()
	var files []*ast.File
	for _, root := range []string{".", "../kernel"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				return err
			}
			files = append(files, f)
			return nil
		})
		require.NoError(t, err)
	}
	return fset, files
}

// TestBucketLocksAreLeaves checks the rule above on the kernel's source.
func TestBucketLocksAreLeaves(t *testing.T) {
	fset, files := parseRepoFiles(t)
	require.Greater(t, len(files), 100, "the kernel's source was not found")
	assert.Empty(t, leafViolations(fset, files))
}

// TestLeafCheckCatches shows that the check fails: a ranked lock taken
// under a bucket lock, a nested bucket lock, a release missing from the
// block, a call of an unlisted function, and a listed function of this
// package that takes a lock.
func TestLeafCheckCatches(t *testing.T) {
	src := `package sched
func (f *Futexes) good(b int) { f.lockBucket(b); f.dequeue(b, 0); f.unlockBucket(b) }
func (f *Futexes) ranked(b int) { f.lockBucket(b); klock.Kernel.Lock(c); f.unlockBucket(b) }
func (f *Futexes) nested(b int) { f.lockBucket(b); f.helper(b); f.unlockBucket(b) }
func (f *Futexes) helper(b int) { f.lockBucket(b + 1) }
func (f *Futexes) open(b int) { f.lockBucket(b); f.dequeue(b, 0) }
func (f *Futexes) elsewhere(a uintptr) { threadtab.Sched.Futexes.Lock(a); thread.Kick(nil); threadtab.Sched.Futexes.Unlock(a) }
func (f *Futexes) viaLeaf(b int) { f.lockBucket(b); f.unlink(b, 0, 0); f.unlockBucket(b) }
func (f *Futexes) viaName(a uintptr) { fx := f; fx.Lock(a); klock.Files.RLock(c); fx.Unlock(a) }
func (f *Futexes) unlink(b int, prev, t TID) { klock.Files.Lock(c) }
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "planted.go", src, 0)
	require.NoError(t, err)
	bad := strings.Join(leafViolations(fset, []*ast.File{f}), "\n")
	assert.Contains(t, bad, "planted.go:3:")
	assert.Contains(t, bad, "Kernel.Lock called with a bucket lock held")
	assert.Contains(t, bad, "helper called with a bucket lock held")
	assert.Contains(t, bad, "planted.go:6:")
	assert.Contains(t, bad, "no release in its block")
	assert.Contains(t, bad, "thread.Kick called with a bucket lock held")
	assert.Contains(t, bad, "unlink (under a bucket lock): Files.Lock called", "a listed function of this package is checked too")
	assert.Contains(t, bad, "Files.RLock called with a bucket lock held", "a bucket lock taken through the kernel's name for the table is checked too")
	assert.NotContains(t, bad, "planted.go:2:", "the good function is fine")
}
