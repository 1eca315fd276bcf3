// Command prog is a program whose functions the symbolizer tests resolve.
package main

import "os"

//go:noinline
func fault(p *int, n int) int {
	s := 0
	for i := range n {
		s += i * i
	}
	return s + *p // FAULT
}

func main() {
	var p *int
	if len(os.Args) > 5 {
		x := 1
		p = &x
	}
	os.Exit(fault(p, len(os.Args)))
}
