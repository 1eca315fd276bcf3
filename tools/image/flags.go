package image

import (
	"fmt"
	"strings"
)

// buildFlags is the user's go build flags split into the parts Build
// merges with its own and the rest, passed through unchanged.
type buildFlags struct {
	rest    []string
	ldflags string // the user's -ldflags value, "" if none
	overlay string // the user's -overlay file, "" if none
	dir     string // the user's -C directory, "" if none
}

// splitFlags pulls -ldflags, -overlay and -C out of the user's flags (in
// any of the forms -f=v, -f v, --f=v, --f v) and rejects -o, which Build
// owns. Build runs every go command in the -C directory instead, since the
// go command accepts -C only as the very first flag.
func splitFlags(args []string) (buildFlags, error) {
	var bf buildFlags
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := flagParts(a)
		switch name {
		case "o":
			return bf, fmt.Errorf("flag %s: the output file is set by BuildOptions.Out", a)
		case "ldflags", "overlay", "C":
		default:
			bf.rest = append(bf.rest, a)
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return bf, fmt.Errorf("flag %s needs a value", a)
			}
			i++
			value = args[i]
		}
		switch name {
		case "overlay":
			bf.overlay = value
			continue
		case "C":
			bf.dir = value
			continue
		}
		if p, _, ok := strings.Cut(value, "="); ok && !strings.HasPrefix(value, "-") && !strings.ContainsAny(p, " \t") {
			return bf, fmt.Errorf("-ldflags=%s: package-pattern linker flags are not supported; the image's own link flags apply to the main package", value)
		}
		bf.ldflags = value // like the go command, the last one wins
	}
	return bf, nil
}

// flagParts splits "-name=value" or "--name" into its name and value.
// A non-flag argument yields name "".
func flagParts(a string) (name, value string, hasValue bool) {
	if !strings.HasPrefix(a, "-") || a == "-" || a == "--" {
		return "", "", false
	}
	a = strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
	name, value, hasValue = strings.Cut(a, "=")
	return name, value, hasValue
}

// mergeLDFlags appends the image's link flags to the user's, so that one
// -ldflags carries both and ours win where they overlap.
func mergeLDFlags(user, ours string) string {
	if strings.TrimSpace(user) == "" {
		return ours
	}
	return strings.TrimSpace(user) + " " + ours
}
