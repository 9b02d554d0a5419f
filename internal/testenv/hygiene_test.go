package testenv

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sleepsKept are the time.Sleep calls in tests that stand for time really
// passing outside the test's control, by file name and function, with why.
// Anything else synchronises with a channel, testing/synctest, an injected
// clock, Buffer.WaitFor or Eventually.
var sleepsKept = map[string]string{
	"sdk_test.go TestSDKTokenProviderRefreshesAgainstTheFake":              "the real Go SDK decides on its own clock (internal sdk.NowTime) that the 2 s access token expired",
	"scale_test.go scaleFigures":                                           "credd's idle wake-ups are counted over a window of real time, and its start-up is polled without starving it of the CPU",
	"listen_linux_test.go sendInPieces":                                    "the pause between a request's pieces is a slow caller, which credd's poll loop waits out or not by the clock",
	"listen_linux_test.go TestPollListenerAnswersACallerWhoCameAsItParked": "the loop's goroutine pauses so that the runtime's poller, on its idle thread, sees the connection before the park: no event of ours marks that",
}

// TestTestsCannotBeSkippedAway reads every test file of the module, and the
// test helper packages, and fails on what lets a test pass without testing:
//   - a t.Skip, t.Skipf or t.SkipNow that is not a platform skip (inside an
//     `if` on runtime.GOOS, with a reason): a missing component goes through
//     Missing, which fails under CREDHELPER_TEST_REQUIRE=1;
//   - testing.Short(): CI runs without -short, so what it skips is never run
//     anywhere else either;
//   - time.Sleep outside sleepsKept: a sleep that synchronises is a flaky
//     test on a busy machine, and a slow one on an idle one;
//   - t.Fatal, t.FailNow or a skip called in a `go` statement's function:
//     it ends that goroutine, not the test; and t passed to anything there,
//     since a helper given t may do the same.
//
// It reads syntax only: a goroutine reaching t another way (a struct field,
// a method value) is beyond it.
func TestTestsCannotBeSkippedAway(t *testing.T) {
	root := moduleRoot(t)
	var files int
	var problems []string
	sleepsSeen := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (name == "testdata" || name == "node_modules" || strings.HasPrefix(name, ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		helper := strings.HasPrefix(rel, "internal/testenv/") || strings.HasPrefix(rel, "internal/testaws/") || strings.HasPrefix(rel, "internal/fakesso/")
		if !strings.HasSuffix(rel, ".go") || !strings.HasSuffix(rel, "_test.go") && !helper {
			return nil
		}
		files++
		found, err := hygieneProblems(rel, path, sleepsSeen)
		problems = append(problems, found...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("read only %d files under %s: is that the module?", files, root)
	}
	for _, p := range problems {
		t.Error(p)
	}
	for k := range sleepsKept {
		if !sleepsSeen[k] {
			t.Errorf("sleepsKept lists %q, which sleeps no more: delete that line", k)
		}
	}
}

// hygieneProblems lists what TestTestsCannotBeSkippedAway refuses in one file.
// It marks in sleepsSeen the sleepsKept entries it meets.
func hygieneProblems(rel, path string, sleepsSeen map[string]bool) ([]string, error) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return nil, err
	}
	var problems []string
	report := func(n ast.Node, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("%s:%d: ", rel, fset.Position(n.Pos()).Line)+fmt.Sprintf(format, args...))
	}
	for _, decl := range f.Decls {
		fn, ok := decl.(*ast.FuncDecl)
		if !ok || fn.Body == nil {
			continue
		}
		if rel == "internal/testenv/testenv.go" && fn.Name.Name == "Missing" {
			continue // the one place a missing component may skip
		}
		var platform []ast.Node // the bodies of `if runtime.GOOS …` around a node
		var inGo []ast.Node     // the function literals of `go` statements around a node
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.IfStmt:
				if mentionsGOOS(n.Cond) {
					platform = append(platform, n.Body)
				}
			case *ast.GoStmt:
				if lit, ok := n.Call.Fun.(*ast.FuncLit); ok {
					inGo = append(inGo, lit.Body) // its arguments are evaluated by the caller
				}
			case *ast.CallExpr:
				name := calledName(n)
				switch {
				case name == "time.Sleep":
					key := filepath.Base(rel) + " " + fn.Name.Name
					sleepsSeen[key] = true
					if _, ok := sleepsKept[key]; !ok {
						report(n, "time.Sleep in %s: wait for the event itself (a channel, testing/synctest, testenv.Eventually or Buffer.WaitFor), or keep it in sleepsKept with why", fn.Name.Name)
					}
				case name == "testing.Short":
					report(n, "testing.Short() in %s: CI never runs -short, so nothing would run what it skips", fn.Name.Name)
				case isMethod(name, "Skip", "Skipf", "SkipNow"):
					if !within(n, platform) || len(n.Args) == 0 {
						report(n, "%s in %s: a missing component goes through testenv.Missing (it fails under %s=1); only a platform skip (inside `if runtime.GOOS …`, with a reason) may skip directly", name, fn.Name.Name, EnvRequire)
					}
				}
				if within(n, inGo) && isMethod(name, "Fatal", "Fatalf", "FailNow", "Skip", "Skipf", "SkipNow") {
					report(n, "%s in a goroutine of %s: it ends the goroutine, not the test; send the error back, or use Errorf and return", name, fn.Name.Name)
				}
				if within(n, inGo) && passesT(n) {
					report(n, "t passed to a call in a goroutine of %s: if it calls t.Fatal, that ends the goroutine, not the test; send the result back and check it on the test's goroutine", fn.Name.Name)
				}
			}
			return true
		})
	}
	return problems, nil
}

