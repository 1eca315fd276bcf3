// Command table has a "trap entry" that dispatches through a table of
// function values, as the kernel's system-call table does: with a Table
// rule trapcheck checks every function in the table, and finds that one
// of them allocates.
package main

type entry struct {
	handler func(x int) int
	name    string
}

var table = [...]entry{
	{add, "add"},
	{grow, "grow"},
	{double, "double"},
}

func add(x int) int    { return x + 1 }
func double(x int) int { return x * 2 }

//go:noinline
func grow(x int) int {
	s := make([]int, x) // a size known only at run time: on the heap
	for i := range s {
		s[i] = i
	}
	return s[x-1]
}

// trapEntry is the root the tests check.
//
//go:noinline
func trapEntry(i, x int) int {
	return table[i%len(table)].handler(x)
}

func main() { println(trapEntry(1, 2)) }
