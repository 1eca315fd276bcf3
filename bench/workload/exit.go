package main

import "github.com/gometal/gometal/bench/internal/qexit"

// exit ends the program with status code (qexit.Exit).
func exit(code int) { qexit.Exit(code) }
