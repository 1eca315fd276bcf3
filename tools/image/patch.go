package image

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// PatchBytes returns a copy of the linked ELF elf, patched to boot through
// PVH and multiboot v1; it is PatchBootBytes with BootBoth.
func PatchBytes(elf []byte) ([]byte, error) { return PatchBootBytes(elf, BootBoth) }

// PatchBootBytes returns a copy of the linked ELF elf, patched to boot
// through the protocols boot names (see docs/protocols.md, "Image layout"):
//
//   - the NT_GNU_BUILD_ID note reserved by -B becomes the Xen PVH note
//     (name "Xen", type XEN_ELFNOTE_PHYS32_ENTRY, 8-byte descriptor =
//     e_entry) and the PT_NOTE segment ending at it is extended over it;
//   - a multiboot v1 header with the a.out kludge and a multiboot2 header
//     with address and entry tags go into zero padding of the first page.
//
// BootPVH leaves out the multiboot header (clearing one that an earlier
// patch wrote); BootMultiboot leaves the build-id note alone and fails on
// an image that already carries a PVH note. "" means BootBoth.
//
// It first checks the flat-load invariant (every PT_LOAD has
// p_paddr == p_vaddr and the same p_paddr - p_offset). Patching an image
// that is already patched returns identical bytes. PatchBootBytes never
// modifies elf and never panics on corrupt input.
func PatchBootBytes(elf []byte, boot string) ([]byte, error) {
	boot, err := checkBoot(boot)
	if err != nil {
		return nil, err
	}
	data := bytes.Clone(elf)
	f, err := parseELF(data)
	if err != nil {
		return nil, err
	}
	l, err := flatLayout(f)
	if err != nil {
		return nil, err
	}
	if f.entry > 0xFFFFFFFF {
		return nil, fmt.Errorf("entry point %#x is above 4 GiB; the boot protocols need a 32-bit entry", f.entry)
	}
	if boot == BootMultiboot {
		err = reserveBuildID(f)
	} else {
		err = patchPVH(f)
	}
	if err != nil {
		return nil, err
	}
	if boot == BootPVH {
		err = removeMultiboot(f)
		removeMultiboot2(f)
	} else if err = patchMultiboot(f, l); err == nil {
		err = patchMultiboot2(f, l)
	}
	if err != nil {
		return nil, err
	}
	return data, nil
}

// Patch patches the image file at path in place for both protocols; it is
// PatchBoot with BootBoth.
func Patch(path string) error { return PatchBoot(path, BootBoth) }

// PatchBoot patches the image file at path in place with PatchBootBytes.
// The file is replaced atomically, keeping its mode, and left untouched
// when it is already patched.
func PatchBoot(path, boot string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	patched, err := PatchBootBytes(old, boot)
	if err != nil {
		return fmt.Errorf("patch %s: %w", path, err)
	}
	if bytes.Equal(old, patched) {
		return nil
	}
	return replaceFile(path, patched)
}

// replaceFile writes data to a temporary file beside path and renames it
// over path, so a reader never sees a half-written image.
func replaceFile(path string, data []byte) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".patch*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(st.Mode().Perm()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
