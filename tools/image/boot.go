package image

import (
	"fmt"
	"strings"
)

// Boot protocols an image can carry (BuildOptions.Boot, PatchBoot).
const (
	// BootBoth writes the PVH note and the multiboot header: QEMU's
	// -kernel and GRUB both boot the image. QEMU prefers multiboot when
	// it finds a header, so such an image boots through multiboot there.
	BootBoth = "both"
	// BootPVH writes only the PVH note. MicroVM monitors (and QEMU's
	// -kernel, when no multiboot header is present) enter through it.
	BootPVH = "pvh"
	// BootMultiboot writes only the multiboot v1 header (GRUB, iPXE) and
	// leaves the reserved build-id note as the linker wrote it.
	BootMultiboot = "multiboot"
)

// BootProtocols lists the valid values of BuildOptions.Boot.
var BootProtocols = []string{BootBoth, BootPVH, BootMultiboot}

// checkBoot returns the protocol choice boot names, "" meaning BootBoth.
func checkBoot(boot string) (string, error) {
	switch boot {
	case "":
		return BootBoth, nil
	case BootBoth, BootPVH, BootMultiboot:
		return boot, nil
	}
	return "", fmt.Errorf("unknown boot protocol %q (want %s)", boot, strings.Join(BootProtocols, ", "))
}

// removeMultiboot clears a valid multiboot header that lies in the first
// page's padding (as patchMultiboot put it there), so that a loader that
// prefers multiboot falls back to the PVH note.
func removeMultiboot(f *elfFile) error {
	h, ok, _ := findMultiboot(f.data)
	if !ok {
		return nil
	}
	off := uint64(h.Offset)
	if off+multibootSize > firstPage || overlapping(usedRanges(f), off, multibootSize) >= 0 {
		return fmt.Errorf("multiboot header at file offset %#x lies inside ELF data; cannot remove it", off)
	}
	clear(f.data[off : off+multibootSize])
	return nil
}

// reserveBuildID keeps the multiboot header out of the build-id note that
// a multiboot-only image leaves in place.
func reserveBuildID(f *elfFile) error {
	if _, ok := findPVH(f); ok {
		return fmt.Errorf("image already carries a PVH note; relink it to build a multiboot-only image")
	}
	if n, _, ok := findBuildID(f); ok {
		f.reserved = append(f.reserved, span(n.off, n.size))
	}
	return nil
}
