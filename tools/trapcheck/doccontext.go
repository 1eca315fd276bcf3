package trapcheck

import (
	"fmt"
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// DocResult is the outcome of a doc-comment audit of reachable functions.
type DocResult struct {
	// Missing names each reachable function whose own doc comment lacks
	// "Context:", as "symbol (file:line)".
	Missing []string
	// Undeclared names the symbols of the module that match no Go
	// declaration and no assembly TEXT symbol: a mapping the audit does
	// not understand, reported so that nothing is skipped silently.
	Undeclared []string
	// Checked counts the declarations audited; Skipped names the symbols
	// left out as compiler-generated (closures, wrappers) or assembly
	// without a Go declaration.
	Checked int
	Skipped []string
}

// AuditDocs looks up each function symbol of the module (import path
// module, sources under dir) among syms, the reachable functions of a
// Report, in the module's linux/amd64 Go sources, and checks that the
// declaration's own doc comment states its context ("Context: ...").
// Closures (.funcN, .gowrapN, .deferwrapN), method values (-fm),
// package init and the pointer wrappers the compiler generates for value
// methods are skipped; an ABI0 body (NAME.abi0) is audited through its
// Go declaration, and assembly with none is skipped.
func AuditDocs(module, dir string, syms []string) (*DocResult, error) {
	idx := &docIndex{module: module, dir: dir, fset: token.NewFileSet(), pkgs: map[string]*docPkg{}}
	res := &DocResult{}
	seen := map[*ast.FuncDecl]bool{}
	for _, sym := range syms {
		pkg, name, ok := splitSymbol(module, sym)
		if !ok {
			continue
		}
		p, err := idx.load(pkg)
		if err != nil {
			return nil, err
		}
		decl, why := p.find(name)
		switch {
		case decl != nil:
			if seen[decl] {
				continue
			}
			seen[decl] = true
			res.Checked++
			if decl.Doc == nil || !strings.Contains(decl.Doc.Text(), "Context:") {
				pos := idx.fset.Position(decl.Pos())
				rel, _ := filepath.Rel(dir, pos.Filename)
				res.Missing = append(res.Missing, fmt.Sprintf("%s (%s:%d)", sym, filepath.ToSlash(rel), pos.Line))
			}
		case why != "":
			res.Skipped = append(res.Skipped, sym+" ("+why+")")
		default:
			res.Undeclared = append(res.Undeclared, sym)
		}
	}
	sort.Strings(res.Missing)
	sort.Strings(res.Undeclared)
	sort.Strings(res.Skipped)
	return res, nil
}

// splitSymbol splits a symbol of module into its import path and the
// name within the package, with type arguments removed:
// "m/kernel.(*thread[...]).load" gives "m/kernel" and "(*thread).load".
func splitSymbol(module, sym string) (pkg, name string, ok bool) {
	if !strings.HasPrefix(sym, module+"/") && !strings.HasPrefix(sym, module+".") {
		return "", "", false
	}
	sym = stripBrackets(sym)
	slash := strings.LastIndex(sym, "/")
	dot := strings.Index(sym[slash+1:], ".")
	if dot < 0 {
		return "", "", false
	}
	dot += slash + 1
	return sym[:dot], sym[dot+1:], true
}

// stripBrackets removes type-argument lists, which may hold dots and
// slashes of their own.
func stripBrackets(s string) string {
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '[':
			depth++
		case r == ']':
			depth--
		case depth == 0:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// docIndex holds the parsed packages of the module.
type docIndex struct {
	module, dir string
	fset        *token.FileSet
	pkgs        map[string]*docPkg
}

// docPkg is one package's function declarations, keyed "F" or "T.M",
// and its assembly TEXT symbols.
type docPkg struct {
	decls map[string]*ast.FuncDecl
	asm   map[string]bool
}

var textSym = regexp.MustCompile(`(?m)^TEXT\s+·([A-Za-z0-9_]+)`)

// load parses the linux/amd64 Go files (tests excluded) and the assembly
// of the package with import path pkg.
func (x *docIndex) load(pkg string) (*docPkg, error) {
	if p, ok := x.pkgs[pkg]; ok {
		return p, nil
	}
	dir := filepath.Join(x.dir, filepath.FromSlash(strings.TrimPrefix(strings.TrimPrefix(pkg, x.module), "/")))
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = "linux", "amd64", false
	bp, err := ctx.ImportDir(dir, 0)
	if err != nil {
		return nil, fmt.Errorf("package %s: %w", pkg, err)
	}
	p := &docPkg{decls: map[string]*ast.FuncDecl{}, asm: map[string]bool{}}
	for _, name := range bp.GoFiles {
		f, err := parser.ParseFile(x.fset, filepath.Join(dir, name), nil, parser.ParseComments|parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, d := range f.Decls {
			if fd, ok := d.(*ast.FuncDecl); ok {
				p.decls[declKey(fd)] = fd
			}
		}
	}
	for _, name := range bp.SFiles {
		src, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return nil, err
		}
		for _, m := range textSym.FindAllSubmatch(src, -1) {
			p.asm[string(m[1])] = true
		}
	}
	x.pkgs[pkg] = p
	return p, nil
}

// declKey is "F" for a function and "T.M" for a method of T or *T.
func declKey(fd *ast.FuncDecl) string {
	if fd.Recv == nil || len(fd.Recv.List) == 0 {
		return fd.Name.Name
	}
	t := fd.Recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	switch g := t.(type) {
	case *ast.IndexExpr:
		t = g.X
	case *ast.IndexListExpr:
		t = g.X
	}
	if id, ok := t.(*ast.Ident); ok {
		return id.Name + "." + fd.Name.Name
	}
	return fd.Name.Name
}

// generated matches the name parts the compiler adds: closures,
// go/defer wrappers and their nesting.
var generated = regexp.MustCompile(`^(func|gowrap|deferwrap)?[0-9]+$`)

// find returns the declaration for name, the symbol within the package;
// failing that, why it is skipped, or "" if nothing explains it.
func (p *docPkg) find(name string) (*ast.FuncDecl, string) {
	if strings.HasSuffix(name, "-fm") {
		return nil, "method value wrapper"
	}
	name, abi0 := strings.CutSuffix(name, ".abi0")
	var key string
	var rest []string
	ptr := false
	if strings.HasPrefix(name, "(") {
		end := strings.Index(name, ").")
		if end < 0 {
			return nil, ""
		}
		recv := name[1:end]
		recv, ptr = strings.CutPrefix(recv, "*")
		parts := strings.Split(name[end+2:], ".")
		key, rest = recv+"."+parts[0], parts[1:]
	} else {
		parts := strings.Split(name, ".")
		key, rest = parts[0], parts[1:]
		if len(parts) > 1 {
			if _, ok := p.decls[parts[0]+"."+parts[1]]; ok {
				key, rest = parts[0]+"."+parts[1], parts[2:]
			}
		}
	}
	if key == "init" {
		return nil, "package init"
	}
	for _, r := range rest {
		if generated.MatchString(r) {
			return nil, "closure or wrapper"
		}
	}
	if len(rest) > 0 {
		return nil, ""
	}
	fd, ok := p.decls[key]
	if !ok {
		if p.asm[key] || abi0 {
			return nil, "assembly without a Go declaration"
		}
		return nil, ""
	}
	if ptr && !isPtrRecv(fd) {
		return nil, "pointer wrapper of a value method"
	}
	return fd, ""
}

func isPtrRecv(fd *ast.FuncDecl) bool {
	_, ok := fd.Recv.List[0].Type.(*ast.StarExpr)
	return ok
}
