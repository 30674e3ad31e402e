package embed

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/referflow/referflow/internal/referral"
)

func TestVersionIsTheContentHashOfTheFile(t *testing.T) {
	disk, err := os.ReadFile("embed.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(disk)
	if Version != hex.EncodeToString(sum[:8]) || len(Version) != 16 {
		t.Errorf("Version %q is not the hash of embed.js", Version)
	}
	if string(Script()) != string(disk) {
		t.Error("the embedded script is not embed.js")
	}
	s := Script()
	s[0] = 'X'
	if Script()[0] == 'X' {
		t.Error("Script returns the package's own bytes")
	}
	if VersionedPath() != "/embed.js?v="+Version || ETag() != `"`+Version+`"` {
		t.Errorf("VersionedPath %q ETag %q", VersionedPath(), ETag())
	}
}

func TestHeaders(t *testing.T) {
	for _, c := range []struct {
		name, v, cache string
	}{
		{"plain path", "", CacheShort},
		{"current version", Version, CacheImmutable},
		{"an old version", "0123456789abcdef", CacheShort},
		{"a made-up version", "latest", CacheShort},
	} {
		h := Headers(c.v)
		if h["cache-control"] != c.cache {
			t.Errorf("%s: cache-control %q, want %q", c.name, h["cache-control"], c.cache)
		}
		if h["content-type"] != "text/javascript; charset=utf-8" || h["etag"] != ETag() ||
			h["access-control-allow-origin"] != "*" || h["x-content-type-options"] != "nosniff" {
			t.Errorf("%s: headers %v", c.name, h)
		}
	}
}

func TestNotModified(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{
		{"", false},
		{ETag(), true},
		{"W/" + ETag(), true},
		{`"other", ` + ETag(), true},
		{"*", true},
		{`"0123456789abcdef"`, false},
		{Version, false}, // unquoted: not an entity tag
	} {
		if got := NotModified(c.header); got != c.want {
			t.Errorf("NotModified(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}

// The script posts the field names intake reads, the honeypot and the
// program, and reads settings from the links function's route.
func TestScriptSpeaksTheIntakeContract(t *testing.T) {
	js := string(Script())
	fields := regexp.MustCompile(`\['([a-z_]+)', '(?:text|email|tel|textarea)'`).FindAllStringSubmatch(js, -1)
	if len(fields) < 5 {
		t.Fatalf("found %d form fields in embed.js: the pattern no longer matches", len(fields))
	}
	var names []string
	for _, f := range fields {
		names = append(names, f[1])
		if !slices.Contains(referral.Fields, f[1]) {
			t.Errorf("the form has field %q, which intake does not read", f[1])
		}
	}
	for _, required := range []string{"referrer_code", "referee_email", "referee_company"} {
		if !slices.Contains(names, required) {
			t.Errorf("the form lacks %q, which intake requires", required)
		}
	}
	for _, want := range []string{"name: '_gotcha'", "name: 'program'", "'Idempotency-Key'", "'/referrals'", SettingsPath, "referflow_ref", "SameSite=Lax", "aria-invalid", "aria-describedby", "aria-live"} {
		if !strings.Contains(js, want) {
			t.Errorf("embed.js does not contain %q", want)
		}
	}
}

// Nothing in the script reaches another host, evaluates code or writes
// markup from strings (the answer's texts are set as text).
func TestScriptIsSelfContained(t *testing.T) {
	js := string(Script())
	if host := regexp.MustCompile(`(?i)\b(?:https?:)?//[a-z0-9-]+\.[a-z0-9.-]+`).FindString(js); host != "" {
		t.Errorf("embed.js names a host: %s", host)
	}
	for _, banned := range []string{"eval(", "new Function", "innerHTML", "outerHTML", "document.write", "insertAdjacentHTML", "localStorage", "import("} {
		if strings.Contains(js, banned) {
			t.Errorf("embed.js uses %s", banned)
		}
	}
	if n := len(js); n > 12<<10 {
		t.Errorf("embed.js is %d bytes; keep it small (under 12 KiB unminified)", n)
	}
}