// calledName is "x.Name" for a call of x.Name(…) with x an identifier.
func calledName(c *ast.CallExpr) string {
	s, ok := c.Fun.(*ast.SelectorExpr)
	if !ok {
		return ""
	}
	if x, ok := s.X.(*ast.Ident); ok {
		return x.Name + "." + s.Sel.Name
	}
	return "_." + s.Sel.Name
}

func isMethod(name string, methods ...string) bool {
	for _, m := range methods {
		if strings.HasSuffix(name, "."+m) {
			return true
		}
	}
	return false
}

// passesT reports whether c gives the test's t (or tb) to its callee.
func passesT(c *ast.CallExpr) bool {
	for _, a := range c.Args {
		if id, ok := a.(*ast.Ident); ok && (id.Name == "t" || id.Name == "tb") {
			return true
		}
	}
	return false
}

func mentionsGOOS(e ast.Expr) bool {
	found := false
	ast.Inspect(e, func(n ast.Node) bool {
		if s, ok := n.(*ast.SelectorExpr); ok && s.Sel.Name == "GOOS" {
			found = true
		}
		return !found
	})
	return found
}

func within(n ast.Node, outer []ast.Node) bool {
	for _, o := range outer {
		if o.Pos() <= n.Pos() && n.End() <= o.End() {
			return true
		}
	}
	return false
}

// moduleRoot is the directory of go.mod above this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// The guard itself: each refused pattern is found, the allowed ones are not.
func TestHygieneProblems(t *testing.T) {
	src := `package x

func TestX(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux only") // allowed: a platform skip with a reason
	}
	if runtime.GOOS == "windows" {
		t.SkipNow() // line 8: no reason
	}
	if _, err := exec.LookPath("zsh"); err != nil {
		t.Skip("zsh") // line 11
	}
	if testing.Short() { // line 13
		return
	}
	time.Sleep(time.Millisecond) // line 16
	go func() {
		t.Fatalf("x") // line 18
		mustGet(t)    // line 19
	}()
	go use(ctxOf(t)) // allowed: arguments are evaluated on the test's goroutine
	t.Run("sub", func(t *testing.T) { t.Fatal("allowed: the subtest's own goroutine") })
}
`
	path := filepath.Join(t.TempDir(), "x_test.go")
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := hygieneProblems("x/x_test.go", path, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, p := range got {
		line, _, _ := strings.Cut(strings.TrimPrefix(p, "x/x_test.go:"), ":")
		lines = append(lines, line)
	}
	if want := "8 11 13 16 18 19"; strings.Join(lines, " ") != want {
		t.Errorf("problems on lines %v, want %s:\n%s", lines, want, strings.Join(got, "\n"))
	}
}
