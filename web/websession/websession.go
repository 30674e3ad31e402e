// Package websession holds the rules the server-rendered surfaces (the
// partner portal, the operator console) share for people's sessions:
// cookies, random tokens and their stored hashes, CSRF tokens derived
// from a session id, signed double-submit tokens for forms shown before
// sign-in, and the same-origin check of a POST.
//
// Guarantees: tokens and session ids come from crypto/rand (or the reader
// given) and only their SHA-256 is meant to be stored; a CSRF token never
// reveals the session id it is derived from; every cookie is HttpOnly,
// Secure and SameSite=Lax, scoped to one path.
package websession

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/referflow/referflow/internal/apigw"
	"github.com/referflow/referflow/internal/privacy"
)

// Hash is the stored form of a token or session id: its hex SHA-256.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Random draws n random bytes from rnd (crypto/rand when nil), base64url.
func Random(rnd io.Reader, n int) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(rnd, b); err != nil {
		return "", fmt.Errorf("websession: random: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// CSRF is the CSRF token of the session with id under a surface's label:
// derived one way, so a token in a page never reveals the session.
func CSRF(label, id string) string {
	sum := sha256.Sum256([]byte(label + "\x00" + id))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Equal compares two tokens in constant time.
func Equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// Cookie is a Set-Cookie value scoped to path; maxAge 0 clears it.
func Cookie(name, value, path string, maxAge time.Duration) string {
	return fmt.Sprintf("%s=%s; Path=%s; Max-Age=%d; HttpOnly; Secure; SameSite=Lax", name, value, path, int(maxAge/time.Second))
}

// CookieValue reads a request cookie ("" when absent).
func CookieValue(req *apigw.Request, name string) string {
	all := req.Cookies
	if c := apigw.Header(req, "cookie"); c != "" {
		all = append(all, strings.Split(c, ";")...)
	}
	for _, c := range all {
		k, v, ok := strings.Cut(strings.TrimSpace(c), "=")
		if ok && k == name {
			return v
		}
	}
	return ""
}

// FormTokens are the signed double-submit CSRF tokens of forms shown
// before sign-in: a random nonce in a cookie, and in the form the nonce
// with its keyed hash under Kind.
type FormTokens struct {
	Keys   privacy.Source
	Kind   privacy.Kind
	Cookie string // the nonce's cookie
	Path   string // the cookie's path
	TTL    time.Duration
	Random io.Reader
}

// Token is the form token for req: the nonce of its cookie (a new one when
// there is none, with the Set-Cookie to send) and its signature.
func (f FormTokens) Token(ctx context.Context, req *apigw.Request) (token, setCookie string, err error) {
	nonce := CookieValue(req, f.Cookie)
	if len(nonce) != 22 {
		if nonce, err = Random(f.Random, 16); err != nil {
			return "", "", err
		}
		setCookie = Cookie(f.Cookie, nonce, f.Path, f.TTL)
	}
	keys, err := f.Keys(ctx)
	if err != nil {
		return "", "", fmt.Errorf("websession: form keys: %w", err)
	}
	return nonce + "." + keys.Hash(f.Kind, nonce), setCookie, nil
}

// Valid reports whether token is a form token of req's nonce cookie,
// signed under one of the secrets in force.
func (f FormTokens) Valid(ctx context.Context, req *apigw.Request, token string) (bool, error) {
	nonce, sig, ok := strings.Cut(token, ".")
	if !ok || nonce == "" || !Equal(nonce, CookieValue(req, f.Cookie)) {
		return false, nil
	}
	keys, err := f.Keys(ctx)
	if err != nil {
		return false, fmt.Errorf("websession: form keys: %w", err)
	}
	for _, want := range keys.Hashes(f.Kind, nonce) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true, nil
		}
	}
	return false, nil
}

// SameOrigin reports whether a POST comes from the site's own origin: its
// Origin header, else its Referer, must be the request's own origin or
// publicBase's. A request with neither (not a browser) passes: the CSRF
// token still guards it.
func SameOrigin(req *apigw.Request, publicBase string) bool {
	from := apigw.Header(req, "origin")
	if from == "" || from == "null" {
		ref, err := url.Parse(apigw.Header(req, "referer"))
		if err != nil || ref.Host == "" {
			return from == ""
		}
		from = ref.Scheme + "://" + ref.Host
	}
	return strings.EqualFold(from, Origin(req, "")) || (publicBase != "" && strings.EqualFold(from, Origin(req, publicBase)))
}

// Origin is scheme://host of base, or when base is empty of the request
// (its forwarded protocol, https by default, and host).
func Origin(req *apigw.Request, base string) string {
	if base != "" {
		if u, err := url.Parse(base); err == nil && u.Host != "" {
			return u.Scheme + "://" + u.Host
		}
	}
	host := apigw.Header(req, "x-forwarded-host")
	if host == "" {
		host = apigw.Header(req, "host")
	}
	if host == "" {
		host = req.RequestContext.DomainName
	}
	proto := apigw.Header(req, "x-forwarded-proto")
	if proto == "" {
		proto = "https"
	}
	return proto + "://" + host
}
