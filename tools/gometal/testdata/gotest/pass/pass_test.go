package pass

import "testing"

func TestSum(t *testing.T) {
	if Sum(2, 3) != 5 {
		t.Fatal("Sum(2, 3) != 5")
	}
	t.Log("sum ok")
}

func TestShort(t *testing.T) {
	if !testing.Short() {
		t.Skip("needs -short")
	}
}
