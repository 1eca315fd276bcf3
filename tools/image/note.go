package image

import (
	"bytes"
	"fmt"
)

// ELF note types and names used by the image (see docs/protocols.md).
const (
	ntGNUBuildID     = 3  // NT_GNU_BUILD_ID, reserved by the linker's -B flag
	xenPhys32Entry   = 18 // XEN_ELFNOTE_PHYS32_ENTRY
	noteHeaderSize   = 12 // n_namesz, n_descsz, n_type
	pvhNoteSize      = noteHeaderSize + 4 + 8
	buildIDNoteSize  = noteHeaderSize + 4 + buildIDSize
	buildIDSize      = 32 // descriptor bytes reserved by -B 0x<64 hex digits>
	noteAlign        = 4
	maxNotesPerRange = 1 << 12 // bounds the walk over corrupt note data
)

var (
	nameGNU = []byte("GNU\x00")
	nameXen = []byte("Xen\x00")
)

// note is one ELF note found in the file.
type note struct {
	off        uint64 // file offset of the note header
	size       uint64 // header, name and descriptor, each padded to 4 bytes
	typ        uint32
	name, desc []byte
}

// parseNote reads the note at file offset off, which must end by limit.
func parseNote(data []byte, off, limit uint64) (note, bool) {
	if limit > uint64(len(data)) || off > limit || limit-off < noteHeaderSize {
		return note{}, false
	}
	namesz := uint64(le.Uint32(data[off:]))
	descsz := uint64(le.Uint32(data[off+4:]))
	n := note{off: off, typ: le.Uint32(data[off+8:])}
	nameAt := off + noteHeaderSize
	descAt := nameAt + alignUp(namesz, noteAlign)
	n.size = descAt - off + alignUp(descsz, noteAlign)
	if descAt > limit || n.size > limit-off {
		return note{}, false
	}
	n.name = data[nameAt : nameAt+namesz]
	n.desc = data[descAt : descAt+descsz]
	return n, true
}

// notesIn returns the notes in the file range [off, off+size).
// It stops at the first note that does not fit.
func notesIn(data []byte, off, size uint64) []note {
	if !inFile(data, off, size) {
		return nil
	}
	var out []note
	for at, end := off, off+size; at < end && len(out) < maxNotesPerRange; {
		n, ok := parseNote(data, at, end)
		if !ok || n.size == 0 {
			break
		}
		out = append(out, n)
		at += n.size
	}
	return out
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) &^ (a - 1) }

func (n note) is(name []byte, typ uint32) bool {
	return n.typ == typ && bytes.Equal(n.name, name)
}

// findPVH returns the Xen PHYS32_ENTRY note inside a PT_NOTE segment.
func findPVH(f *elfFile) (note, bool) {
	for _, p := range f.progs {
		if p.typ != ptNote {
			continue
		}
		for _, n := range notesIn(f.data, p.off, p.filesz) {
			if n.is(nameXen, xenPhys32Entry) {
				return n, true
			}
		}
	}
	return note{}, false
}

// patchPVH makes the image carry a PVH entry note whose descriptor is
// e_entry. An image that already has one is checked (and its descriptor
// corrected); otherwise the NT_GNU_BUILD_ID note that is the last note of
// a PT_NOTE segment, or sits right after one, is rewritten in place and
// that PT_NOTE is resized to end exactly after the new note.
func patchPVH(f *elfFile) error {
	if n, ok := findPVH(f); ok {
		if len(n.desc) != 8 {
			return fmt.Errorf("existing Xen PVH note at %#x has a %d-byte descriptor, want 8", n.off, len(n.desc))
		}
		le.PutUint64(n.desc, f.entry)
		return nil
	}
	id, i, ok := findBuildID(f)
	if ok {
		if id.size < pvhNoteSize {
			return fmt.Errorf("NT_GNU_BUILD_ID note at %#x is %d bytes, too small for the %d-byte PVH note (link with -B 0x<64 hex digits>)", id.off, id.size, pvhNoteSize)
		}
		p := &f.progs[i]
		f.reserved = append(f.reserved, span(id.off, id.size))
		writePVHNote(f.data[id.off:id.off+id.size], f.entry)
		p.setFileSize(f.data, id.off+pvhNoteSize-p.off)
		shrinkNoteSection(f, id.off, pvhNoteSize)
		return nil
	}
	if s, ok := buildIDSection(f); ok {
		return fmt.Errorf("NT_GNU_BUILD_ID note at file offset %#x is not adjacent to a PT_NOTE segment; cannot add a PVH note", s.off)
	}
	return fmt.Errorf("no NT_GNU_BUILD_ID note to turn into the PVH note (link with -ldflags '-B 0x<64 hex digits>')")
}

// findBuildID returns the NT_GNU_BUILD_ID note that is the last note of a
// PT_NOTE segment or sits right after one, and that segment's index.
func findBuildID(f *elfFile) (note, int, bool) {
	for i, p := range f.progs {
		if p.typ != ptNote || !inFile(f.data, p.off, p.filesz) {
			continue
		}
		if notes := notesIn(f.data, p.off, p.filesz); len(notes) > 0 && notes[len(notes)-1].is(nameGNU, ntGNUBuildID) {
			return notes[len(notes)-1], i, true
		}
		if p.end()%noteAlign == 0 {
			if n, ok := parseNote(f.data, p.end(), uint64(len(f.data))); ok && n.is(nameGNU, ntGNUBuildID) {
				return n, i, true
			}
		}
	}
	return note{}, 0, false
}

// writePVHNote fills buf (a whole old note) with the PVH note followed by
// zeros: name "Xen\0", type XEN_ELFNOTE_PHYS32_ENTRY, 8-byte entry.
func writePVHNote(buf []byte, entry uint64) {
	clear(buf)
	le.PutUint32(buf[0:], uint32(len(nameXen)))
	le.PutUint32(buf[4:], 8)
	le.PutUint32(buf[8:], xenPhys32Entry)
	copy(buf[12:], nameXen)
	le.PutUint64(buf[16:], entry)
}

// shrinkNoteSection sets sh_size of the note section starting at off, so the
// section table describes the same note as the PT_NOTE segment.
func shrinkNoteSection(f *elfFile, off, size uint64) {
	for _, s := range f.sects {
		if s.typ == shtNote && s.off == off {
			le.PutUint64(f.data[s.at+32:], size)
		}
	}
}

// buildIDSection returns the SHT_NOTE section that holds a GNU build-id note.
func buildIDSection(f *elfFile) (sect, bool) {
	for _, s := range f.sects {
		if s.typ != shtNote {
			continue
		}
		if n, ok := parseNote(f.data, s.off, s.off+s.size); ok && n.is(nameGNU, ntGNUBuildID) {
			return s, true
		}
	}
	return sect{}, false
}
