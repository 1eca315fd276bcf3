// runoutput

// Its output is a program to run: skipped.

package main

func main() { println("package main\nfunc main() {}") }
