package iso

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// Requirement is one tool or file Build needs and the Debian package that
// provides it.
type Requirement struct {
	What    string // a command in $PATH, or an absolute path
	Package string
}

// GRUBDir is where Debian's GRUB packages keep their platform modules.
var GRUBDir = "/usr/lib/grub"

// Requirements lists what Build needs.
func Requirements() []Requirement {
	return []Requirement{
		{"grub-mkrescue", "grub-common"},
		{GRUBDir + "/i386-pc", "grub-pc-bin"},
		{GRUBDir + "/x86_64-efi", "grub-efi-amd64-bin"},
		{"xorriso", "xorriso"},
		{"mformat", "mtools"},
	}
}

// Missing returns the requirements that are not installed.
func Missing() []Requirement {
	var out []Requirement
	for _, r := range Requirements() {
		if !present(r.What) {
			out = append(out, r)
		}
	}
	return out
}

func present(what string) bool {
	if strings.HasPrefix(what, "/") {
		_, err := os.Stat(what)
		return err == nil
	}
	_, err := exec.LookPath(what)
	return err == nil
}

// MissingMessage says what is missing and the apt-get command that
// installs it.
func MissingMessage(missing []Requirement) string {
	var what, pkgs []string
	seen := map[string]bool{}
	for _, r := range missing {
		what = append(what, fmt.Sprintf("%s (package %s)", r.What, r.Package))
		if !seen[r.Package] {
			seen[r.Package] = true
			pkgs = append(pkgs, r.Package)
		}
	}
	return fmt.Sprintf("missing %s; install with: apt-get install -y %s (or: make deps-iso)",
		strings.Join(what, ", "), strings.Join(pkgs, " "))
}
