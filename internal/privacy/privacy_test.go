package privacy

import (
	"context"
	"errors"
	"strings"
	"testing"
)

const (
	secretA = "first-secret-0123456789"
	secretB = "second-secret-0123456789"
)

func TestHashIsKeyedAndHidesTheValue(t *testing.T) {
	a, err := NewHasher(secretA)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewHasher(secretB)
	h := a.Hash(Email, "jane@acme.example")
	if len(h) != 64 || strings.Contains(h, "jane") || strings.Contains(h, "acme") {
		t.Fatalf("hash %q is not a hex HMAC-SHA256", h)
	}
	if h == b.Hash(Email, "jane@acme.example") {
		t.Fatal("two secrets give the same hash: the hash is not keyed")
	}
	if h != a.Hash(Email, "  Jane@ACME.example ") {
		t.Fatal("spellings of one address hash differently")
	}
	if h == a.Hash(Domain, "jane@acme.example") {
		t.Fatal("an email and a domain with the same text share a hash")
	}
	if a.Hash(Domain, "acme.example.") != a.Hash(Domain, "ACME.example") {
		t.Fatal("a domain's trailing dot or case changes its hash")
	}
}

func TestRotationLooksUpEverySecretAndWritesWithTheNewest(t *testing.T) {
	old, _ := NewHasher(secretA)
	rotated, err := NewHasher(secretB, " ", secretA)
	if err != nil {
		t.Fatal(err)
	}
	all := rotated.Hashes(Email, "jane@acme.example")
	if len(all) != 2 || all[1] != old.Hash(Email, "jane@acme.example") {
		t.Fatalf("Hashes = %v: the old secret's hash is not looked up", all)
	}
	if rotated.Hash(Email, "jane@acme.example") != all[0] || all[0] == all[1] {
		t.Fatalf("new keys are not made with the newest secret")
	}
}

func TestSecretsAreRequiredAndLongEnough(t *testing.T) {
	if _, err := NewHasher(); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("no secret: err = %v", err)
	}
	if _, err := NewHasher("", "  "); !errors.Is(err, ErrNoSecret) {
		t.Fatalf("blank secrets: err = %v", err)
	}
	if _, err := NewHasher("short"); err == nil || !strings.Contains(err.Error(), SecretSetting) {
		t.Fatalf("short secret: err = %v", err)
	}
}

func TestFromSettingReadsTheSecretsEachTime(t *testing.T) {
	value := []string{secretA}
	src := FromSetting(func(_ context.Context, name string) ([]string, error) {
		if name != SecretSetting {
			t.Fatalf("read setting %s", name)
		}
		return value, nil
	})
	h1, err := src(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	value = []string{secretB, secretA}
	h2, _ := src(context.Background())
	if h1.Hash(Email, "a@b.example") == h2.Hash(Email, "a@b.example") {
		t.Fatal("a rotated secret is not picked up")
	}
	missing := FromSetting(func(context.Context, string) ([]string, error) { return nil, errors.New("not configured") })
	if _, err := missing(context.Background()); err == nil || !strings.Contains(err.Error(), SecretSetting) {
		t.Fatalf("missing setting: err = %v", err)
	}
}
