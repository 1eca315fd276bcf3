package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"github.com/gometal/gometal/qemu"
)

// Profiles and coverage: the test binary writes them in the guest, to
// guestProfile(kind); the kernel prints those files on the console at exit
// (its export= option, docs/protocols.md) and they are written here where
// go test would write them.

// profileFlags are go test's flags that name a file the test writes.
var profileFlags = map[string]bool{
	"coverprofile": true, "cpuprofile": true, "memprofile": true,
	"blockprofile": true, "mutexprofile": true, "trace": true,
}

// profileRateFlags tune profiles and go to the binary as -test.NAME.
var profileRateFlags = map[string]bool{
	"memprofilerate": true, "blockprofilerate": true, "mutexprofilefraction": true,
}

// guestProfile is where the binary writes a profile of kind in the guest.
func guestProfile(kind string) string { return "/tmp/gometal-" + kind + ".out" }

// profiles is what one run collects: the host paths asked for, by kind,
// and every package's coverage profile, to be merged as go test does.
type profiles struct {
	want      map[string]string // kind -> path given on the command line
	outputdir string
	mu        sync.Mutex
	cover     map[string][]byte // import path -> its coverage profile
}

// binaryFlags are the -test.* flags that make the binary write the wanted
// profiles in the guest.
func (p *profiles) binaryFlags() []string {
	var flags []string
	for _, kind := range p.kinds() {
		flags = append(flags, "-test."+kind+"="+guestProfile(kind))
	}
	return flags
}

// kernelOptions are the export= options that bring the profiles back.
func (p *profiles) kernelOptions() []string {
	var opts []string
	for _, kind := range p.kinds() {
		opts = append(opts, "export="+guestProfile(kind))
	}
	return opts
}

// kinds lists the wanted kinds in a fixed order.
func (p *profiles) kinds() []string {
	var k []string
	for kind := range p.want {
		k = append(k, kind)
	}
	sort.Strings(k)
	return k
}

// hostPath is where a profile given as name lands: relative names are
// relative to -outputdir (coverage: to the current directory), as in go
// test.
func (p *profiles) hostPath(kind, name string) string {
	if filepath.IsAbs(name) || kind == "coverprofile" || p.outputdir == "" {
		return name
	}
	return filepath.Join(p.outputdir, name)
}

// save writes one package's profiles from the guest's exports; a
// coverage profile is kept for merging. img is the test image, copied
// next to CPU and other profiles as PKG.test (go test leaves the binary
// there for pprof).
func (p *profiles) save(pkg, img string, res *qemu.Result) error {
	if len(p.want) == 0 {
		return nil
	}
	if res.ExportErr != nil {
		return res.ExportErr
	}
	for _, kind := range p.kinds() {
		data, ok := res.Exports[guestProfile(kind)]
		if !ok || data == nil {
			return fmt.Errorf("the test wrote no %s", kind)
		}
		if kind == "coverprofile" {
			p.mu.Lock()
			p.cover[pkg] = data
			p.mu.Unlock()
			continue
		}
		if err := os.WriteFile(p.hostPath(kind, p.want[kind]), data, 0o644); err != nil {
			return err
		}
		bin := p.hostPath(kind, filepath.Base(pkg)+".test")
		if err := copyFile(img, bin); err != nil {
			return err
		}
	}
	return nil
}

// writeCover merges the packages' coverage profiles in the given order
// into the -coverprofile file: one mode line, then every block.
func (p *profiles) writeCover(order []string) error {
	name, ok := p.want["coverprofile"]
	if !ok {
		return nil
	}
	var out bytes.Buffer
	for _, pkg := range order {
		data := p.cover[pkg]
		lines := bytes.SplitAfter(data, []byte("\n"))
		if len(lines) == 0 {
			continue
		}
		if out.Len() == 0 {
			out.Write(lines[0]) // mode: ...
		}
		for _, l := range lines[1:] {
			out.Write(l)
		}
	}
	if out.Len() == 0 {
		out.WriteString("mode: set\n")
	}
	return os.WriteFile(name, out.Bytes(), 0o644)
}

// copyFile copies the file src to dst.
func copyFile(src, dst string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}
