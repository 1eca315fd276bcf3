// Command prog stands in for a program in the CLI tests; it is linked
// with the image layout and patched, but never executed.
package main

func main() { println("prog") }
