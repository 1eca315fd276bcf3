// run

package main

import "os/exec"

func main() { exec.Command("go", "version").Run() }
