// Package conformance runs the Go distribution's own test programs on
// gometal: every "// run" program of $GOROOT/test (the top level, chan/ and
// ken/) that a linux/amd64 build includes is built into an image, booted in
// QEMU and judged as the Go tree's test driver judges it on the host: the
// output must equal the program's .out file (or be empty) and the exit
// status must be 0.
//
// Programs the driver would not run as plain "// run" (runoutput, rundir,
// arguments, build tags that exclude linux/amd64) and programs that need
// what a single-image machine does not have (os/exec, files, cgo) are
// skipped, each with its reason. `gometal conformance` and
// `make conformance` write the results to docs/conformance.md.
package conformance
