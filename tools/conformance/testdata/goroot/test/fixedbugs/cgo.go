//go:build cgo

// run

package main

func main() {}
