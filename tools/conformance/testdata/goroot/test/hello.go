// run

// A plain run program with expected output.

package main

func main() { println("hello") }
