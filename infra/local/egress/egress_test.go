package egress

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func client(t *testing.T, g *Guard, caller string, base *http.Transport) *http.Client {
	t.Helper()
	u, err := url.Parse(g.ProxyURL(caller))
	if err != nil {
		t.Fatal(err)
	}
	tr := base
	if tr == nil {
		tr = &http.Transport{}
	}
	tr.Proxy = http.ProxyURL(u) // every request, loopback included
	return &http.Client{Transport: tr, Timeout: 5 * time.Second}
}

// Requests for hosts outside the machine are refused and recorded with the
// caller named in the proxy URL, without the guard connecting anywhere
// (the destinations are reserved names and a documentation address).
func TestOutsideDestinationsAreRefusedAndRecorded(t *testing.T) {
	g, err := Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	c := client(t, g, "WebhookFunction", nil)
	if _, err := c.Get("https://api.hubapi.invalid/crm/v3/objects/deals/1"); err == nil || !strings.Contains(err.Error(), "Forbidden") {
		t.Errorf("HTTPS to an outside host: err = %v, want the CONNECT refused", err)
	}
	resp, err := c.Get("http://leak.invalid/path?token=secret")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("plain HTTP to an outside host = %d, want 403", resp.StatusCode)
	}
	resp, err = c.Post("http://192.0.2.7:81/x", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("IP outside = %d, want 403", resp.StatusCode)
	}
	got := g.Attempts()
	want := []Attempt{
		{Caller: "WebhookFunction", Method: "CONNECT", Host: "api.hubapi.invalid:443"},
		{Caller: "WebhookFunction", Method: "GET", Host: "leak.invalid", Path: "/path"},
		{Caller: "WebhookFunction", Method: "POST", Host: "192.0.2.7:81", Path: "/x"},
	}
	if len(got) != len(want) {
		t.Fatalf("attempts = %+v", got)
	}
	for i := range want {
		got[i].At = time.Time{}
		if got[i] != want[i] {
			t.Errorf("attempt %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	g.Reset()
	if len(g.Attempts()) != 0 {
		t.Error("Reset kept attempts")
	}
}

// Loopback destinations pass through, plain and tunnelled, unrecorded.
func TestLoopbackPassesThrough(t *testing.T) {
	g, err := Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Proxy-Authorization") != "" {
			t.Error("proxy credentials reached the destination")
		}
		_, _ = io.WriteString(w, "local "+r.URL.Path)
	})
	plain := httptest.NewServer(h)
	defer plain.Close()
	tls := httptest.NewTLSServer(h)
	defer tls.Close()
	for _, tc := range []struct {
		url string
		tr  *http.Transport
	}{
		{plain.URL + "/a", nil},
		{strings.Replace(plain.URL, "127.0.0.1", "localhost", 1) + "/b", nil},
		{tls.URL + "/c", tls.Client().Transport.(*http.Transport).Clone()},
	} {
		resp, err := client(t, g, "Fn", tc.tr).Get(tc.url)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(string(b), "local /") {
			t.Errorf("%s = %d %q", tc.url, resp.StatusCode, b)
		}
	}
	if a := g.Attempts(); len(a) != 0 {
		t.Errorf("loopback recorded: %+v", a)
	}
}

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1": true, "127.0.0.1:3000": true, "127.9.9.9": true, "[::1]:80": true, "::1": true,
		"localhost": true, "LOCALHOST:80": true, "api.localhost:443": true, "localhost.": true,
		"api.hubapi.com": false, "api.hubapi.com:443": false, "10.0.0.1": false, "0.0.0.0": false,
		"localhost.example.com": false, "127.0.0.1.nip.io": false, "": false,
	} {
		if got := IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}
