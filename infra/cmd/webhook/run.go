package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/crm/providers"
	"github.com/referflow/referflow/internal/settings"
)

// maxBody bounds the body read from a file or stdin.
const maxBody = 10 << 20

type options struct {
	provider, target, file string
	secret, user, password string
	version, id, method    string
	print                  bool
	timeout                time.Duration
}

// delivery is a prepared request.
type delivery struct {
	method  string
	url     string
	headers http.Header
	body    []byte
}

// run is the whole command, with its dependencies passed in (hc nil means a
// client with o.timeout).
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer, hc *http.Client, now func() time.Time) int {
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o options
	fs.StringVar(&o.provider, "provider", "", strings.Join(providers.Names(), ", ")+" (required)")
	fs.StringVar(&o.target, "url", "", "endpoint, e.g. https://<api-id>.execute-api.<region>.amazonaws.com/webhooks/<provider> (required)")
	fs.StringVar(&o.file, "file", "-", "file holding the body, - for stdin")
	fs.StringVar(&o.secret, "secret", "", "secret to sign with, "+flagHelp("secret"))
	fs.StringVar(&o.user, "user", "", "Basic user name, "+flagHelp("user"))
	fs.StringVar(&o.password, "password", "", "Basic password, "+flagHelp("password"))
	fs.StringVar(&o.version, "version", "", "signature version, for a provider with several (hubspot: v3, the default, v2 or v1)")
	fs.StringVar(&o.id, "id", "", "generic: webhook-id (default: a new random id, so the event is never a duplicate)")
	fs.StringVar(&o.method, "method", http.MethodPost, "HTTP method")
	fs.BoolVar(&o.print, "print", false, "print a curl command with the signed headers instead of sending")
	fs.DurationVar(&o.timeout, "timeout", 15*time.Second, "request timeout")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "webhook: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if o.target == "" || o.provider == "" {
		fmt.Fprintln(stderr, "webhook: -provider and -url are required")
		fs.Usage()
		return 2
	}
	body, err := readBody(o.file, stdin)
	if err != nil {
		fmt.Fprintf(stderr, "webhook: %v\n", err)
		return 2
	}
	d, err := prepare(ctx, o, body, getenv, now())
	if err != nil {
		fmt.Fprintf(stderr, "webhook: %v\n", err)
		return 2
	}
	if o.print {
		printCurl(stdout, d, o.file)
		return 0
	}
	if hc == nil {
		hc = &http.Client{Timeout: o.timeout}
	}
	status, answer, err := send(ctx, hc, d)
	if err != nil {
		fmt.Fprintf(stderr, "webhook: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, status)
	if len(answer) > 0 {
		stdout.Write(answer)
		if answer[len(answer)-1] != '\n' {
			fmt.Fprintln(stdout)
		}
	}
	if !strings.HasPrefix(status, "HTTP 2") {
		return 1
	}
	return 0
}

func readBody(file string, stdin io.Reader) ([]byte, error) {
	var r io.Reader = stdin
	if file != "-" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, maxBody+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("body larger than %d bytes", maxBody)
	}
	return b, nil
}

// prepare signs the body or adds the credentials the provider's adapter
// checks, with the provider's own signer (crm.Provider.Sign).
func prepare(ctx context.Context, o options, body []byte, getenv func(string) string, now time.Time) (delivery, error) {
	d := delivery{method: strings.ToUpper(o.method), url: o.target, headers: http.Header{}, body: body}
	if _, err := url.ParseRequestURI(o.target); err != nil {
		return d, fmt.Errorf("-url: %v", err)
	}
	p, ok := providers.Find(o.provider)
	if !ok {
		return d, fmt.Errorf("-provider %q: want %s", o.provider, strings.Join(providers.Names(), ", "))
	}
	d.headers.Set("Content-Type", "application/json")
	d.headers.Set("User-Agent", "referflow-webhook-cli")
	r := crm.Request{Method: d.method, URL: d.url, Headers: d.headers, Body: body}
	secrets := senderSettings{provider: p, flags: map[string]string{"secret": o.secret, "user": o.user, "password": o.password}, getenv: getenv}
	err := p.Sign(ctx, &r, secrets, crm.SignOptions{Version: o.version, ID: o.id, Now: now})
	var missing *missingError
	if errors.As(err, &missing) {
		return d, fmt.Errorf("%s needs %s", p.Name, missing.hint)
	}
	if err != nil {
		return d, err
	}
	d.url = r.URL
	return d, nil
}

// flagHelp describes a secret flag: the settings it gives, per provider.
func flagHelp(flag string) string {
	var uses []string
	for _, p := range providers.All() {
		for _, s := range p.Settings {
			if s.Flag == flag {
				uses = append(uses, p.Name+": $"+s.Name)
			}
		}
	}
	return "default from the environment (" + strings.Join(uses, ", ") + ")"
}

// senderSettings gives a signer the sender's secrets: a setting's flag
// (crm.Setting.Flag) when given, else the environment variable of the
// setting's name.
type senderSettings struct {
	provider crm.Provider
	flags    map[string]string
	getenv   func(string) string
}

// missingError is a secret that neither a flag nor the environment gives;
// hint says how to give it.
type missingError struct{ hint string }

func (e *missingError) Error() string { return "missing " + e.hint }
func (e *missingError) Unwrap() error { return settings.ErrMissing }

func (s senderSettings) Get(_ context.Context, name string) (string, error) {
	hint := "$" + name
	for _, set := range s.provider.Settings {
		if set.Name == name && set.Flag != "" {
			if v := s.flags[set.Flag]; v != "" {
				return v, nil
			}
			hint = "-" + set.Flag + " or " + hint
		}
	}
	if v := strings.TrimSpace(s.getenv(name)); v != "" {
		return v, nil
	}
	return "", &missingError{hint: hint}
}

func (s senderSettings) Values(ctx context.Context, name string) ([]string, error) {
	v, err := s.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	return settings.Split(v), nil
}

func send(ctx context.Context, hc *http.Client, d delivery) (string, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, d.method, d.url, bytes.NewReader(d.body))
	if err != nil {
		return "", nil, err
	}
	req.Header = d.headers.Clone()
	resp, err := hc.Do(req)
	if err != nil {
		return "", nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && !errors.Is(err, io.EOF) {
		return "", nil, err
	}
	return "HTTP " + resp.Status, answer, nil
}

// printCurl writes a curl command sending the same request. Signatures
// that include a timestamp expire after 5 minutes.
func printCurl(w io.Writer, d delivery, file string) {
	fmt.Fprintf(w, "curl -sS -X %s %s", d.method, shellQuote(d.url))
	keys := make([]string, 0, len(d.headers))
	for k := range d.headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range d.headers[k] {
			fmt.Fprintf(w, " \\\n  -H %s", shellQuote(k+": "+v))
		}
	}
	if file == "-" {
		fmt.Fprintf(w, " \\\n  --data-binary @-   # pipe exactly the same bytes on stdin\n")
		return
	}
	fmt.Fprintf(w, " \\\n  --data-binary @%s\n", shellQuote(file))
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
