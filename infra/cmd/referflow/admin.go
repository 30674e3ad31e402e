package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// adminCaller calls the deployment's admin API: the same operations the
// console and scripts use, so the CLI does what they do.
type adminCaller interface {
	// Call sends in (nil: no body) as JSON and answers the response body
	// of a 2xx; other answers are errors with their exit code.
	Call(ctx context.Context, method, path string, in any) (json.RawMessage, error)
}

// adminAPI is the admin API over HTTP: SigV4-signed with the AWS
// credentials (its routes are AWS_IAM-authorised), or with a bearer token
// when REFERFLOW_ADMIN_TOKEN is set (the local stack's stand-in for IAM).
type adminAPI struct {
	base   string
	client *http.Client
	token  string
	creds  aws.CredentialsProvider
	region string
	now    func() time.Time
}

// adminClient opens the admin API of the deployment (its ApiUrl output).
func (a *app) adminClient(ctx context.Context) (adminCaller, error) {
	d, err := a.deployment(ctx)
	if err != nil {
		return nil, err
	}
	if d.APIURL == "" {
		return nil, usagef("--stack NAME or --api-url (REFERFLOW_API_URL) is required: the deployment's API")
	}
	c := &adminAPI{base: strings.TrimRight(d.APIURL, "/"), client: &http.Client{Timeout: 60 * time.Second},
		token: a.getenv("REFERFLOW_ADMIN_TOKEN"), now: time.Now}
	if c.token == "" {
		cfg, err := a.config(ctx)
		if err != nil {
			return nil, err
		}
		c.creds, c.region = cfg.Credentials, cfg.Region
	}
	return c, nil
}

// Call implements adminCaller.
func (c *adminAPI) Call(ctx context.Context, method, path string, in any) (json.RawMessage, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return nil, fmt.Errorf("admin api: encode: %w", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return nil, usagef("admin api: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := c.authorise(ctx, req, body); err != nil {
		return nil, err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, unavailable(fmt.Errorf("admin api: %w", err))
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return nil, unavailable(fmt.Errorf("admin api: read the answer: %w", err))
	}
	if resp.StatusCode/100 == 2 {
		return answer, nil
	}
	return nil, apiError(resp.StatusCode, answer)
}

// authorise signs req (SigV4 for execute-api) or adds the bearer token.
func (c *adminAPI) authorise(ctx context.Context, req *http.Request, body []byte) error {
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
		return nil
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return unavailable(fmt.Errorf("admin api: AWS credentials: %w", err))
	}
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "execute-api", c.region, c.now()); err != nil {
		return fmt.Errorf("admin api: sign: %w", err)
	}
	return nil
}

// apiError turns the API's error answer ({"error":{"code","message",
// "fields"}}) into an error with its exit code: 400 bad usage, 404 not
// found, 409 conflict, 5xx unavailable.
func apiError(status int, body []byte) error {
	var e struct {
		Error struct {
			Code    string            `json:"code"`
			Message string            `json:"message"`
			Fields  map[string]string `json:"fields"`
		} `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		msg = e.Error.Code + ": " + e.Error.Message
		names := make([]string, 0, len(e.Error.Fields))
		for f := range e.Error.Fields {
			names = append(names, f)
		}
		sort.Strings(names)
		for _, f := range names {
			msg += "; " + f + " " + e.Error.Fields[f]
		}
	}
	err := fmt.Errorf("admin api: %d %s", status, msg)
	switch {
	case status == http.StatusBadRequest || status == http.StatusRequestEntityTooLarge:
		return coded(exitUsage, err)
	case status == http.StatusNotFound:
		return notFound(err)
	case status == http.StatusConflict:
		return conflict(err)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return failed(fmt.Errorf("%w (not allowed: your AWS identity needs execute-api:Invoke on the admin routes; locally, set REFERFLOW_ADMIN_TOKEN)", err))
	case status >= 500:
		return unavailable(err)
	}
	return errors.New(err.Error())
}
