// Package kmod resolves the dependencies of Linux kernel modules, for the
// Linux side of the benchmarks: the host picks the modules a driver needs
// out of Debian's kernel package, and the guest's init (bench/netinit)
// loads them in an order where each module comes after the ones it uses.
//
// Dependencies come from a modules.dep text (depmod's format: one line per
// module, "kernel/a.ko: kernel/b.ko kernel/c.ko", paths relative to
// /lib/modules/RELEASE) or from a module's own .modinfo section
// ("depends=b,c"), which is where depmod reads them. Debian's linux-image
// package ships no modules.dep (its postinst runs depmod), so the host
// builds one from .modinfo.
//
// It depends on nothing but the standard library, so the guest's init can
// use it.
package kmod

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
)

// Deps maps a module's path (relative to /lib/modules/RELEASE, as
// modules.dep names it) to the paths of the modules it needs. The list may
// be direct dependencies only (from .modinfo) or all of them (modules.dep);
// Order handles both.
type Deps map[string][]string

// ParseDep parses a modules.dep text. Blank lines and lines starting with
// '#' are skipped; any other line without "module:" is an error.
func ParseDep(r io.Reader) (Deps, error) {
	d := Deps{}
	sc := bufio.NewScanner(r)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		mod, deps, ok := strings.Cut(line, ":")
		mod = strings.TrimSpace(mod)
		if !ok || mod == "" || strings.ContainsAny(mod, " \t") {
			return nil, fmt.Errorf("modules.dep line %d: want \"module: deps...\", got %q", n, line)
		}
		d[mod] = append([]string{}, strings.Fields(deps)...)
	}
	return d, sc.Err()
}

// Format writes d as a modules.dep text: modules sorted by path, each with
// all of its dependencies (not only the direct ones), listed the way
// depmod does: a module's dependencies before the modules that use them,
// read from right to left (modprobe loads the last one first).
func (d Deps) Format() ([]byte, error) {
	var b bytes.Buffer
	for _, mod := range slices.Sorted(mapKeys(d)) {
		order, err := d.Order(mod)
		if err != nil {
			return nil, err
		}
		order = order[:len(order)-1] // the module itself comes last
		slices.Reverse(order)
		b.WriteString(mod + ":")
		for _, dep := range order {
			b.WriteString(" " + dep)
		}
		b.WriteByte('\n')
	}
	return b.Bytes(), nil
}

func mapKeys(d Deps) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range d {
			if !yield(k) {
				return
			}
		}
	}
}

// Name returns the module name of a path: its base name without ".ko" and
// a compression suffix, with '-' as '_' (the kernel's spelling):
// "kernel/drivers/char/hw_random/virtio-rng.ko.xz" is "virtio_rng".
func Name(p string) string {
	base := path.Base(p)
	for _, ext := range []string{".gz", ".xz", ".zst"} {
		base = strings.TrimSuffix(base, ext)
	}
	return strings.ReplaceAll(strings.TrimSuffix(base, ".ko"), "-", "_")
}

// Find returns the path of the module called name ('-' and '_' are the
// same), or false.
func (d Deps) Find(name string) (string, bool) {
	want := strings.ReplaceAll(name, "-", "_")
	for mod := range d {
		if Name(mod) == want {
			return mod, true
		}
	}
	return "", false
}

// Order returns the modules named by path, with everything they need, in
// load order: every module after all of its dependencies, each once, and
// otherwise in the order given. A missing module or a dependency cycle is
// an error.
func (d Deps) Order(mods ...string) ([]string, error) {
	var order []string
	state := map[string]int{} // 1: being visited, 2: done
	var visit func(mod string, from []string) error
	visit = func(mod string, from []string) error {
		switch state[mod] {
		case 1:
			return fmt.Errorf("dependency cycle: %s -> %s", strings.Join(from, " -> "), mod)
		case 2:
			return nil
		}
		deps, ok := d[mod]
		if !ok {
			if len(from) > 0 {
				return fmt.Errorf("%s needs %s, which is not in modules.dep", from[len(from)-1], mod)
			}
			return fmt.Errorf("no module %s in modules.dep", mod)
		}
		state[mod] = 1
		// modules.dep lists a module's dependencies from the last to be
		// loaded to the first: visit them in reverse so that, among
		// independent ones, the order matches modprobe's.
		for _, dep := range slices.Backward(deps) {
			if err := visit(dep, append(from, mod)); err != nil {
				return err
			}
		}
		state[mod] = 2
		order = append(order, mod)
		return nil
	}
	for _, mod := range mods {
		if err := visit(mod, nil); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// Closure returns the modules called names (as Find takes them) with
// everything they need, in load order.
func (d Deps) Closure(names ...string) ([]string, error) {
	var mods []string
	for _, name := range names {
		mod, ok := d.Find(name)
		if !ok {
			return nil, fmt.Errorf("no module %s in modules.dep", name)
		}
		mods = append(mods, mod)
	}
	return d.Order(mods...)
}

// Subset returns the part of d that holds mods (which must be closed
// under dependencies, as Order's result is).
func (d Deps) Subset(mods []string) Deps {
	s := Deps{}
	for _, mod := range mods {
		s[mod] = d[mod]
	}
	return s
}

// ParseModinfo parses the contents of a .modinfo section: NUL-separated
// "key=value" strings. A key that appears more than once (alias) keeps
// its values joined by '\n'.
func ParseModinfo(sec []byte) map[string]string {
	info := map[string]string{}
	for _, kv := range bytes.Split(sec, []byte{0}) {
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok || k == "" {
			continue
		}
		if old, dup := info[k]; dup {
			v = old + "\n" + v
		}
		info[k] = v
	}
	return info
}

// Depends returns the names in a .modinfo "depends=" value ("a,b"; ""
// for none).
func Depends(value string) []string {
	var names []string
	for _, name := range strings.Split(value, ",") {
		if name = strings.TrimSpace(name); name != "" {
			names = append(names, name)
		}
	}
	return names
}

// ReadModinfo returns the .modinfo section of an uncompressed module
// (an ELF relocatable object).
func ReadModinfo(r io.ReaderAt) (map[string]string, error) {
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, err
	}
	sec := f.Section(".modinfo")
	if sec == nil {
		return nil, fmt.Errorf("no .modinfo section")
	}
	data, err := sec.Data()
	if err != nil {
		return nil, err
	}
	return ParseModinfo(data), nil
}

// FromModinfo builds Deps from every module's "depends=" names; paths
// maps a module path to its names of dependencies. A name that no path
// carries is an error.
func FromModinfo(depends map[string][]string) (Deps, error) {
	byName := map[string]string{}
	for mod := range depends {
		byName[Name(mod)] = mod
	}
	d := Deps{}
	for mod, names := range depends {
		d[mod] = []string{}
		for _, name := range names {
			dep, ok := byName[strings.ReplaceAll(name, "-", "_")]
			if !ok {
				return nil, fmt.Errorf("%s depends on %s, which no module provides", mod, name)
			}
			d[mod] = append(d[mod], dep)
		}
	}
	return d, nil
}
