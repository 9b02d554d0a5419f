package stringsort

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestSort checks the small heapsort against slices.Sort on every
// length up to 40, with duplicates, sorted and reversed inputs.
func TestSort(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 40; n++ {
		for _, shape := range []string{"random", "sorted", "reversed", "dups"} {
			in := make([]string, n)
			for i := range in {
				switch shape {
				case "random":
					in[i] = fmt.Sprintf("p%d", rnd.IntN(1000))
				case "sorted":
					in[i] = fmt.Sprintf("p%03d", i)
				case "reversed":
					in[i] = fmt.Sprintf("p%03d", n-i)
				case "dups":
					in[i] = []string{"default", "dev", "prod", ""}[rnd.IntN(4)]
				}
			}
			want := slices.Clone(in)
			slices.Sort(want)
			got := slices.Clone(in)
			Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("%s n=%d: Sort(%q) = %q, want %q", shape, n, in, got, want)
			}
		}
	}
}
