// Command imagecheck is the program testenv's own tests put in an image:
// it prints its arguments and what it finds in the image's file system.
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	_, err := os.Stat("/etc/ssl/certs/ca-certificates.crt")
	fi, terr := os.Stat("/tmp")
	tmp := "absent"
	if terr == nil {
		tmp = fi.Mode().String()
	}
	fmt.Printf("args=%s ca=%v tmp=%s\n", strings.Join(os.Args[1:], ","), err == nil, tmp)
}
