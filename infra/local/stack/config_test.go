package stack

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/referflow/referflow/infra/local/sam"
	"github.com/referflow/referflow/internal/config"
)

// Every variable a function's main.go requires through internal/config is
// set by template.yaml for that function, with a value the loader accepts:
// the template is the one place their values live, and a function deployed
// from it (or run by the local stack) starts.
func TestTemplateSetsEveryRequiredVariable(t *testing.T) {
	tpl, err := sam.Load("../../../template.yaml", sam.Options{})
	if err != nil {
		t.Fatal(err)
	}
	consts := configConstants(t)
	mains, err := filepath.Glob("../../../functions/*/main.go")
	if err != nil || len(mains) == 0 {
		t.Fatalf("no functions: %v", err)
	}
	for _, path := range mains {
		dir := filepath.Base(filepath.Dir(path))
		id := strings.ToUpper(dir[:1]) + dir[1:] + "Function"
		var env map[string]string
		for _, f := range tpl.Functions {
			if f.LogicalID == id {
				env = f.Environment
			}
		}
		if env == nil {
			t.Errorf("%s: no %s in template.yaml", path, id)
			continue
		}
		reads := requiredReads(t, path, consts)
		if len(reads) == 0 {
			t.Errorf("%s reads nothing through internal/config", path)
		}
		e := config.New(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
		for name, method := range reads {
			switch method {
			case "String":
				e.String(name)
			case "Duration":
				e.Duration(name)
			}
		}
		if err := e.Err(); err != nil {
			t.Errorf("%s with the template's environment: %v", id, err)
		}
	}
}

// configConstants maps the names of internal/config's constants to their
// values.
func configConstants(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "../../../internal/config/config.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Values) == 1 {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				v, _ := strconv.Unquote(lit.Value)
				out[vs.Names[0].Name] = v
			}
		}
		return true
	})
	return out
}

// requiredReads returns the variables main.go reads with Env.String or
// Env.Duration (config.X arguments), and which method reads each.
func requiredReads(t *testing.T, path string, consts map[string]string) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok || len(call.Args) != 1 {
			return true
		}
		method, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || (method.Sel.Name != "String" && method.Sel.Name != "Duration") {
			return true
		}
		if arg, ok := call.Args[0].(*ast.SelectorExpr); ok {
			if pkg, ok := arg.X.(*ast.Ident); ok && pkg.Name == "config" {
				if v, ok := consts[arg.Sel.Name]; ok {
					out[v] = method.Sel.Name
				}
			}
		}
		return true
	})
	return out
}
