package docs

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"gopkg.in/yaml.v3"
)

// root is the repository root, seen from this package's directory.
const root = ".."

const (
	apiDoc      = "docs/api.md"
	openAPIDoc  = "docs/openapi.yaml"
	templateDoc = "template.yaml"
	// apigwImport is the package whose Error function answers an error code.
	apigwImport = "github.com/referflow/referflow/internal/apigw"
	apigwDir    = "internal/apigw"
)

// route is one HTTP route: "POST /referrals".
type route struct{ Method, Path string }

func (r route) String() string { return r.Method + " " + r.Path }

func read(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDocsDescribeEveryTemplateRoute: every HttpApi route of template.yaml
// is described in docs/api.md and docs/openapi.yaml, and neither describes
// a route the template does not have.
func TestDocsDescribeEveryTemplateRoute(t *testing.T) {
	routes, err := templateRoutes(read(t, templateDoc))
	if err != nil {
		t.Fatal(err)
	}
	if len(routes) == 0 {
		t.Fatalf("%s declares no HttpApi route: the parser no longer understands it", templateDoc)
	}
	doc := markdownRoutes(string(read(t, apiDoc)))
	spec, err := openAPIRoutes(read(t, openAPIDoc))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range compareRoutes(routes, doc, spec) {
		t.Error(p)
	}
}

// TestDocumentedErrorCodesAreThoseTheCodeProduces: the error codes of
// docs/api.md's "Error codes" table and of docs/openapi.yaml's ErrorDetail
// code enum are exactly the codes non-test code under functions/ and
// internal/ answers with.
func TestDocumentedErrorCodesAreThoseTheCodeProduces(t *testing.T) {
	produced, unreadable, err := producedCodes(os.DirFS(root), []string{"functions", "internal"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range unreadable {
		t.Errorf("%s: pass the error code as a string literal or constant so %s can check it is documented", u, "docs/contract_test.go")
	}
	t.Logf("error codes produced: %s", strings.Join(sortedKeys(produced), ", "))
	if len(produced) == 0 {
		t.Fatal("no error code found in functions/ or internal/: the scanner no longer finds apigw.Error calls")
	}
	doc, err := markdownCodes(string(read(t, apiDoc)))
	if err != nil {
		t.Fatal(err)
	}
	enum, err := openAPICodes(read(t, openAPIDoc))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range compareCodes(produced, doc, enum) {
		t.Error(p)
	}
}

// TestDocsNameEverySetting: every setting, secret and function environment
// variable the code reads by name (a "REFERFLOW_..." string in non-test Go
// code under functions/ or internal/, or a variable template.yaml sets) is
// named in docs/api.md, and api.md names no setting that nothing reads.
func TestDocsNameEverySetting(t *testing.T) {
	used, err := settingNames(os.DirFS(root), []string{"functions", "internal"})
	if err != nil {
		t.Fatal(err)
	}
	env, err := templateVariables(read(t, templateDoc))
	if err != nil {
		t.Fatal(err)
	}
	for name, where := range env {
		used[name] = append(used[name], where...)
	}
	// The local stack's own settings (REFERFLOW_ADMIN_TOKEN) also count as
	// existing, and so does every name infra/ uses.
	known, err := settingNames(os.DirFS(root), []string{"functions", "internal", "infra"})
	if err != nil {
		t.Fatal(err)
	}
	for name := range env {
		known[name] = env[name]
	}
	for _, p := range compareSettings(used, known, string(read(t, apiDoc))) {
		t.Error(p)
	}
}

// TestOpenAPIDocumentIsWellFormed checks the structure of docs/openapi.yaml
// as OpenAPI 3.1 requires it: the version, info, an answer per operation,
// unique operation ids, a declared parameter for each path template, every
// $ref resolvable and every security requirement naming a scheme.
func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	for _, p := range checkOpenAPI(read(t, openAPIDoc)) {
		t.Errorf("%s: %s", openAPIDoc, p)
	}
}

// TestContractChecksNameWhatIsMissing shows that the checks above fail, and
// say what to add or remove, when a document drifts from the code.
func TestContractChecksNameWhatIsMissing(t *testing.T) {
	routes, err := templateRoutes(read(t, templateDoc))
	if err != nil {
		t.Fatal(err)
	}
	md := string(read(t, apiDoc))
	spec, err := openAPIRoutes(read(t, openAPIDoc))
	if err != nil {
		t.Fatal(err)
	}
	// A route's section removed from api.md, a route invented in the spec.
	cut := strings.Replace(md, "\n## GET /referrals/{id}\n", "\n## The status route\n", 1)
	if cut == md {
		t.Fatal("api.md has no \"## GET /referrals/{id}\" heading to remove")
	}
	extra := append(slices.Clone(spec), route{"DELETE", "/referrals/{id}"})
	got := strings.Join(compareRoutes(routes, markdownRoutes(cut), extra), "\n")
	for _, want := range []string{
		"docs/api.md does not describe GET /referrals/{id}",
		"docs/openapi.yaml describes DELETE /referrals/{id}, which template.yaml does not route",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems\n%s\ndo not say %q", got, want)
		}
	}
	// A code produced but documented nowhere, a code documented but never produced.
	produced := map[string][]string{"not_found": {"a.go:1"}, "brand_new": {"functions/x/handler.go:7"}}
	got = strings.Join(compareCodes(produced, []string{"not_found", "not_eligible"}, []string{"not_found"}), "\n")
	for _, want := range []string{
		`error code "brand_new" (functions/x/handler.go:7) is not in the docs/api.md "Error codes" table`,
		`error code "brand_new" (functions/x/handler.go:7) is not in the docs/openapi.yaml ErrorDetail code enum`,
		`docs/api.md documents error code "not_eligible", which no non-test code under functions/ or internal/ produces`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems\n%s\ndo not say %q", got, want)
		}
	}
	// A code the scanner cannot read is reported, not skipped.
	fsys := fstest.MapFS{
		"functions/x/handler.go": {Data: []byte(`package main
import "github.com/referflow/referflow/internal/apigw"
const codeGone = "gone"
func fail(status int, code string) apigw.Response { return apigw.Error(status, code, "m", nil) }
func a() { _ = fail(410, codeGone) }
func b(c string) { _ = apigw.Error(400, c+"x", "m", nil) }
`)},
	}
	codes, unreadable, err := producedCodes(fsys, []string{"functions"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := codes["gone"]; !ok || len(codes) != 1 {
		t.Errorf("codes through a helper and a constant: %v", codes)
	}
	if len(unreadable) != 1 || !strings.Contains(unreadable[0], "functions/x/handler.go:6") {
		t.Errorf("unreadable %v, want the call on line 6", unreadable)
	}
	// A broken OpenAPI document.
	broken := `openapi: 3.0.3
info: {title: x}
paths:
  /a/{id}:
    get:
      operationId: a
      security: [{nope: []}]
      responses:
        "200": {$ref: "#/components/responses/Missing"}
    post:
      operationId: a
      parameters: [{name: id, in: path, required: true}]
`
	got = strings.Join(checkOpenAPI([]byte(broken)), "\n")
	for _, want := range []string{
		"openapi must be 3.1.x", "info.version is required",
		`GET /a/{id}: security scheme "nope" is not in components.securitySchemes`,
		`GET /a/{id}: path parameter "id" is not declared`,
		`POST /a/{id}: operationId "a" is also used by GET /a/{id}`,
		"POST /a/{id}: responses are required",
		`$ref "#/components/responses/Missing" (line 9) does not resolve`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems\n%s\ndo not say %q", got, want)
		}
	}
}

// ---------------------------------------------------------------- routes

// templateRoutes returns the Method and Path of every HttpApi event of
// every resource of a SAM template. It walks yaml.Nodes, so CloudFormation
// tags (!Ref, !Sub, !GetAtt) need no decoding.
func templateRoutes(src []byte) ([]route, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", templateDoc, err)
	}
	resources := lookup(&doc, "Resources")
	if resources == nil || resources.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: no Resources mapping", templateDoc)
	}
	var out []route
	for i := 0; i+1 < len(resources.Content); i += 2 {
		name, res := resources.Content[i].Value, resources.Content[i+1]
		events := lookup(lookup(res, "Properties"), "Events")
		if events == nil || events.Kind != yaml.MappingNode {
			continue
		}
		for j := 0; j+1 < len(events.Content); j += 2 {
			ev := events.Content[j+1]
			if typ := lookup(ev, "Type"); typ == nil || typ.Value != "HttpApi" {
				continue
			}
			props := lookup(ev, "Properties")
			method, p := lookup(props, "Method"), lookup(props, "Path")
			if method == nil || p == nil || method.Value == "" || p.Value == "" {
				return nil, fmt.Errorf("%s: %s.Events.%s has no Method and Path (a catch-all route cannot be documented)", templateDoc, name, events.Content[j].Value)
			}
			out = append(out, route{strings.ToUpper(method.Value), p.Value})
		}
	}
	return out, nil
}

