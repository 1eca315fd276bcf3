package fs

// embeddedArchive is the initramfs (a cpio newc archive) that the image
// build embeds into the program (gometal build --files): the overlay file
// that tools/image adds to the main package declares a string with
// //go:embed and //go:linkname's it to this symbol. The linker fills the
// string header statically, so it is valid at boot, before the runtime
// starts. Empty when the image has no embedded files.
var embeddedArchive string

// EmbeddedArchive returns the archive embedded into the image ("" if none).
// Context: boot; does not allocate.
func EmbeddedArchive() string { return embeddedArchive }
