// Package stdtest runs the standard library's own tests on gometal: for
// each package of a fixed list (Packages), "go test -json -short" on the
// host and "gometal test -json -short" in QEMU, compares the two event
// streams test by test and reports, per package, the passed, failed and
// skipped top-level tests (examples included) on each side, the tests
// excluded with a reason (Exclusions: tests that start other programs)
// and the tests that pass on the host but not in the guest.
//
// `gometal stdtest` and `make stdtest` write the report as a section of
// docs/conformance.md (or build/stdtest.md for a partial run).
package stdtest
