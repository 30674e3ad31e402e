// Package privacy keys what the table stores about a person. Lookup and
// dedupe keys hold a keyed hash (HMAC-SHA256 under a deployment secret) of
// a normalised email or domain, never the value itself: someone who reads
// the table (or its keys in a log, a backup or a metric) without the
// secret learns nothing from them, while Referflow can still find a
// person's items from their email, to link a CRM deal or to erase them.
//
// The secrets are a setting (SecretSetting), newest first: new keys are
// made with the first, and lookups try every one, so a secret is rotated
// without losing the keys made under its predecessor. Nothing here reads
// the environment: callers pass the secrets in.
package privacy

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SecretSetting is the setting (internal/settings) that holds the key-hash
// secrets, comma-separated, newest first.
const SecretSetting = "REFERFLOW_KEY_HASH_SECRET"

// MinSecretLength is the shortest secret accepted, in bytes.
const MinSecretLength = 16

// Kind is what a hashed value is; values of different kinds never share a
// hash.
type Kind string

// Kinds of hashed values.
const (
	Email  Kind = "email"
	Domain Kind = "domain"
)

// ErrNoSecret: no usable secret is configured.
var ErrNoSecret = errors.New("privacy: no key-hash secret configured (" + SecretSetting + ")")

// Hasher makes keyed hashes under a list of secrets, newest first.
type Hasher struct {
	secrets [][]byte
}

// NewHasher returns a Hasher over secrets, newest first. Blank entries are
// skipped; at least one secret is required and each must be at least
// MinSecretLength bytes long.
func NewHasher(secrets ...string) (*Hasher, error) {
	h := &Hasher{}
	for i, s := range secrets {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if len(s) < MinSecretLength {
			return nil, fmt.Errorf("privacy: %s secret %d is shorter than %d bytes", SecretSetting, i+1, MinSecretLength)
		}
		h.secrets = append(h.secrets, []byte(s))
	}
	if len(h.secrets) == 0 {
		return nil, ErrNoSecret
	}
	return h, nil
}

// Normalize is the form of a value that is hashed: trimmed, lower-cased,
// and for a domain without a trailing dot. Two spellings of one address
// hash alike.
func Normalize(kind Kind, value string) string {
	v := strings.ToLower(strings.TrimSpace(value))
	if kind == Domain {
		v = strings.TrimSuffix(v, ".")
	}
	return v
}

// Hash is the keyed hash of value under the newest secret: the one new
// keys are made with.
func (h *Hasher) Hash(kind Kind, value string) string {
	return hash(h.secrets[0], kind, value)
}

// Hashes are the keyed hashes of value under every secret, newest first:
// the ones a lookup tries.
func (h *Hasher) Hashes(kind Kind, value string) []string {
	out := make([]string, len(h.secrets))
	for i, sec := range h.secrets {
		out[i] = hash(sec, kind, value)
	}
	return out
}

func hash(secret []byte, kind Kind, value string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(Normalize(kind, value)))
	return hex.EncodeToString(m.Sum(nil))
}

// Source returns the Hasher for the secrets in force. Secrets may rotate
// while a function runs, so stores ask for it on each use.
type Source func(ctx context.Context) (*Hasher, error)

// Fixed is a Source of one Hasher (tests, the operator CLI).
func Fixed(h *Hasher) Source {
	return func(context.Context) (*Hasher, error) { return h, nil }
}

// FromSetting is a Source reading SecretSetting with values (e.g.
// (*settings.Source).Values, which caches it for a few minutes).
func FromSetting(values func(ctx context.Context, name string) ([]string, error)) Source {
	return func(ctx context.Context) (*Hasher, error) {
		secrets, err := values(ctx, SecretSetting)
		if err != nil {
			return nil, fmt.Errorf("privacy: read %s: %w", SecretSetting, err)
		}
		return NewHasher(secrets...)
	}
}
