package storetest_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/referflow/referflow/infra/local/storetest"
	"github.com/referflow/referflow/internal/store"
)

const (
	visitorA = "203.0.113.7\nMozilla/5.0 (X11; Linux x86_64) Firefox/127.0"
	visitorB = "198.51.100.2\nMozilla/5.0 (iPhone) Safari/604.1"
)

func click(t *testing.T, st *store.Store, code, visitor string, at time.Time) bool {
	t.Helper()
	counted, err := st.RecordClick(context.Background(), "p1", code, visitor, at)
	if err != nil {
		t.Fatalf("RecordClick(%s, %s): %v", code, at, err)
	}
	return counted
}

func TestClickCountedOncePerVisitorLinkAndDay(t *testing.T) {
	st := storetest.New(t)
	day1 := time.Date(2026, 11, 22, 23, 50, 0, 0, time.UTC)
	steps := []struct {
		name    string
		code    string
		visitor string
		at      time.Time
		counted bool
	}{
		{"first click", "ANN42", visitorA, day1, true},
		{"same visitor, same link, same day", "ANN42", visitorA, day1.Add(5 * time.Minute), false},
		{"another visitor", "ANN42", visitorB, day1, true},
		{"same visitor, another link", "BOB77", visitorA, day1, true},
		// 00:05 UTC the next day, whatever the caller's time zone.
		{"same visitor the next UTC day", "ANN42", visitorA, day1.Add(15 * time.Minute).In(time.FixedZone("PST", -8*3600)), true},
	}
	for _, s := range steps {
		if got := click(t, st, s.code, s.visitor, s.at); got != s.counted {
			t.Errorf("%s: counted = %v, want %v", s.name, got, s.counted)
		}
	}
	got, err := st.Clicks(context.Background(), "p1", "ANN42", day1.Add(-48*time.Hour), day1.Add(48*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := map[string]int{"2026-11-22": 2, "2026-11-23": 1}; !maps.Equal(got, want) {
		t.Errorf("Clicks(ANN42) = %v, want %v", got, want)
	}
	if got, _ := st.Clicks(context.Background(), "p1", "BOB77", day1, day1); !maps.Equal(got, map[string]int{"2026-11-22": 1}) {
		t.Errorf("Clicks(BOB77) = %v", got)
	}
	// Another program's link of the same code is another link.
	if got, _ := st.Clicks(context.Background(), "p2", "ANN42", day1, day1); len(got) != 0 {
		t.Errorf("Clicks(p2) = %v, want none", got)
	}
}

func TestClicksRangeIsInclusiveUTCDays(t *testing.T) {
	st := storetest.New(t)
	for d := 0; d < 5; d++ {
		at := time.Date(2026, 11, 20+d, 12, 0, 0, 0, time.UTC)
		for v := 0; v <= d; v++ {
			click(t, st, "ANN42", fmt.Sprintf("10.0.0.%d\nFirefox", v), at)
		}
	}
	ctx := context.Background()
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     map[string]int
	}{
		{"inner days, hours ignored", time.Date(2026, 11, 21, 23, 59, 0, 0, time.UTC), time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
			map[string]int{"2026-11-21": 2, "2026-11-22": 3, "2026-11-23": 4}},
		{"one day", time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), map[string]int{"2026-11-24": 5}},
		{"reversed", time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), map[string]int{}},
		{"before any click", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC), map[string]int{}},
	} {
		got, err := st.Clicks(ctx, "p1", "ANN42", c.from, c.to)
		if err != nil || !maps.Equal(got, c.want) {
			t.Errorf("%s: Clicks = %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

// Concurrent clicks by one visitor (a double click, a retried request)
// count once; many visitors at once each count.
func TestConcurrentClicksCountEachVisitorOnce(t *testing.T) {
	st := storetest.New(t)
	var wg sync.WaitGroup
	var mu sync.Mutex
	counted := 0
	for i := 0; i < 24; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			visitor := fmt.Sprintf("192.0.2.%d\nChrome", i%6)
			ok, err := st.RecordClick(context.Background(), "p1", "ANN42", visitor, t0)
			if err != nil {
				t.Errorf("RecordClick: %v", err)
			}
			if ok {
				mu.Lock()
				counted++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	got, err := st.Clicks(context.Background(), "p1", "ANN42", t0, t0)
	if err != nil {
		t.Fatal(err)
	}
	if counted != 6 || got[t0.Format("2006-01-02")] != 6 {
		t.Errorf("counted %d, Clicks %v; want 6 visitors", counted, got)
	}
}

// The table holds no IP address or User-Agent: the visitor's key is a
// keyed hash, and it expires.
func TestClickStoresNoVisitorData(t *testing.T) {
	st := storetest.New(t)
	click(t, st, "ANN42", visitorA, t0)
	out, err := storetest.DB(t).Scan(context.Background(), &dynamodb.ScanInput{TableName: aws.String(st.Table())})
	if err != nil {
		t.Fatal(err)
	}
	visitors := 0
	for _, item := range out.Items {
		dump := fmt.Sprint(item)
		for _, part := range strings.Split(visitorA, "\n") {
			if strings.Contains(dump, part) || strings.Contains(dump, strings.ToLower(part)) {
				t.Errorf("an item holds %q: %s", part, dump)
			}
		}
		if sk := item["SK"].(*types.AttributeValueMemberS).Value; strings.HasPrefix(sk, "VISITOR#") {
			visitors++
			exp, ok := item["expires_at"].(*types.AttributeValueMemberN)
			if !ok || exp.Value != fmt.Sprint(t0.Add(48*time.Hour).Unix()) {
				t.Errorf("visitor item %s expires %v, want in 48 h", sk, item["expires_at"])
			}
		}
	}
	if visitors != 1 {
		t.Errorf("%d visitor items, want 1", visitors)
	}
}

func TestRecordClickNeedsKeys(t *testing.T) {
	bare := store.New(storetest.DB(t), storetest.New(t).Table())
	if _, err := bare.RecordClick(context.Background(), "p1", "ANN42", visitorA, t0); !errors.Is(err, store.ErrNoKeys) {
		t.Errorf("RecordClick without keys: %v, want ErrNoKeys", err)
	}
}