// lookup returns the value of key in a mapping node (or a document whose
// root is one); nil when absent.
func lookup(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// routeHeading is how api.md names a route: a "## METHOD /path" heading.
var routeHeading = regexp.MustCompile(`(?m)^#{2,3}[ \t]+(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY)[ \t]+(/\S*)[ \t]*$`)

// markdownRoutes returns the routes api.md has a section for.
func markdownRoutes(md string) []route {
	var out []route
	for _, m := range routeHeading.FindAllStringSubmatch(md, -1) {
		out = append(out, route{m[1], m[2]})
	}
	return out
}

// openAPIRoutes returns every operation under paths.
func openAPIRoutes(src []byte) ([]route, error) {
	var spec struct {
		Paths map[string]map[string]yaml.Node `yaml:"paths"`
	}
	if err := yaml.Unmarshal(src, &spec); err != nil {
		return nil, fmt.Errorf("%s: %w", openAPIDoc, err)
	}
	var out []route
	for p, item := range spec.Paths {
		for key := range item {
			if slices.Contains(httpMethods, key) {
				out = append(out, route{strings.ToUpper(key), p})
			}
		}
	}
	return out, nil
}

// httpMethods are the operation keys of an OpenAPI path item.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// compareRoutes lists what each document lacks or has too many.
func compareRoutes(template, doc, spec []route) []string {
	var problems []string
	want := map[route]bool{}
	for _, r := range template {
		want[r] = true
	}
	for _, d := range []struct {
		name, how string
		got       []route
	}{
		{apiDoc, `add a "## METHOD /path" section`, doc},
		{openAPIDoc, "add it under paths", spec},
	} {
		have := map[route]int{}
		for _, r := range d.got {
			have[r]++
		}
		for _, r := range sortedRoutes(want) {
			if have[r] == 0 {
				problems = append(problems, fmt.Sprintf("%s does not describe %s, a route of %s (%s)", d.name, r, templateDoc, d.how))
			}
		}
		for _, r := range sortedRoutes(have) {
			switch {
			case !want[r]:
				problems = append(problems, fmt.Sprintf("%s describes %s, which %s does not route (remove it, or add the route to the template)", d.name, r, templateDoc))
			case have[r] > 1:
				problems = append(problems, fmt.Sprintf("%s describes %s %d times", d.name, r, have[r]))
			}
		}
	}
	return problems
}

func sortedRoutes[V any](m map[route]V) []route {
	out := make([]route, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b route) int { return strings.Compare(a.Path+" "+a.Method, b.Path+" "+b.Method) })
	return out
}

