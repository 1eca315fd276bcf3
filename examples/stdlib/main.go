// Command stdlib runs a little of everything from the standard library
// that should work unchanged in a guest: maps (printed in sorted key order),
// sorting, strings, strconv, encoding/json and crypto/sha256.
package main

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Planet is encoded to JSON and back.
type Planet struct {
	Name    string   `json:"name"`
	Moons   int      `json:"moons"`
	Radius  float64  `json:"radius_km"`
	Rings   bool     `json:"rings,omitempty"`
	Notable []string `json:"notable,omitempty"`
}

const text = "the quick brown fox jumps over the lazy dog the end"

func main() {
	counts := map[string]int{}
	for _, w := range strings.Fields(text) {
		counts[w]++
	}
	for _, w := range slices.Sorted(maps.Keys(counts)) {
		fmt.Printf("%-5s %d\n", w, counts[w])
	}

	planets := []Planet{
		{Name: "Saturn", Moons: 146, Radius: 58232, Rings: true, Notable: []string{"Titan", "Enceladus"}},
		{Name: "Mars", Moons: 2, Radius: 3389.5},
		{Name: "Jupiter", Moons: 95, Radius: 69911, Rings: true, Notable: []string{"Io", "Europa"}},
		{Name: "Earth", Moons: 1, Radius: 6371},
	}
	sort.Slice(planets, func(i, j int) bool { return planets[i].Radius < planets[j].Radius })
	data, err := json.Marshal(planets)
	if err != nil {
		panic(err)
	}
	fmt.Println(string(data))
	var back []Planet
	if err := json.Unmarshal(data, &back); err != nil {
		panic(err)
	}
	fmt.Printf("round trip equal: %v\n", fmt.Sprint(back) == fmt.Sprint(planets))
	pretty, _ := json.MarshalIndent(back[len(back)-1], "", "  ")
	fmt.Println(string(pretty))

	upper := strings.Map(func(r rune) rune {
		if r == 'O' {
			return '0'
		}
		return r
	}, strings.ToUpper(text[:19]))
	fmt.Println(upper, strings.Count(text, "the"), strings.Repeat("ab", 3))
	fmt.Println(strconv.Quote("tab\there"), strconv.FormatFloat(1.0/3, 'g', 10, 64), strconv.Itoa(-42))
	n, err := strconv.ParseInt("-0x1f", 0, 64)
	fmt.Println(n, err)
	fmt.Printf("sha256: %x\n", sha256.Sum256([]byte(text)))
	fmt.Printf("%v %q %08.3f %x %U\n", []int{3, 1, 2}, "héllo", 3.14159, "hi", 'é')
}
