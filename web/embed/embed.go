// Package embed is the embeddable referral form: one dependency-free
// script (embed.js, ES2017, embedded in the binary) that a marketing site
// loads with one tag,
//
//	<script src="https://API/embed.js" data-program="b2b-partners" async></script>
//
// and the HTTP caching rules it is served with (docs/embed.md). The script
// renders an accessible form (or enhances the site's own
// <form data-referflow>), keeps the referral code of a link in a
// first-party cookie, and posts the referral to POST /referrals.
package embed

import (
	"crypto/sha256"
	_ "embed" // the script is compiled in
	"encoding/hex"
	"strings"
)

//go:embed embed.js
var script []byte

// Version is the script's content hash (the first 16 hex digits of its
// SHA-256): it changes exactly when the script does.
var Version = func() string {
	sum := sha256.Sum256(script)
	return hex.EncodeToString(sum[:8])
}()

// Path is the script's route; VersionedPath the same with ?v=Version,
// which may be cached for a year.
const Path = "/embed.js"

// SettingsPath prefixes the route the script reads a program's link
// settings from: SettingsPath + <program id> (GET /embed/settings/{program}).
const SettingsPath = "/embed/settings/"

// VersionedPath is the cache-busting path of the current script.
func VersionedPath() string { return Path + "?v=" + Version }

// Script returns the script's bytes (a copy).
func Script() []byte { return append([]byte(nil), script...) }

// ETag is the script's entity tag (strong: the bytes are identical).
func ETag() string { return `"` + Version + `"` }

// Cache-Control values: the plain path may change under a page within
// minutes; a versioned one never changes.
const (
	CacheShort     = "public, max-age=300"
	CacheImmutable = "public, max-age=31536000, immutable"
)

// Headers are the response headers for a request of the script asking for
// version v (the ?v= parameter, "" when none): immutable caching only when
// v is the current Version (an old or made-up version gets the current
// script, cached briefly), text/javascript, the ETag and CORS open to any
// origin (a public script; API Gateway's CORS configuration, when set,
// answers for the allowed origins instead).
func Headers(v string) map[string]string {
	cache := CacheShort
	if v == Version {
		cache = CacheImmutable
	}
	return map[string]string{
		"content-type":                "text/javascript; charset=utf-8",
		"cache-control":               cache,
		"etag":                        ETag(),
		"access-control-allow-origin": "*",
		"x-content-type-options":      "nosniff",
	}
}

// NotModified reports whether a request's If-None-Match header names the
// current script, so that a 304 without a body answers it.
func NotModified(ifNoneMatch string) bool {
	for _, tag := range strings.Split(ifNoneMatch, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == ETag() || tag == "*" {
			return true
		}
	}
	return false
}
