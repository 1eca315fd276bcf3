package image

import (
	"fmt"
	"strings"
)

// The link contract from docs/protocols.md.
const (
	// ModulePath is the module that provides the kernel.
	ModulePath = "github.com/gometal/gometal"
	// KernelPackage is imported into every image by the overlay file.
	KernelPackage = ModulePath + "/kernel"
	// NetPackage (the virtio-net driver and the TCP/IP stack) is imported
	// too when the program depends on package net.
	NetPackage = ModulePath + "/kernel/ring3/knet"
	// EntrySymbol is the 32-bit boot stub, the image's e_entry.
	EntrySymbol = ModulePath + "/boot.entry32"
	// TextAddr is where the linker places .text (2 MiB).
	TextAddr = 0x200000
)

// LDFlags returns the linker flags every image is linked with:
// text at 2 MiB, the boot stub as entry point, a 32-byte build-id note
// that Patch turns into the PVH note, and -checklinkname=0: the overlay
// file hands the network stack the runtime's internal exithook.Add
// (exitHookDecls), a reference the linker refuses otherwise.
func LDFlags() string { return ldflagsFor(EntrySymbol) }

func ldflagsFor(entry string) string {
	return fmt.Sprintf("-T %#x -E %s -B 0x%s -checklinkname=0", TextAddr, entry, strings.Repeat("0", 2*buildIDSize))
}
