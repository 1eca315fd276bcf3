//go:build windows

// run

package main

func main() {}
