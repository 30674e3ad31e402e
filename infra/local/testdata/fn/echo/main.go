// Command echo is a fixture HTTP function: it answers with the API Gateway
// payload 2.0 event it received, and misbehaves on request for the tests.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	RawPath string `json:"rawPath"`
}

func handle(ctx context.Context, raw json.RawMessage) (any, error) {
	var ev event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return nil, err
	}
	switch {
	case strings.HasSuffix(ev.RawPath, "/crash"):
		os.Exit(3)
	case strings.HasSuffix(ev.RawPath, "/slow"):
		select {
		case <-time.After(30 * time.Second):
		case <-ctx.Done():
			time.Sleep(30 * time.Second) // keep running past the deadline like a stuck function
		}
	case strings.HasSuffix(ev.RawPath, "/error"):
		return nil, errors.New("echo failed on purpose")
	case strings.HasSuffix(ev.RawPath, "/fetch"):
		return fetch(ctx), nil
	case strings.HasSuffix(ev.RawPath, "/plain"):
		return map[string]any{"plain": true}, nil
	case strings.HasSuffix(ev.RawPath, "/binary"):
		return map[string]any{"statusCode": 200, "isBase64Encoded": true, "body": "AAEC", "headers": map[string]string{"content-type": "application/octet-stream"}}, nil
	}
	return map[string]any{
		"statusCode": 201,
		"headers": map[string]string{
			"content-type":                "application/json",
			"x-request-id":                "fixture",
			"x-echo-mode":                 os.Getenv("ECHO_MODE"),
			"x-fake-url":                  os.Getenv("FAKE_URL"),
			"access-control-allow-origin": "https://evil.example.net",
		},
		"multiValueHeaders": map[string][]string{"x-multi": {"a", "b"}},
		"cookies":           []string{"c1=v1; Path=/", "c2=v2"},
		"body":              string(raw),
	}, nil
}

// fetch GETs FAKE_URL with net/http's defaults, as the product's API
// clients do, and says what happened. It refuses to try without the local
// stack's proxy variables, so a broken guard cannot send the request out.
func fetch(ctx context.Context) map[string]any {
	proxy := os.Getenv("HTTPS_PROXY")
	out := map[string]any{"proxy": proxy, "fetched": false}
	if proxy == "" || os.Getenv("HTTP_PROXY") == "" {
		return map[string]any{"statusCode": 200, "body": jsonText(out)}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, os.Getenv("FAKE_URL"), nil)
	if err == nil {
		var resp *http.Response
		resp, err = (&http.Client{Timeout: time.Second}).Do(req)
		if err == nil {
			resp.Body.Close()
			out["status"] = resp.StatusCode
		}
	}
	out["fetched"] = true
	if err != nil {
		out["error"] = err.Error()
	}
	return map[string]any{"statusCode": 200, "body": jsonText(out)}
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func main() { lambda.Start(handle) }
