// errorcheck

// Compiled only: not a conformance test.

package main

var x int = "no" // ERROR "cannot use"
