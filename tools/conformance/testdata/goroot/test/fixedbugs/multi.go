// rundir -l=4 -ldflags -strictdups=2

// Three packages: a, b (imports a) and main (imports both), linked as
// the driver links them.

package ignored
