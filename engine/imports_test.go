package engine

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoTransportInTheEngine: the engine is what credd does without HTTP.
// The transport (cmd/credd/localapi) knows the engine, never the reverse,
// and no engine file speaks HTTP itself (sources' SDK clients do, below it).
func TestNoTransportInTheEngine(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, "net/http") || strings.Contains(path, "/cmd/") {
				t.Errorf("%s imports %s: the engine must not speak HTTP or know its transport", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no engine source found")
	}
}
