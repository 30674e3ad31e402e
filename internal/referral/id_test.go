package referral

import (
	"bytes"
	"errors"
	"io"
	"sort"
	"strings"
	"testing"
	"time"
)

// fixedReader yields the same byte forever: a deterministic "random" source.
type fixedReader byte

func (f fixedReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(f)
	}
	return len(p), nil
}

func TestNewIDKnownValues(t *testing.T) {
	cases := []struct {
		name string
		now  time.Time
		rnd  io.Reader
		want string
	}{
		{"epoch, zero randomness", time.UnixMilli(0), fixedReader(0), "ref_" + strings.Repeat("0", 26)},
		// 1 ms is bit 80 of the 128-bit value: 16 base32 digits of randomness follow it.
		{"one millisecond", time.UnixMilli(1), fixedReader(0), "ref_" + "0000000001" + strings.Repeat("0", 16)},
		{"last random bit", time.UnixMilli(0), bytes.NewReader([]byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 1}), "ref_" + strings.Repeat("0", 25) + "1"},
		{"all bits set", time.UnixMilli(1<<48 - 1), fixedReader(0xFF), "ref_7" + strings.Repeat("Z", 25)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := NewID(c.now, c.rnd)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Fatalf("NewID = %s, want %s", got, c.want)
			}
			if !ValidID(got) {
				t.Fatalf("ValidID(%s) = false", got)
			}
		})
	}
}

func TestNewIDDeterministic(t *testing.T) {
	now := time.Date(2026, 11, 3, 9, 30, 0, 123e6, time.UTC)
	a, _ := NewID(now, fixedReader(0x5A))
	b, _ := NewID(now, fixedReader(0x5A))
	c, _ := NewID(now, fixedReader(0x5B))
	if a != b {
		t.Fatalf("same time and randomness gave %s and %s", a, b)
	}
	if a == c {
		t.Fatalf("different randomness gave the same id %s", a)
	}
	if a[:14] != c[:14] {
		t.Fatalf("the time prefix differs for the same time: %s vs %s", a, c)
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids []string
	// Later ids get smaller random parts: only the time may order them.
	for i := 0; i < 50; i++ {
		now := base.Add(time.Duration(i*i) * time.Millisecond * 997)
		id, err := NewID(now, fixedReader(byte(255-i)))
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 30 || !strings.HasPrefix(id, "ref_") || !ValidID(id) {
			t.Fatalf("bad shape %q", id)
		}
		ids = append(ids, id)
	}
	if !sort.StringsAreSorted(ids) {
		t.Fatalf("ids do not sort by creation time: %v", ids)
	}
	// One millisecond apart is enough.
	a, _ := NewID(base, fixedReader(0xFF))
	b, _ := NewID(base.Add(time.Millisecond), fixedReader(0))
	if !(a < b) {
		t.Fatalf("%s should sort before %s", a, b)
	}
}

func TestNewIDShortRandomness(t *testing.T) {
	_, err := NewID(time.Now(), bytes.NewReader([]byte{1, 2, 3}))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("err = %v, want io.ErrUnexpectedEOF", err)
	}
}

func TestValidID(t *testing.T) {
	z := strings.Repeat("0", 26)
	cases := map[string]bool{
		"ref_" + z:                             true,
		"ref_01HXYZ" + strings.Repeat("A", 20): true,
		"ref_7" + strings.Repeat("Z", 25):      true,
		"":                                     false,
		"ref_":                                 false,
		"ref_" + z[:25]:                        false, // too short
		"ref_" + z + "0":                       false, // too long
		"REF_" + z:                             false,
		"rf__" + z:                             false,
		"ref_" + strings.Repeat("a", 26):       false, // lower case
		"ref_" + z[:25] + "-":                  false,
		"ref_" + z[:25] + " ":                  false,
		"ref_" + z[:25] + "I":                  false, // not in Crockford's alphabet
		"ref_" + z[:25] + "L":                  false,
		"ref_" + z[:25] + "O":                  false,
		"ref_" + z[:25] + "U":                  false,
		"ref_8" + z[:25]:                       false, // more than 128 bits
		"ref_1":                                false,
		"ref_../../" + strings.Repeat("0", 20): false,
	}
	for in, want := range cases {
		if got := ValidID(in); got != want {
			t.Errorf("ValidID(%q) = %v, want %v", in, got, want)
		}
	}
}
