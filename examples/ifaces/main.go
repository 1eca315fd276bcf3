// Ifaces lists the network interfaces and their addresses as package net
// sees them (route netlink on Linux), and looks each interface up again
// by index and by name.
package main

import (
	"fmt"
	"net"
	"os"
	"reflect"
)

func main() {
	ifs, err := net.Interfaces()
	check(err)
	for _, ifi := range ifs {
		byIndex, err := net.InterfaceByIndex(ifi.Index)
		check(err)
		byName, err := net.InterfaceByName(ifi.Name)
		check(err)
		addrs, err := ifi.Addrs()
		check(err)
		fmt.Printf("%d %s mtu %d flags %v hwaddr %q addrs %v same by index %v, by name %v\n", ifi.Index, ifi.Name, ifi.MTU,
			ifi.Flags, ifi.HardwareAddr.String(), addrs, reflect.DeepEqual(*byIndex, ifi), reflect.DeepEqual(*byName, ifi))
	}
	all, err := net.InterfaceAddrs()
	check(err)
	fmt.Println("all addresses:", all)
	_, err = net.InterfaceByName("nosuch0")
	fmt.Println("a missing interface:", err)
}

func check(err error) {
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
}
