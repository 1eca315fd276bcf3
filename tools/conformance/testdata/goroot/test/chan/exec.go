//go:build linux

// run

// Needs os/exec: skipped.

package main

import "os/exec"

func main() { exec.Command("true").Run() }
