package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// HostZoneinfo is where Linux keeps the time-zone database that Go's time
// package reads first.
const HostZoneinfo = "/usr/share/zoneinfo"

// ZoneinfoFiles returns the BuildOptions.Files specs that give the guest
// the host's time zones: the host's /usr/share/zoneinfo at the same path,
// and the Go toolchain's $GOROOT/lib/time/zoneinfo.zip at its own path (the
// time package's tests and runtime.GOROOT-based lookups use it). It fails
// when the host has neither; a program can also import time/tzdata.
func ZoneinfoFiles(ctx context.Context) ([]string, error) {
	var specs []string
	if st, err := os.Stat(HostZoneinfo); err == nil && st.IsDir() {
		specs = append(specs, HostZoneinfo+":"+HostZoneinfo)
	}
	out, err := (goRunner{}).run(ctx, "env", "GOROOT")
	if err == nil {
		zip := filepath.Join(strings.TrimSpace(string(out)), "lib", "time", "zoneinfo.zip")
		if _, err := os.Stat(zip); err == nil {
			specs = append(specs, zip+":"+zip)
		}
	}
	if len(specs) == 0 {
		return nil, errors.New("no time-zone database on this host (" + HostZoneinfo + " or $GOROOT/lib/time/zoneinfo.zip); import time/tzdata instead")
	}
	return specs, nil
}