// ---------------------------------------------------------------- error codes

// codeRow is a row of the error codes table: "| `code` | ...".
var codeRow = regexp.MustCompile("^\\|\\s*`([a-z0-9_]+)`\\s*\\|")

// markdownCodes returns the codes of api.md's "## Error codes" table.
func markdownCodes(md string) ([]string, error) {
	_, section, ok := strings.Cut(md, "\n## Error codes\n")
	if !ok {
		return nil, fmt.Errorf(`%s has no "## Error codes" section`, apiDoc)
	}
	if i := strings.Index(section, "\n## "); i >= 0 {
		section = section[:i]
	}
	var out []string
	for _, line := range strings.Split(section, "\n") {
		if m := codeRow.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			out = append(out, m[1])
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf(`%s: the "Error codes" section has no table rows like "| `+"`code`"+` | status | when |"`, apiDoc)
	}
	return out, nil
}

// openAPICodes returns components.schemas.ErrorDetail.properties.code.enum.
func openAPICodes(src []byte) ([]string, error) {
	var spec struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]struct {
					Enum []string `yaml:"enum"`
				} `yaml:"properties"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(src, &spec); err != nil {
		return nil, fmt.Errorf("%s: %w", openAPIDoc, err)
	}
	enum := spec.Components.Schemas["ErrorDetail"].Properties["code"].Enum
	if len(enum) == 0 {
		return nil, fmt.Errorf("%s has no components.schemas.ErrorDetail.properties.code.enum", openAPIDoc)
	}
	return enum, nil
}

// compareCodes lists the codes produced but not documented, and documented
// but not produced. produced maps a code to where it is produced.
func compareCodes(produced map[string][]string, doc, enum []string) []string {
	var problems []string
	for _, d := range []struct {
		name, where string
		codes       []string
	}{
		{apiDoc, `the docs/api.md "Error codes" table`, doc},
		{openAPIDoc, "the docs/openapi.yaml ErrorDetail code enum", enum},
	} {
		have := map[string]int{}
		for _, c := range d.codes {
			have[c]++
		}
		for _, c := range sortedKeys(produced) {
			if have[c] == 0 {
				problems = append(problems, fmt.Sprintf("error code %q (%s) is not in %s", c, strings.Join(produced[c], ", "), d.where))
			}
		}
		for _, c := range sortedKeys(have) {
			switch {
			case produced[c] == nil:
				problems = append(problems, fmt.Sprintf("%s documents error code %q, which no non-test code under functions/ or internal/ produces (remove it, or produce it)", d.name, c))
			case have[c] > 1:
				problems = append(problems, fmt.Sprintf("%s lists error code %q %d times", d.name, c, have[c]))
			}
		}
	}
	return problems
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// emitter is a function one of whose parameters is the error code of the
// answer it builds: apigw.Error, and any helper that passes one of its own
// parameters on as the code.
type emitter struct {
	dir, name string // package directory (slash-separated, from the root) and function name
}

// goFile is one parsed non-test Go file.
type goFile struct {
	name    string // path from the root
	dir     string
	fset    *token.FileSet
	ast     *ast.File
	imports map[string]string // local name -> package directory from the root ("" outside the module)
}

// producedCodes finds every error code non-test Go code under dirs answers
// with: the code argument of each call of an emitter, read as a string
// literal or string constant. It returns the codes with where each is
// produced, and the calls whose code it could not read.
func producedCodes(fsys fs.FS, dirs []string) (map[string][]string, []string, error) {
	files, err := parseTree(fsys, dirs)
	if err != nil {
		return nil, nil, err
	}
	consts := map[string]string{} // "dir.Name" -> value
	for _, f := range files {
		for _, d := range f.ast.Decls {
			g, ok := d.(*ast.GenDecl)
			if !ok || g.Tok != token.CONST {
				continue
			}
			for _, spec := range g.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						if s, ok := stringLit(vs.Values[i]); ok {
							consts[f.dir+"."+n.Name] = s
						}
					}
				}
			}
		}
	}
	emitters := map[emitter]int{{apigwDir, "Error"}: 1}
	for {
		codes := map[string][]string{}
		var unreadable []string
		added := false
		for _, f := range files {
			forEachCall(f.ast, func(call *ast.CallExpr, fn *ast.FuncDecl) {
				callee, ok := f.callee(call)
				if !ok {
					return
				}
				idx, ok := emitters[callee]
				if !ok || idx >= len(call.Args) {
					return
				}
				arg := call.Args[idx]
				at := fmt.Sprintf("%s:%d", f.name, f.fset.Position(call.Pos()).Line)
				if code, ok := f.constant(arg, consts); ok {
					codes[code] = append(codes[code], at)
					return
				}
				if id, ok := arg.(*ast.Ident); ok && fn != nil {
					if p := paramIndex(fn, id.Name); p >= 0 {
						e := emitter{f.dir, fn.Name.Name}
						if _, seen := emitters[e]; !seen {
							emitters[e], added = p, true
						}
						return
					}
				}
				unreadable = append(unreadable, fmt.Sprintf("%s: cannot read the error code passed to %s", at, callee.name))
			})
		}
		if !added {
			return codes, unreadable, nil
		}
	}
}

// parseTree parses the non-test .go files under dirs of fsys.
func parseTree(fsys fs.FS, dirs []string) ([]*goFile, error) {
	var files []*goFile
	for _, d := range dirs {
		err := fs.WalkDir(fsys, d, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			src, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			fset := token.NewFileSet()
			a, err := parser.ParseFile(fset, p, src, parser.SkipObjectResolution)
			if err != nil {
				return err
			}
			f := &goFile{name: p, dir: path.Dir(p), fset: fset, ast: a, imports: map[string]string{}}
			for _, imp := range a.Imports {
				ip, _ := strconv.Unquote(imp.Path.Value)
				local := path.Base(ip)
				if imp.Name != nil {
					local = imp.Name.Name
				}
				dir := ""
				if rest, ok := strings.CutPrefix(ip, "github.com/referflow/referflow/"); ok {
					dir = rest
				}
				f.imports[local] = dir
			}
			files = append(files, f)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}

// forEachCall calls visit for every call in f, with the function
// declaration it is in (nil at package level).
func forEachCall(f *ast.File, visit func(*ast.CallExpr, *ast.FuncDecl)) {
	for _, d := range f.Decls {
		fn, _ := d.(*ast.FuncDecl)
		ast.Inspect(d, func(n ast.Node) bool {
			if c, ok := n.(*ast.CallExpr); ok {
				visit(c, fn)
			}
			return true
		})
	}
}

// callee names the function a call calls: a function of this package, a
// package-qualified function, or (approximately) a method of this package.
func (f *goFile) callee(call *ast.CallExpr) (emitter, bool) {
	switch fun := call.Fun.(type) {
	case *ast.Ident:
		return emitter{f.dir, fun.Name}, true
	case *ast.SelectorExpr:
		if x, ok := fun.X.(*ast.Ident); ok {
			if dir, ok := f.imports[x.Name]; ok {
				return emitter{dir, fun.Sel.Name}, dir != ""
			}
		}
		return emitter{f.dir, fun.Sel.Name}, true
	}
	return emitter{}, false
}

// constant reads e as a string literal or a string constant of this
// package or of an imported one.
func (f *goFile) constant(e ast.Expr, consts map[string]string) (string, bool) {
	if s, ok := stringLit(e); ok {
		return s, true
	}
	switch x := e.(type) {
	case *ast.Ident:
		s, ok := consts[f.dir+"."+x.Name]
		return s, ok
	case *ast.SelectorExpr:
		if pkg, ok := x.X.(*ast.Ident); ok {
			if dir, ok := f.imports[pkg.Name]; ok && dir != "" {
				s, ok := consts[dir+"."+x.Sel.Name]
				return s, ok
			}
		}
	case *ast.ParenExpr:
		return f.constant(x.X, consts)
	}
	return "", false
}

func stringLit(e ast.Expr) (string, bool) {
	lit, ok := e.(*ast.BasicLit)
	if !ok || lit.Kind != token.STRING {
		return "", false
	}
	s, err := strconv.Unquote(lit.Value)
	return s, err == nil
}

// paramIndex is the position of parameter name in fn's signature, or -1.
func paramIndex(fn *ast.FuncDecl, name string) int {
	i := 0
	for _, field := range fn.Type.Params.List {
		if len(field.Names) == 0 {
			i++
			continue
		}
		for _, n := range field.Names {
			if n.Name == name {
				return i
			}
			i++
		}
	}
	return -1
}

// ---------------------------------------------------------------- settings

// settingName is a whole setting or variable name.
var settingName = regexp.MustCompile(`^REFERFLOW_[A-Z0-9_]*[A-Z0-9]$`)

// settingNames returns every string literal under dirs that is a whole
// REFERFLOW_ name, with where it appears.
func settingNames(fsys fs.FS, dirs []string) (map[string][]string, error) {
	files, err := parseTree(fsys, dirs)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, f := range files {
		ast.Inspect(f.ast, func(n ast.Node) bool {
			if s, ok := n.(ast.Expr); ok {
				if v, ok := stringLit(s); ok && settingName.MatchString(v) {
					out[v] = append(out[v], fmt.Sprintf("%s:%d", f.name, f.fset.Position(s.Pos()).Line))
				}
			}
			return true
		})
	}
	return out, nil
}

// templateVariables returns the environment variables template.yaml sets
// for the functions (Globals and each function), with where.
func templateVariables(src []byte) (map[string][]string, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", templateDoc, err)
	}
	out := map[string][]string{}
	add := func(where string, props *yaml.Node) {
		vars := lookup(lookup(props, "Environment"), "Variables")
		if vars == nil {
			return
		}
		for i := 0; i+1 < len(vars.Content); i += 2 {
			out[vars.Content[i].Value] = append(out[vars.Content[i].Value], templateDoc+" "+where)
		}
	}
	add("Globals", lookup(lookup(&doc, "Globals"), "Function"))
	resources := lookup(&doc, "Resources")
	if resources == nil {
		return nil, fmt.Errorf("%s: no Resources", templateDoc)
	}
	for i := 0; i+1 < len(resources.Content); i += 2 {
		add(resources.Content[i].Value, lookup(resources.Content[i+1], "Properties"))
	}
	return out, nil
}

// documentedSetting is a setting named in api.md: `REFERFLOW_...`.
var documentedSetting = regexp.MustCompile("`(REFERFLOW_[A-Z0-9_]*[A-Z0-9])`")

// compareSettings lists the names used but not in api.md, and the names in
// api.md that nothing knows.
func compareSettings(used, known map[string][]string, md string) []string {
	var problems []string
	doc := map[string]bool{}
	for _, m := range documentedSetting.FindAllStringSubmatch(md, -1) {
		doc[m[1]] = true
	}
	for _, name := range sortedKeys(used) {
		if !doc[name] {
			problems = append(problems, fmt.Sprintf("setting %s (%s) is not named in %s (add it to \"Settings and secrets\")", name, strings.Join(used[name], ", "), apiDoc))
		}
	}
	for _, name := range sortedKeys(doc) {
		if known[name] == nil {
			problems = append(problems, fmt.Sprintf("%s names setting %s, which no code, template.yaml or infra/ reads (remove or rename it)", apiDoc, name))
		}
	}
	return problems
}

// ---------------------------------------------------------------- OpenAPI structure

// checkOpenAPI returns what keeps src from being a well-formed OpenAPI 3.1
// document.
func checkOpenAPI(src []byte) []string {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return []string{"not YAML: " + err.Error()}
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	if v := lookup(&doc, "openapi"); v == nil || !strings.HasPrefix(v.Value, "3.1.") {
		bad("openapi must be 3.1.x")
	}
	info := lookup(&doc, "info")
	for _, k := range []string{"title", "version"} {
		if v := lookup(info, k); v == nil || v.Kind != yaml.ScalarNode || v.Value == "" {
			bad("info.%s is required", k)
		}
	}
	schemes := lookup(lookup(&doc, "components"), "securitySchemes")
	checkSecurity := func(where string, sec *yaml.Node) {
		if sec == nil {
			return
		}
		for _, req := range sec.Content {
			for i := 0; i+1 < len(req.Content); i += 2 {
				if lookup(schemes, req.Content[i].Value) == nil {
					bad("%s: security scheme %q is not in components.securitySchemes", where, req.Content[i].Value)
				}
			}
		}
	}
	checkSecurity("security", lookup(&doc, "security"))
	paths := lookup(&doc, "paths")
	if paths == nil || paths.Kind != yaml.MappingNode {
		bad("paths is required")
		paths = &yaml.Node{}
	}
	ids := map[string]string{}
	param := regexp.MustCompile(`\{([^{}]+)\}`)
	for i := 0; i+1 < len(paths.Content); i += 2 {
		p, item := paths.Content[i].Value, paths.Content[i+1]
		if !strings.HasPrefix(p, "/") {
			bad("path %q must start with /", p)
		}
		for j := 0; j+1 < len(item.Content); j += 2 {
			method, op := item.Content[j].Value, item.Content[j+1]
			if !slices.Contains(httpMethods, method) {
				continue
			}
			where := strings.ToUpper(method) + " " + p
			if id := lookup(op, "operationId"); id != nil {
				if other, dup := ids[id.Value]; dup {
					bad("%s: operationId %q is also used by %s", where, id.Value, other)
				}
				ids[id.Value] = where
			}
			responses := lookup(op, "responses")
			if responses == nil || len(responses.Content) == 0 {
				bad("%s: responses are required", where)
			} else {
				for k := 0; k+1 < len(responses.Content); k += 2 {
					code, resp := responses.Content[k].Value, responses.Content[k+1]
					if code != "default" && !regexp.MustCompile(`^[1-5]([0-9]{2}|XX)$`).MatchString(code) {
						bad("%s: response key %q is not a status code", where, code)
					}
					if lookup(resp, "$ref") == nil && lookup(resp, "description") == nil {
						bad("%s: response %s needs a description", where, code)
					}
				}
			}
			checkSecurity(where, lookup(op, "security"))
			declared := map[string]bool{}
			for _, params := range []*yaml.Node{lookup(item, "parameters"), lookup(op, "parameters")} {
				if params == nil {
					continue
				}
				for _, prm := range params.Content {
					if ref := lookup(prm, "$ref"); ref != nil {
						prm = resolve(&doc, ref.Value)
					}
					if in := lookup(prm, "in"); in != nil && in.Value == "path" {
						if req := lookup(prm, "required"); req == nil || req.Value != "true" {
							bad("%s: path parameter %q must be required", where, lookup(prm, "name").Value)
						}
						declared[lookup(prm, "name").Value] = true
					}
				}
			}
			for _, m := range param.FindAllStringSubmatch(p, -1) {
				if !declared[m[1]] {
					bad("%s: path parameter %q is not declared", where, m[1])
				}
				delete(declared, m[1])
			}
			for name := range declared {
				bad("%s: path parameter %q is not in the path", where, name)
			}
		}
	}
	walk(&doc, func(n *yaml.Node) {
		if ref := lookup(n, "$ref"); ref != nil && resolve(&doc, ref.Value) == nil {
			bad("$ref %q (line %d) does not resolve", ref.Value, ref.Line)
		}
	})
	return problems
}

// resolve follows a local JSON pointer ("#/components/schemas/Error").
func resolve(doc *yaml.Node, ref string) *yaml.Node {
	rest, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil
	}
	n := doc
	for _, part := range strings.Split(rest, "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		if n = lookup(n, part); n == nil {
			return nil
		}
	}
	return n
}

func walk(n *yaml.Node, visit func(*yaml.Node)) {
	visit(n)
	for _, c := range n.Content {
		walk(c, visit)
	}
}

// The activity log's "type" is a domain event type: the OpenAPI enum lists
// exactly the types internal/events declares.
func TestActivityTypesAreTheDomainEventTypes(t *testing.T) {
	src := string(read(t, "internal/events/events.go"))
	declared := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\s+\w+\s+Type = "([a-z_.]+)"`).FindAllStringSubmatch(src, -1) {
		declared[m[1]] = true
	}
	if len(declared) == 0 {
		t.Fatal("no event types found in internal/events/events.go")
	}
	var doc struct {
		Components struct {
			Schemas struct {
				Activity struct {
					Properties struct {
						Type struct {
							Enum []string `yaml:"enum"`
						} `yaml:"type"`
					} `yaml:"properties"`
				} `yaml:"Activity"`
			} `yaml:"schemas"`
		} `yaml:"components"`
	}
	if err := yaml.Unmarshal(read(t, "docs/openapi.yaml"), &doc); err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, v := range doc.Components.Schemas.Activity.Properties.Type.Enum {
		documented[v] = true
		if !declared[v] {
			t.Errorf("docs/openapi.yaml lists activity type %q, which internal/events does not declare", v)
		}
	}
	for v := range declared {
		if !documented[v] {
			t.Errorf("internal/events declares %q, missing from the Activity type enum of docs/openapi.yaml", v)
		}
	}
}
