package main

import (
	"fmt"

	"./b"
)

func main() { fmt.Println(b.G()) }
