// Package boot is a stand-in for gometal's boot package: it only provides
// the entry32 symbol that the image is linked to enter.
package boot
