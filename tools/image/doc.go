// Package image builds a Go main package into a bootable gometal image and
// patches the linked ELF so that it boots through both PVH and multiboot v1.
//
// The contract it implements is docs/protocols.md ("Image layout"): the Go
// toolchain links the program, the unmodified runtime and the kernel into
// one static ELF with text at 2 MiB, the 32-bit boot stub as e_entry and a
// reserved NT_GNU_BUILD_ID note in the first page. Patch then rewrites that
// note as the Xen PVH entry note and writes a multiboot header into the
// zero padding of the first page.
//
// Programs outside this module need no change to their go.mod: when the
// kernel package does not resolve from the program's module, Build adds the
// gometal source (found as described at findRoot: $GOMETAL_ROOT, else the
// tool's own source tree) through a temporary go.work (workspace.go).
//
// The ELF handling here is a small, bounds-checked reader of ELF64 headers
// (elf.go) rather than debug/elf, because patching needs the file offsets of
// every header and must never panic on corrupt input.
package image
