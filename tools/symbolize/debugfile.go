package symbolize

import "os"

// DebugSuffix names the file the image build writes beside an image
// (IMAGE.debug): the image as linked, with the DWARF and the ELF symbol
// table that the image itself no longer carries (the boot never loads
// them; see tools/image, "Debug information").
const DebugSuffix = ".debug"

// DebugFile returns the ELF to read an image's symbols and DWARF from:
// IMAGE.debug when it exists, else the image itself (an image built before
// the split, a test binary or a stand-in). Its loaded segments are the
// image's, so addresses and text agree.
func DebugFile(image string) string {
	if st, err := os.Stat(image + DebugSuffix); err == nil && st.Mode().IsRegular() {
		return image + DebugSuffix
	}
	return image
}

// ReadDebug returns the contents of DebugFile(image).
func ReadDebug(image string) ([]byte, error) { return os.ReadFile(DebugFile(image)) }
