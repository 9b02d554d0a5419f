// Package stringsort sorts strings with one small non-generic heapsort, for
// credhelper, whose size is budgeted: slices.Sort would link a generic
// pdqsort instantiation of about 7 KB for lists of a few profile names or
// map keys. Standard library only (none, in fact).
package stringsort

// Sort sorts s in increasing byte order.
func Sort(s []string) {
	for i := len(s)/2 - 1; i >= 0; i-- {
		siftDown(s, i, len(s))
	}
	for end := len(s) - 1; end > 0; end-- {
		s[0], s[end] = s[end], s[0]
		siftDown(s, 0, end)
	}
}

// siftDown restores the max-heap order of s[:end] below root.
func siftDown(s []string, root, end int) {
	for {
		child := 2*root + 1
		if child >= end {
			return
		}
		if child+1 < end && s[child] < s[child+1] {
			child++
		}
		if s[root] >= s[child] {
			return
		}
		s[root], s[child] = s[child], s[root]
		root = child
	}
}
