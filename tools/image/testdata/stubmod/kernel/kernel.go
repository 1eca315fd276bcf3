// Package kernel is a stand-in for gometal's kernel package.
package kernel

import _ "example.com/stubmod/boot" // keeps the boot stub linked

// embeddedArchive stands in for kernel/fs's: an image built with Files
// links its archive here.
var embeddedArchive string

// ArchiveSize is the embedded archive's size; computing it keeps the
// archive reachable for the linker, as the real kernel's log line does.
var ArchiveSize int

func init() { ArchiveSize = len(embeddedArchive) }
