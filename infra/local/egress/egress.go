// Package egress keeps the local stack hermetic. Every function instance
// (and moto) runs with HTTP_PROXY and HTTPS_PROXY pointing at a Guard, an
// HTTP proxy on loopback that passes requests for loopback destinations on
// and refuses every other destination with 403 and records it, without
// connecting to it or even resolving its name. Go's net/http (and so the
// AWS SDK and every API client built on it) and Python's botocore honour
// those variables, so an outbound request to any host outside the machine
// cannot leave it and shows up in Attempts.
package egress

import (
	"encoding/base64"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// NoProxy is the NO_PROXY value given with the proxy: loopback is direct.
// (Go's net/http never proxies localhost and loopback addresses anyway.)
const NoProxy = "127.0.0.1,localhost,::1"

// Attempt is one refused request for a destination outside the machine.
type Attempt struct {
	// Caller is the function's logical id (or "moto"), taken from the proxy
	// credentials the caller was given; "" when it sent none.
	Caller string `json:"caller"`
	// Method is CONNECT for HTTPS (the tunnel), else the HTTP method.
	Method string `json:"method"`
	// Host is the destination asked for, host:port or host.
	Host string `json:"host"`
	// Path is the request path of a plain HTTP request (no query).
	Path string    `json:"path,omitempty"`
	At   time.Time `json:"at"`
}

// maxAttempts bounds the record; the count of later attempts is kept.
const maxAttempts = 1000

// Guard is the recording proxy. Its methods are safe for concurrent use.
type Guard struct {
	// URL is the proxy's address, http://127.0.0.1:<port>.
	URL string

	ln    net.Listener
	srv   *http.Server
	local *httputil.ReverseProxy

	mu       sync.Mutex
	attempts []Attempt
	dropped  int
}

// Start listens on a free loopback port; log receives one line per refused
// request (nil: discarded).
func Start(logger *log.Logger) (*Guard, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("egress guard: %w", err)
	}
	if logger == nil {
		logger = log.New(io.Discard, "", 0)
	}
	g := &Guard{URL: "http://" + ln.Addr().String(), ln: ln}
	g.local = &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL = pr.In.URL
			pr.Out.Host = pr.In.Host
			pr.Out.Header.Del("Proxy-Authorization")
		},
		ErrorLog: logger,
	}
	g.srv = &http.Server{Handler: &handler{g: g, log: logger}, ReadHeaderTimeout: 10 * time.Second, ErrorLog: logger}
	go func() { _ = g.srv.Serve(ln) }()
	return g, nil
}

// Close stops the proxy (tunnels already open end with their peers).
func (g *Guard) Close() { _ = g.srv.Close() }

// ProxyURL is the proxy's URL with caller as its user name, so refused
// requests are attributed to the caller.
func (g *Guard) ProxyURL(caller string) string {
	u, _ := url.Parse(g.URL)
	if caller != "" {
		u.User = url.User(caller)
	}
	return u.String()
}

// Env is the environment that sends caller's HTTP(S) requests through the
// guard (upper- and lower-case names, as tools differ in which they read).
func (g *Guard) Env(caller string) map[string]string {
	p := g.ProxyURL(caller)
	return map[string]string{
		"HTTP_PROXY": p, "http_proxy": p,
		"HTTPS_PROXY": p, "https_proxy": p,
		"ALL_PROXY": p, "all_proxy": p,
		"NO_PROXY": NoProxy, "no_proxy": NoProxy,
	}
}

// Attempts returns the refused requests so far, oldest first (at most
// 1000; Dropped counts the rest).
func (g *Guard) Attempts() []Attempt {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Attempt, len(g.attempts))
	copy(out, g.attempts)
	return out
}

// Dropped is the number of refused requests beyond the first 1000.
func (g *Guard) Dropped() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.dropped
}

// Reset forgets the refused requests.
func (g *Guard) Reset() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.attempts, g.dropped = nil, 0
}

func (g *Guard) record(a Attempt) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.attempts) >= maxAttempts {
		g.dropped++
		return
	}
	g.attempts = append(g.attempts, a)
}

// IsLoopback reports whether host (host or host:port) names this machine
// without a name lookup: a loopback IP literal, "localhost" or a name under
// ".localhost" (RFC 6761). Any other name is outside, whatever it resolves
// to.
func IsLoopback(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

type handler struct {
	g   *Guard
	log *log.Logger
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Host
	if r.Method != http.MethodConnect {
		if !r.URL.IsAbs() {
			http.Error(w, "referflow-local egress guard: this is an HTTP proxy", http.StatusBadRequest)
			return
		}
		target = r.URL.Host
	}
	if !IsLoopback(target) {
		a := Attempt{Caller: caller(r), Method: r.Method, Host: target, At: time.Now().UTC()}
		if r.Method != http.MethodConnect {
			a.Path = r.URL.Path
		}
		h.g.record(a)
		h.log.Printf("egress refused: %s %s%s from %q (the local stack is hermetic: outside services need a local fake)", a.Method, a.Host, a.Path, a.Caller)
		http.Error(w, fmt.Sprintf("referflow-local: %s is outside this machine; the local stack is hermetic", target), http.StatusForbidden)
		return
	}
	if r.Method == http.MethodConnect {
		h.tunnel(w, r)
		return
	}
	h.g.local.ServeHTTP(w, r)
}

// tunnel serves CONNECT to a loopback destination.
func (h *handler) tunnel(w http.ResponseWriter, r *http.Request) {
	up, err := net.DialTimeout("tcp", r.Host, 10*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "no hijacking", http.StatusInternalServerError)
		return
	}
	down, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	_, _ = down.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, buf); done <- struct{}{} }()
	go func() { _, _ = io.Copy(down, up); done <- struct{}{} }()
	<-done
	up.Close()
	down.Close()
	<-done
}

// caller is the user name of the request's Proxy-Authorization (Basic).
func caller(r *http.Request) string {
	v, ok := strings.CutPrefix(r.Header.Get("Proxy-Authorization"), "Basic ")
	if !ok {
		return ""
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return ""
	}
	user, _, _ := strings.Cut(string(b), ":")
	return user
}
