// Command sigill executes an undefined instruction (UD2). Go code has no
// handler for a synchronous SIGILL, so the runtime must end the program
// as on Linux: "SIGILL: illegal instruction", a traceback, exit status 2.
package main

import "fmt"

// ud2 executes UD2 (ud2_amd64.s).
func ud2()

func main() {
	fmt.Println("executing ud2")
	ud2()
	fmt.Println("still running after ud2")
}
