// Package httpapi is the local stack's API Gateway HTTP API front: routes
// from the template's HttpApi events, payload format 2.0 events, response
// mapping, CORS and error answers shaped like API Gateway's.
package httpapi

import (
	"net/url"
	"sort"
	"strings"
)

// Route is one HTTP API route bound to a function.
type Route struct {
	Method   string // upper case, or ANY
	Path     string // /referrals/{id}, /files/{proxy+}, or $default
	Function string // logical id of the integration function
	// IAM marks routes whose authorizer is AWS_IAM; they are guarded locally
	// by a bearer admin token.
	IAM bool

	segs []string
}

// Key is the route key, e.g. "POST /referrals" or "$default".
func (r Route) Key() string {
	if r.Path == "$default" {
		return "$default"
	}
	return r.Method + " " + r.Path
}

// Router finds the route of a request the way API Gateway HTTP APIs do:
// the most specific path wins (literal segments before {params} before a
// greedy {proxy+}), a method before ANY, and $default last.
type Router struct {
	routes []Route
}

// NewRouter returns a router over routes.
func NewRouter(routes []Route) *Router {
	rs := make([]Route, len(routes))
	copy(rs, routes)
	for i := range rs {
		if rs[i].Path != "$default" {
			rs[i].segs = splitPath(rs[i].Path)
		}
	}
	sort.SliceStable(rs, func(a, b int) bool { return moreSpecific(rs[a], rs[b]) })
	return &Router{routes: rs}
}

// Routes returns the routes in match order.
func (rt *Router) Routes() []Route { return rt.routes }

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return []string{}
	}
	return strings.Split(p, "/")
}

func segKind(s string) int {
	switch {
	case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}"):
		return 2
	case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}"):
		return 1
	}
	return 0
}

// moreSpecific orders routes for matching.
func moreSpecific(a, b Route) bool {
	if (a.Path == "$default") != (b.Path == "$default") {
		return b.Path == "$default"
	}
	n := min(len(a.segs), len(b.segs))
	for i := 0; i < n; i++ {
		ka, kb := segKind(a.segs[i]), segKind(b.segs[i])
		if ka != kb {
			return ka < kb
		}
	}
	if len(a.segs) != len(b.segs) {
		return len(a.segs) > len(b.segs)
	}
	return a.Method != "ANY" && b.Method == "ANY"
}

// Match returns the route for method and escaped path, with its decoded
// path parameters.
func (rt *Router) Match(method, escapedPath string) (Route, map[string]string, bool) {
	segs := splitPath(escapedPath)
	for _, r := range rt.routes {
		if r.Method != "ANY" && r.Method != method {
			continue
		}
		if r.Path == "$default" {
			return r, nil, true
		}
		if params, ok := matchSegs(r.segs, segs); ok {
			return r, params, true
		}
	}
	return Route{}, nil, false
}

func matchSegs(route, path []string) (map[string]string, bool) {
	params := map[string]string{}
	for i, s := range route {
		switch segKind(s) {
		case 2:
			if i >= len(path) {
				return nil, false
			}
			params[s[1:len(s)-2]] = unescape(strings.Join(path[i:], "/"))
			return params, true
		case 1:
			if i >= len(path) || path[i] == "" {
				return nil, false
			}
			params[s[1:len(s)-1]] = unescape(path[i])
		default:
			if i >= len(path) || unescape(path[i]) != s {
				return nil, false
			}
		}
	}
	if len(path) != len(route) {
		return nil, false
	}
	return params, true
}

func unescape(s string) string {
	if u, err := url.PathUnescape(s); err == nil {
		return u
	}
	return s
}
