// Package conformance runs the Go distribution's own test programs on
// gometal: every program of $GOROOT/test that the Go tree's test driver
// (cmd/internal/testdir) runs, in every directory it walks (read from the
// driver's source, DriverDirs), is built into an image, booted in QEMU and
// judged as the driver judges it on the host: the output must equal the
// program's .out file (or be empty) and the exit status must be 0.
//
// Each recipe is followed as the driver follows it (ParseRecipe, layout):
// run with its go build flags, extra files and arguments; buildrun;
// runoutput, whose generator runs on the host and whose output is the
// program; rundir and the run half of errorcheckandrundir, whose
// directory's packages become module "test" with the driver's import
// paths (test/NAME); runindir, copied into a module of its own at the
// recipe's go version; buildrundir with its assembly. -goexperiment sets
// GOEXPERIMENT for the build. The program's sources lie in /test in the
// guest, its working directory, as the driver runs it in a directory
// holding a copy of them.
//
// Only programs that start other programs (os/exec, which covers running
// the go command) or need cgo (import "C", -race, a cgo build constraint)
// are skipped, each with its reason; programs whose build constraints
// exclude linux/amd64 are listed apart, as the driver skips them on such a
// host too. `gometal conformance` and `make conformance` write the results
// to docs/conformance.md.
package conformance
