// Command hello is a program that knows nothing about gometal.
package main

import "fmt"

var marker = "unset"

func main() { fmt.Println("hello", marker) }
