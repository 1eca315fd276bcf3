package pcilist

import "unsafe"

// stringOf views bytes as a string without copying; the caller keeps them
// unchanged while the string is in use. Context: any; does not allocate.
func stringOf(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
