package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/crm/generic"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/crm/pipedrive"
	"github.com/referflow/referflow/internal/crm/salesforce"
)

// Environment variables the secrets default from (api.md).
const (
	envHubSpotSecret     = "REFERFLOW_HUBSPOT_CLIENT_SECRET"
	envWebhookSecret     = "REFERFLOW_WEBHOOK_SECRET"
	envPipedriveUser     = "REFERFLOW_PIPEDRIVE_USER"
	envPipedrivePassword = "REFERFLOW_PIPEDRIVE_PASSWORD"
	envSalesforceToken   = "REFERFLOW_SALESFORCE_TOKEN"
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
	fs.StringVar(&o.provider, "provider", "", "hubspot, salesforce, pipedrive or generic (required)")
	fs.StringVar(&o.target, "url", "", "endpoint, e.g. https://<api-id>.execute-api.<region>.amazonaws.com/webhooks/<provider> (required)")
	fs.StringVar(&o.file, "file", "-", "file holding the body, - for stdin")
	fs.StringVar(&o.secret, "secret", "", "hubspot: client secret; generic: whsec_ secret; salesforce: token (default from the environment)")
	fs.StringVar(&o.user, "user", "", "pipedrive: Basic user name (default $"+envPipedriveUser+")")
	fs.StringVar(&o.password, "password", "", "pipedrive: Basic password (default $"+envPipedrivePassword+")")
	fs.StringVar(&o.version, "version", "v3", "hubspot: signature version v3, v2 or v1")
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
	d, err := prepare(o, body, getenv, now())
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
// checks.
func prepare(o options, body []byte, getenv func(string) string, now time.Time) (delivery, error) {
	d := delivery{method: strings.ToUpper(o.method), url: o.target, headers: http.Header{}, body: body}
	if _, err := url.ParseRequestURI(o.target); err != nil {
		return d, fmt.Errorf("-url: %v", err)
	}
	d.headers.Set("Content-Type", "application/json")
	d.headers.Set("User-Agent", "referflow-webhook-cli")
	orEnv := func(v, name string) string {
		if v != "" {
			return v
		}
		return getenv(name)
	}
	switch o.provider {
	case hubspot.Name:
		secret := orEnv(o.secret, envHubSpotSecret)
		if secret == "" {
			return d, fmt.Errorf("hubspot needs -secret or $%s", envHubSpotSecret)
		}
		switch o.version {
		case "v3":
			d.headers.Set(hubspot.HeaderSignatureV3, hubspot.SignV3(secret, d.method, d.url, body, now))
			d.headers.Set(hubspot.HeaderTimestamp, strconv.FormatInt(now.UnixMilli(), 10))
		case "v2":
			d.headers.Set(hubspot.HeaderSignature, hubspot.SignV2(secret, d.method, d.url, body))
			d.headers.Set(hubspot.HeaderSignatureVersion, "v2")
		case "v1":
			d.headers.Set(hubspot.HeaderSignature, hubspot.SignV1(secret, body))
			d.headers.Set(hubspot.HeaderSignatureVersion, "v1")
		default:
			return d, fmt.Errorf("-version %q: want v3, v2 or v1", o.version)
		}
	case generic.Name:
		secret := orEnv(o.secret, envWebhookSecret)
		if secret == "" {
			return d, fmt.Errorf("generic needs -secret or $%s", envWebhookSecret)
		}
		if _, err := generic.DecodeSecret(secret); err != nil {
			return d, err
		}
		id := o.id
		if id == "" {
			var b [12]byte
			if _, err := rand.Read(b[:]); err != nil {
				return d, err
			}
			id = "msg_" + hex.EncodeToString(b[:])
		}
		d.headers.Set(generic.HeaderID, id)
		d.headers.Set(generic.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		d.headers.Set(generic.HeaderSignature, generic.Sign(secret, id, now, body))
	case pipedrive.Name:
		user, pass := orEnv(o.user, envPipedriveUser), orEnv(o.password, envPipedrivePassword)
		if pass == "" {
			return d, fmt.Errorf("pipedrive needs -password or $%s (and -user or $%s)", envPipedrivePassword, envPipedriveUser)
		}
		d.headers.Set("Authorization", pipedrive.BasicAuth(user, pass))
	case salesforce.Name:
		token := orEnv(o.secret, envSalesforceToken)
		if token == "" {
			return d, fmt.Errorf("salesforce needs -secret or $%s", envSalesforceToken)
		}
		u, err := url.Parse(o.target)
		if err != nil {
			return d, err
		}
		q := u.Query()
		q.Set(salesforce.TokenParam, token)
		u.RawQuery = q.Encode()
		d.url = u.String()
		d.headers.Set("Content-Type", salesforce.ContentType)
		d.headers.Set("SOAPAction", `""`)
	default:
		return d, fmt.Errorf("-provider %q: want hubspot, salesforce, pipedrive or generic", o.provider)
	}
	return d, nil
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
